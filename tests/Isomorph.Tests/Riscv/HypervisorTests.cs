using Isomorph.Elf;
using Isomorph.Machines.Bare;
using Isomorph.Riscv;
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
}
