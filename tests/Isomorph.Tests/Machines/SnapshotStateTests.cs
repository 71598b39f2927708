using Isomorph.Devices.Bus;
using Isomorph.Devices.Clint;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.Rtc;
using Isomorph.Devices.State;
using Isomorph.Devices.Uart;
using Isomorph.Riscv;
using Isomorph.Riscv.Isa;
using PlicDevice = Isomorph.Devices.Plic.Plic;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Each component's save/restore contract on its own: a component driven into a state, saved,
/// restored into a fresh instance, behaves the same and saves the same bytes again.
/// </summary>
public sealed class SnapshotStateTests
{
    private static byte[] Save(ISnapshotState component)
    {
        var w = new SnapshotWriter();
        component.Save(w);
        return w.Written.ToArray();
    }

    private static void Restore(ISnapshotState component, byte[] state, string name = "test") =>
        component.Restore(new SnapshotReader(name, state));

    /// <summary>Restores into <paramref name="fresh"/>, checks it saves the same bytes, and that every shorter state is refused.</summary>
    private static void AssertRoundTrip(byte[] saved, Func<ISnapshotState> fresh)
    {
        var restored = fresh();
        Restore(restored, saved);
        Assert.Equal(saved, Save(restored));
        for (int cut = 0; cut < saved.Length; cut += Math.Max(1, saved.Length / 50))
        {
            var e = Assert.Throws<SnapshotException>(() => Restore(fresh(), saved[..cut], "cut"));
            Assert.StartsWith("section 'cut'", e.Message);
        }
        var longer = Assert.Throws<SnapshotException>(() => Restore(fresh(), [.. saved, 0], "long"));
        Assert.Contains("left over", longer.Message);
    }

    private sealed class Line : IInterruptLine
    {
        public bool Level;
        public void Set(bool asserted) => Level = asserted;
    }

    /// <summary>
    /// Every CSR the table defines and the hart implements (the hypervisor extension's too) is
    /// written with a random value, the hart put in VS-mode, saved and restored: every CSR reads
    /// back the same, and so do the registers, the mode and the reservation.
    /// </summary>
    [Fact]
    public unsafe void Hart_RoundTrip_KeepsEveryCsrRegisterAndTheMode()
    {
        var bus = new PhysicalBus();
        using var ram = bus.AddRam(0x8000_0000, 1 << 20);
        using var hart = new Hart(bus, hartId: 3, hypervisor: true);
        var random = new Random(4);
        for (int i = 1; i < 32; i++) hart.SetX(i, (ulong)random.NextInt64());
        for (int i = 0; i < 32; i++) hart.F[i] = (ulong)random.NextInt64();
        hart.Pc = 0x8000_1234;
        hart.Instret = 123_456;
        int written = 0;
        foreach (var csr in Csrs.All.Where(c => hart.Implements(c) && !c.ReadOnly))
            if (hart.DebugWriteCsr(csr.Number, (ulong)random.NextInt64())) written++;
        Assert.True(written > 150, $"{written} CSRs written");
        Assert.True(hart.TryWriteCsr(CsrNumber.Satp, 8ul << 60 | 0x80123));
        Assert.True(hart.TryWriteCsr(CsrNumber.Vsatp, 9ul << 60 | 0x80456));
        Assert.True(hart.TryWriteCsr(CsrNumber.Hgatp, 8ul << 60 | 0x80800));
        hart.SetInterruptPending(InterruptCause.MachineTimer, true);
        hart.Reserve(0x8000_0040, 77, 8);
        hart.SetMode(PrivilegeLevel.Supervisor, virtualized: true);
        hart.WaitingForInterrupt = true;
        byte[] saved = Save(hart);

        AssertRoundTrip(saved, () => new Hart(bus, hartId: 3, hypervisor: true));
        using var restored = new Hart(bus, hartId: 3, hypervisor: true);
        Restore(restored, saved);
        Assert.Equal(PrivilegeLevel.Supervisor, restored.Privilege);
        Assert.True(restored.Virtualized);
        Assert.True(restored.WaitingForInterrupt);
        Assert.Equal(hart.Pc, restored.Pc);
        for (int i = 0; i < 32; i++) Assert.Equal(hart.GetX(i), restored.GetX(i));
        for (int i = 0; i < 32; i++) Assert.Equal(hart.F[i], restored.F[i]);
        foreach (var csr in Csrs.All)
        {
            bool ok = hart.DebugReadCsr(csr.Number, out ulong expected);
            Assert.Equal(ok, restored.DebugReadCsr(csr.Number, out ulong actual));
            Assert.True(expected == actual, $"{csr.Name}: 0x{expected:x} saved, 0x{actual:x} restored");
        }

        var e = Assert.Throws<SnapshotException>(() => Restore(new Hart(bus, hartId: 1), saved, "hart1"));
        Assert.Contains("hart 3", e.Message);
        // V mode into a hart without the extension: one clear message, not a hart in a mode it has not got.
        e = Assert.Throws<SnapshotException>(() => Restore(new Hart(bus, hartId: 3), saved));
        Assert.Contains("hypervisor", e.Message);
    }

    [Fact]
    public void Clint_RoundTrip_ContinuesMtimeFromTheSavedValue_AndDrivesTheLines()
    {
        ulong hostTime = 5_000;
        var msip = new bool[2];
        var mtip = new bool[2];
        var clint = new Clint(2, () => hostTime, (h, on) => msip[h] = on, (h, on) => mtip[h] = on);
        clint.Write(Clint.MsipBase + 4, 4, 1);
        clint.Write(Clint.MtimecmpBase, 8, 5_100);
        clint.Write(Clint.MtimecmpBase + 8, 8, 4_000);
        clint.Write(Clint.MtimeOffset, 8, 1_000_000); // the guest set mtime
        hostTime += 50;
        Assert.Equal(1_000_050ul, clint.Mtime);
        byte[] saved = Save(clint);

        // A new machine whose clock starts at zero: mtime goes on from 1_000_050, neither jumping nor going back.
        ulong newHost = 0;
        var msip2 = new bool[2];
        var mtip2 = new bool[2];
        AssertRoundTrip(saved, () => new Clint(2, () => newHost, (_, _) => { }, (_, _) => { }));
        var restored = new Clint(2, () => newHost, (h, on) => msip2[h] = on, (h, on) => mtip2[h] = on);
        Restore(restored, saved);
        Assert.Equal(1_000_050ul, restored.Mtime);
        newHost += 10;
        Assert.Equal(1_000_060ul, restored.Read(Clint.MtimeOffset, 8));
        Assert.Equal(new[] { false, true }, msip2);
        Assert.Equal(new[] { true, true }, mtip2);
        Assert.Equal(5_100ul, restored.Mtimecmp(0));

        Assert.Throws<SnapshotException>(() => Restore(new Clint(3, () => 0, (_, _) => { }, (_, _) => { }), saved));
    }

    [Fact]
    public void Plic_RoundTrip_KeepsClaimsAndPendingSources_AndDrivesTheOutputs()
    {
        var outputs = new[] { new Line(), new Line() };
        var plic = new PlicDevice(40, outputs);
        plic.Write(3 * 4, 4, 5);                      // priorities
        plic.Write(35 * 4, 4, 2);
        plic.Write(PlicDevice.EnableBase, 4, 1u << 3);  // context 0: source 3
        plic.Write(PlicDevice.EnableBase + PlicDevice.EnableStride + 4, 4, 1u << 3); // context 1: source 35
        plic.Write(PlicDevice.ContextBase + PlicDevice.ContextStride, 4, 1); // context 1 threshold
        plic.Input(3).Set(true);
        plic.Input(35).Set(true);
        Assert.Equal(3ul, plic.Read(PlicDevice.ContextBase + 4, 4)); // claimed by context 0
        Assert.True(outputs[1].Level);
        byte[] saved = Save(plic);

        AssertRoundTrip(saved, () => new PlicDevice(40, [new Line(), new Line()]));
        var outputs2 = new[] { new Line(), new Line() };
        var restored = new PlicDevice(40, outputs2);
        Restore(restored, saved);
        Assert.False(outputs2[0].Level);
        Assert.True(outputs2[1].Level);
        Assert.Equal(35ul, restored.Read(PlicDevice.ContextBase + PlicDevice.ContextStride + 4, 4));
        Assert.Equal(0ul, restored.Read(PlicDevice.ContextBase + 4, 4)); // source 3 stays claimed until completed
        restored.Write(PlicDevice.ContextBase + 4, 4, 3);                // complete: still asserted, so pending again
        Assert.True(outputs2[0].Level);
        Assert.Equal(3ul, restored.Read(PlicDevice.ContextBase + 4, 4));

        Assert.Throws<SnapshotException>(() => Restore(new PlicDevice(41, [new Line(), new Line()]), saved));
    }

    [Fact]
    public void Uart_RoundTrip_KeepsTheReceiveFifoAndRegisters()
    {
        var irq = new Line();
        var uart = new Ns16550a(irq);
        uart.Write(3, 1, 0x80);   // DLAB
        uart.Write(0, 1, 0x01);   // divisor 1
        uart.Write(3, 1, 0x03);   // 8N1
        uart.Write(1, 1, 0x01);   // receive interrupt
        uart.Write(7, 1, 0x5A);   // scratch
        uart.Receive("abc"u8);
        Assert.True(irq.Level);
        byte[] saved = Save(uart);

        AssertRoundTrip(saved, () => new Ns16550a());
        var irq2 = new Line();
        var restored = new Ns16550a(irq2);
        Restore(restored, saved);
        Assert.True(irq2.Level);
        Assert.Equal(0x5Aul, restored.Read(7, 1));
        Assert.Equal(0x03ul, restored.Read(3, 1));
        Assert.Equal("abc", string.Concat(Enumerable.Range(0, 3).Select(_ => (char)restored.Read(0, 1))));
        Assert.False(irq2.Level);
    }

    [Fact]
    public void Rtc_RoundTrip_KeepsTheAlarmAndTheGuestsOffset()
    {
        ulong now = 1_000_000_000;
        var irq = new Line();
        var rtc = new GoldfishRtc(irq, () => now);
        rtc.Write(0x04, 4, 5_000_000_000 >> 32); // the guest sets the time to 5 s
        rtc.Write(0x00, 4, 5_000_000_000 & 0xFFFF_FFFF);
        rtc.Write(0x10, 4, 1);            // interrupts enabled
        rtc.Write(0x0C, 4, 6_000_000_000 >> 32);
        rtc.Write(0x08, 4, 6_000_000_000 & 0xFFFF_FFFF); // alarm at 6 s
        byte[] saved = Save(rtc);

        AssertRoundTrip(saved, () => new GoldfishRtc(null, () => now));
        var irq2 = new Line();
        var restored = new GoldfishRtc(irq2, () => now);
        Restore(restored, saved);
        Assert.Equal(1ul, restored.Read(0x18, 4)); // armed
        now += 1_000_000_000;
        restored.Poll();
        Assert.True(irq2.Level);
    }
}
