using Isomorph.Devices.Fdt;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.Plic;
using Isomorph.Devices.Rtc;
using Isomorph.Devices.SifiveTest;
using Isomorph.Devices.Uart;
using Isomorph.Machines.Virt;

namespace Isomorph.Tests.Machines;

/// <summary>The virt board's devices and device tree, each on its own.</summary>
public class VirtDeviceTests
{
    private sealed class Wire : IInterruptLine
    {
        public bool Level;
        public int Edges;
        public void Set(bool asserted)
        {
            if (asserted != Level) Edges++;
            Level = asserted;
        }
    }

    [Fact]
    public void FdtWriter_RoundTrips_NodesPropertiesAndSharedStrings()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode("").Cells("#address-cells", 2)
            .BeginNode("a@1").Property("compatible", "x,one", "x,two").Property("flag").Cells64("reg", 0x8000_0000, 0x1000).EndNode()
            .BeginNode("b").Cells("#address-cells", 1).EndNode()
            .EndNode();
        var blob = fdt.Finish();
        Assert.Equal(0, blob.Length % 8);
        var props = FdtReader.Parse(blob);
        Assert.Equal([2u], FdtReader.Cells(props["/#address-cells"]));
        Assert.Equal(["x,one", "x,two"], FdtReader.Strings(props["/a@1/compatible"]));
        Assert.Empty(props["/a@1/flag"]);
        Assert.Equal([0u, 0x8000_0000u, 0u, 0x1000u], FdtReader.Cells(props["/a@1/reg"]));
        Assert.Equal([1u], FdtReader.Cells(props["/b/#address-cells"]));
    }

    [Fact]
    public void FdtWriter_RejectsUnclosedNodes()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode("");
        Assert.Throws<InvalidOperationException>(() => fdt.Finish());
    }

    [Fact]
    public void VirtDeviceTree_DescribesHartsMemoryDevicesAndChosen()
    {
        var blob = VirtDeviceTree.Build(new VirtDeviceTreeConfig
        {
            Harts = 2, MemorySize = 256ul << 20, BootArgs = "console=ttyS0", Initrd = (0x8800_0000, 0x8810_0000),
        });
        var p = FdtReader.Parse(blob);
        Assert.Equal("console=ttyS0", FdtReader.String(p["/chosen/bootargs"]));
        Assert.Equal("/soc/serial@10000000", FdtReader.String(p["/chosen/stdout-path"]));
        Assert.Equal([0u, 0x8800_0000u], FdtReader.Cells(p["/chosen/linux,initrd-start"]));
        Assert.Equal([0u, 0x8000_0000u, 0u, 0x1000_0000u], FdtReader.Cells(p["/memory@80000000/reg"]));
        Assert.Equal([10_000_000u], FdtReader.Cells(p["/cpus/timebase-frequency"]));
        foreach (var cpu in new[] { "cpu@0", "cpu@1" })
        {
            Assert.Equal(VirtDeviceTree.DefaultIsa, FdtReader.String(p[$"/cpus/{cpu}/riscv,isa"]));
            Assert.Equal("riscv,sv48", FdtReader.String(p[$"/cpus/{cpu}/mmu-type"]));
            Assert.Equal("riscv,cpu-intc", FdtReader.String(p[$"/cpus/{cpu}/interrupt-controller/compatible"]));
        }
        Assert.Equal([1u], FdtReader.Cells(p["/cpus/cpu@1/reg"]));
        // PLIC contexts: per hart M external (11) then S external (9); CLINT: M software (3), M timer (7).
        var plic = FdtReader.Cells(p["/soc/plic@c000000/interrupts-extended"]);
        Assert.Equal(8, plic.Length);
        Assert.Equal([11u, 9u, 11u, 9u], new[] { plic[1], plic[3], plic[5], plic[7] });
        var clint = FdtReader.Cells(p["/soc/clint@2000000/interrupts-extended"]);
        Assert.Equal([3u, 7u, 3u, 7u], new[] { clint[1], clint[3], clint[5], clint[7] });
        Assert.Equal([10u], FdtReader.Cells(p["/soc/serial@10000000/interrupts"]));
        Assert.Equal("ns16550a", FdtReader.String(p["/soc/serial@10000000/compatible"]));
        Assert.Equal([11u], FdtReader.Cells(p["/soc/rtc@101000/interrupts"]));
        Assert.Contains("sifive,test0", FdtReader.Strings(p["/soc/test@100000/compatible"]));
        Assert.Equal([0x5555u], FdtReader.Cells(p["/poweroff/value"]));
        // Every interrupt-parent and regmap names a phandle that exists.
        var phandles = p.Where(kv => kv.Key.EndsWith("/phandle")).Select(kv => FdtReader.Cells(kv.Value)[0]).ToHashSet();
        Assert.Contains(FdtReader.Cells(p["/soc/serial@10000000/interrupt-parent"])[0], phandles);
        Assert.Contains(FdtReader.Cells(p["/poweroff/regmap"])[0], phandles);
        Assert.Contains(plic[0], phandles);
    }

    [Fact]
    public void Uart_TransmitsBytes_AndRaisesThreOnceUntilIirIsRead()
    {
        var wire = new Wire();
        var output = new List<byte>();
        var uart = new Ns16550a(wire) { Output = output.Add };
        uart.Write(0, 1, (byte)'h');
        Assert.Equal("h"u8.ToArray(), output);
        Assert.False(wire.Level); // no interrupts enabled
        uart.Write(1, 1, 0x02);   // IER: THR empty
        Assert.True(wire.Level);
        Assert.Equal(0x02ul, uart.Read(2, 1) & 0x0F); // IIR: THRE, and reading it clears it
        Assert.False(wire.Level);
        Assert.Equal(0x01ul, uart.Read(2, 1) & 0x0F);
        uart.Write(0, 1, (byte)'i');
        Assert.True(wire.Level);
        Assert.Equal(0x60ul, uart.Read(5, 1) & 0x61); // LSR: THR empty, transmitter empty, no data
    }

    [Fact]
    public void Uart_ReceivesInput_WithDataReadyAndInterrupt()
    {
        var wire = new Wire();
        var uart = new Ns16550a(wire);
        uart.Write(1, 1, 0x01); // IER: received data available
        uart.Receive("ok"u8);
        Assert.True(wire.Level);
        Assert.Equal(0x04ul, uart.Read(2, 1) & 0x0F);
        Assert.Equal(1ul, uart.Read(5, 1) & 1);
        Assert.Equal((ulong)'o', uart.Read(0, 1));
        Assert.Equal((ulong)'k', uart.Read(0, 1));
        Assert.Equal(0ul, uart.Read(5, 1) & 1);
        Assert.False(wire.Level);
    }

    [Fact]
    public void Uart_DivisorLatch_IsSeparateFromDataRegisters()
    {
        var output = new List<byte>();
        var uart = new Ns16550a { Output = output.Add };
        uart.Write(3, 1, 0x80); // DLAB
        uart.Write(0, 1, 0x01);
        uart.Write(1, 1, 0x00);
        Assert.Equal(1ul, uart.Read(0, 1));
        uart.Write(3, 1, 0x03);
        Assert.Empty(output);
    }

    [Fact]
    public void Plic_ClaimsByPriority_GatesUntilComplete_AndHonoursThreshold()
    {
        var m = new Wire();
        var s = new Wire();
        var plic = new Plic(95, [m, s]);
        plic.Write(4 * 10, 4, 1); // source 10 priority 1
        plic.Write(4 * 11, 4, 3); // source 11 priority 3
        plic.Write(Plic.EnableBase + Plic.EnableStride, 4, (1u << 10) | (1u << 11)); // context 1 enables both
        plic.Input(10).Set(true);
        plic.Input(11).Set(true);
        Assert.False(m.Level);
        Assert.True(s.Level);
        Assert.Equal((1ul << 10) | (1ul << 11), plic.Read(Plic.PendingBase, 4));
        ulong claim = Plic.ContextBase + Plic.ContextStride + 4;
        Assert.Equal(11ul, plic.Read(claim, 4));
        Assert.Equal(10ul, plic.Read(claim, 4));
        Assert.False(s.Level);            // both claimed
        Assert.Equal(0ul, plic.Read(claim, 4));
        plic.Input(10).Set(false);
        plic.Write(claim, 4, 10);         // complete 10: its line is low, nothing pending
        Assert.False(s.Level);
        plic.Write(claim, 4, 11);         // complete 11: still asserted, pending again
        Assert.True(s.Level);
        plic.Write(Plic.ContextBase + Plic.ContextStride, 4, 3); // threshold 3 masks priority 3
        Assert.False(s.Level);
    }

    [Fact]
    public void SifiveTest_DecodesPassFailAndReset()
    {
        var test = new SifiveTest();
        var seen = new List<(TestDeviceRequest, int)>();
        test.Requested += (r, c) => seen.Add((r, c));
        test.Write(0, 2, 0x5555);
        test.Write(0, 4, 0x3333 | (7 << 16));
        test.Write(0, 4, 0x7777);
        test.Write(0, 4, 0x1234);
        Assert.Equal([(TestDeviceRequest.Pass, 0), (TestDeviceRequest.Fail, 7), (TestDeviceRequest.Reset, 0)], seen);
    }

    [Fact]
    public void GoldfishRtc_ReadsLatchedNanoseconds_AndFiresAlarm()
    {
        ulong now = 0x1_2345_6789;
        var wire = new Wire();
        var rtc = new GoldfishRtc(wire, () => now);
        Assert.Equal(0x2345_6789ul, rtc.Read(0x00, 4));
        now += 0x1_0000_0000;
        Assert.Equal(1ul, rtc.Read(0x04, 4)); // latched when TIME_LOW was read
        rtc.Write(0x10, 4, 1);                // IRQ enabled
        rtc.Write(0x0C, 4, 2);
        rtc.Write(0x08, 4, 0x4000_0000);      // alarm at 0x2_4000_0000
        Assert.False(wire.Level);
        now = 0x2_4000_0000;
        rtc.Poll();
        Assert.True(wire.Level);
        rtc.Write(0x1C, 4, 1);
        Assert.False(wire.Level);
    }
}
