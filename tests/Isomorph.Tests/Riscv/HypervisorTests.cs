using Isomorph.Devices.Bus;
using Isomorph.Elf;
using Isomorph.Machines.Bare;
using Isomorph.Riscv;
using Isomorph.Riscv.Isa;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Riscv;

/// <summary>
/// The hypervisor extension seen from outside the guest: the trap profile counts traps by the mode
/// they come from and go to, V modes included, so a hypervisor's exits are visible by cause.
/// (What the extension does is tested by the guest programs in guests/hyp, on Isomorph and QEMU.)
/// </summary>
public sealed class HypervisorTests
{
    [Fact]
    public void TrapProfile_CountsTrapsByMode_VirtualModesIncluded()
    {
        using var machine = new BareMachine(ElfFile.Load(GuestPrograms.Path("hyp/vsdeleg.elf")), new BareOptions { MaxInstructions = 50_000_000 });
        var result = machine.Run();
        Assert.Equal((BareStop.Exited, 0), (result.Stop, result.ExitCode));
        var traps = TrapStatistics.Sum([machine.Hart.Statistics]).Traps;
        long Count(ulong cause, PrivilegeMode from, PrivilegeMode to) =>
            traps.Where(t => t.Cause == cause && t.From == from && t.To == to).Sum(t => t.Count);
        const ulong breakpoint = (ulong)ExceptionCause.Breakpoint;
        // The program's breakpoints: from VS to M (not delegated), to HS (medeleg), to VS (hedeleg); from VU to HS and to VS.
        Assert.Equal(1, Count(breakpoint, PrivilegeMode.VirtualSupervisor, PrivilegeMode.Machine));
        Assert.Equal(1, Count(breakpoint, PrivilegeMode.VirtualSupervisor, PrivilegeMode.Supervisor));
        Assert.Equal(1, Count(breakpoint, PrivilegeMode.VirtualSupervisor, PrivilegeMode.VirtualSupervisor));
        Assert.Equal(1, Count(breakpoint, PrivilegeMode.VirtualUser, PrivilegeMode.Supervisor));
        Assert.Equal(1, Count(breakpoint, PrivilegeMode.VirtualUser, PrivilegeMode.VirtualSupervisor));
        Assert.Equal(1, Count((ulong)ExceptionCause.VirtualInstruction, PrivilegeMode.VirtualSupervisor, PrivilegeMode.Supervisor));
        // The virtual supervisor software interrupt: HS-mode's VSSI once, then the guest's own (in VS with SIE set, and in VU).
        Assert.Equal(1, Count(Hart.InterruptBit | 2, PrivilegeMode.VirtualSupervisor, PrivilegeMode.Supervisor));
        Assert.Equal(2, traps.Where(t => t.Cause == (Hart.InterruptBit | 2) && t.To == PrivilegeMode.VirtualSupervisor).Sum(t => t.Count));
        // Each run_in_mode returns with an ecall: from VS these are cause 10.
        Assert.True(Count((ulong)ExceptionCause.EnvironmentCallFromVS, PrivilegeMode.VirtualSupervisor, PrivilegeMode.Machine) > 5);
        Assert.Contains(traps, t => t.Name == "EnvironmentCallFromVS");
    }

    [Fact]
    public void WithoutTheExtension_ItsCsrsAndInstructionsDoNotExist()
    {
        var bus = new PhysicalBus();
        using var ram = bus.AddRam(0x8000_0000, 1 << 16);
        using var plain = new Hart(bus);
        using var hypervisor = new Hart(bus, hypervisor: true);
        Assert.Equal(0ul, plain.Misa & (1 << 7));
        Assert.Equal(1ul << 7, hypervisor.Misa & (1 << 7));
        foreach (var csr in Csrs.All.Where(c => c.Extension == 'H'))
        {
            Assert.False(plain.TryReadCsr(csr.Number, out _), csr.Name);
            Assert.True(hypervisor.DebugReadCsr(csr.Number, out _), csr.Name);
        }
        Assert.True(Csrs.All.Count(c => c.Extension == 'H') >= 25);
        // The guest's own checks fail on a hart without H (misa.H first).
        var console = new MemoryStream();
        using var machine = new BareMachine(ElfFile.Load(GuestPrograms.Path("hyp/hcsr.elf")), new BareOptions { Hypervisor = false, MaxInstructions = 5_000_000, Console = console });
        var result = machine.Run();
        Assert.False(result.Stop == BareStop.Exited && result.ExitCode == 0);
        Assert.StartsWith("FAIL misa.H", System.Text.Encoding.UTF8.GetString(console.ToArray()));
    }
}
