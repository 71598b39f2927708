using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Several harts on one or several host threads: guests/virt/smp-atomics.S has 4 harts add to
/// shared counters with AMOs, LR/SC and a ticket lock, and checks the totals itself. It passes on
/// QEMU's virt machine too: the oracle that the guest program is right. (QEMU runs it round-robin,
/// thread=single: with a thread per vCPU on a 2-core host its ticket-lock spinners, for which PAUSE
/// is a no-op, keep preempted lock holders off the CPU for up to minutes.)
/// </summary>
public class SmpTests
{
    private static string Program => GuestPrograms.Path("virt/smp-atomics.elf");

    [Theory]
    [InlineData(1)]   // deterministic round robin; PAUSE hands the thread to the lock holder
    [InlineData(2)]
    [InlineData(4)]   // a thread per hart, truly in parallel
    public void AmoLrScAndTicketLock_CountExactly_OnAnyNumberOfHostThreads(int hostThreads)
    {
        using var machine = new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = Program, Harts = 4, HostThreads = hostThreads, Console = new ConsoleCapture(),
        });
        Assert.Equal(hostThreads, machine.HostThreads);
        var result = VirtMachineTests.RunWithTimeout(machine, TimeSpan.FromMinutes(2));
        Assert.True(result.Stop == VirtStop.PowerOff, $"{result.Stop}: {result.Message}");
        Assert.True(result.ExitCode == 0, $"counter {result.ExitCode} is wrong (1: AMO, 2: LR/SC, 3: ticket lock)");
    }

    [Fact]
    public void TheSameProgramPassesOnQemu()
    {
        var r = Repository.Run("qemu-system-riscv64",
            ["-M", "virt", "-accel", "tcg,thread=single", "-smp", "4", "-bios", "none", "-kernel", Program, "-nographic", "-monitor", "none"], TimeSpan.FromMinutes(1));
        Assert.False(r.TimedOut, "QEMU did not finish");
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void OneHartWaitingForThreeThatNeverCome_IsStoppedByTheInstructionLimit()
    {
        // With one hart the program's hart 0 spins (PAUSE) for ever: the limit must end it.
        using var machine = new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = Program, Harts = 1, MaxInstructions = 2_000_000, Console = new ConsoleCapture(),
        });
        var result = VirtMachineTests.RunWithTimeout(machine, TimeSpan.FromMinutes(1));
        Assert.Equal(VirtStop.InstructionLimit, result.Stop);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void HostThreadsOutsideOneToHarts_AreRefused(int hostThreads)
    {
        var e = Assert.Throws<Isomorph.Machines.MachineConfigurationException>(() => new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = Program, Harts = 4, HostThreads = hostThreads,
        }));
        Assert.Contains("host threads", e.Message);
    }
}

/// <summary>Guest RAM is reserved, not allocated: only what the guest touches costs the host.</summary>
public class GuestMemoryTests
{
    private static ulong HostMemoryBytes()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:"));
        return ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) << 10;
    }

    [Fact]
    public void AGuestWithTwiceTheHostsMemory_RunsAndCostsOnlyWhatItTouches()
    {
        ulong size = (HostMemoryBytes() * 2 + (1ul << 30) - 1) & ~((1ul << 30) - 1);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        long before = process.WorkingSet64;
        using var machine = new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = GuestPrograms.Path("virt/smp-atomics.elf"), Harts = 4, MemorySize = size, Console = new ConsoleCapture(),
        });
        var result = VirtMachineTests.RunWithTimeout(machine, TimeSpan.FromMinutes(2));
        Assert.True(result.Stop == VirtStop.PowerOff && result.ExitCode == 0, $"{result.Stop} {result.ExitCode}: {result.Message}");
        process.Refresh();
        long grown = process.WorkingSet64 - before;
        Assert.True(grown < 256L << 20, $"a {size >> 30} GiB guest that touched a few pages grew the host process by {grown >> 20} MiB");
    }

    [Fact]
    public void MoreMemoryThanTheAddressSpaceHolds_IsOneClearError()
    {
        var e = Assert.Throws<Isomorph.Machines.MachineConfigurationException>(() => new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = GuestPrograms.Path("virt/smp-atomics.elf"), MemorySize = 1ul << 50,
        }));
        Assert.Contains("cannot reserve", e.Message);
    }
}
