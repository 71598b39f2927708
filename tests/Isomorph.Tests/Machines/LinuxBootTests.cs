using System.Text;
using Isomorph.Machines;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Boots the project's small Linux guest (guests/linux/build-kernel.sh: Debian's linux-source-6.1
/// and a BusyBox initramfs, built on first use and cached in ~/.cache/isomorph) on the virt machine
/// with Debian's OpenSBI, drives the BusyBox shell over the UART, and powers off.
/// </summary>
public class LinuxBootTests
{
    private static readonly TimeSpan BootTimeout = LinuxGuest.BootTimeout;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(8, 1)]   // 8 vCPUs on one physical CPU
    [InlineData(2, 2)]   // a host thread per hart
    [InlineData(4, 2)]
    public void Linux_BootsToBusyBoxShell_RunsCommands_AndPowersOff(int harts, int hostThreads)
    {
        var (image, initrd) = LinuxGuest.Images;
        var console = new ConsoleCapture();
        using var machine = new VirtMachine(new VirtOptions
        {
            Kernel = image, Initrd = initrd, BootArgs = "console=ttyS0", Console = console, Harts = harts, HostThreads = hostThreads,
        });
        VirtResult? result = null;
        var runner = new Thread(() => result = machine.Run()) { IsBackground = true };
        runner.Start();
        try
        {
            int at = console.WaitFor("/ # ", BootTimeout);
            Assert.True(at >= 0, "no shell prompt:\n" + console.Text);
            Assert.Contains("OpenSBI v", console.Text);
            Assert.Contains("Linux version 6.1", console.Text);

            machine.SendInput("uname -m\n"u8);
            at = console.WaitFor("riscv64", TimeSpan.FromSeconds(30), at);
            Assert.True(at >= 0, "uname -m did not answer:\n" + console.Text);
            at = console.WaitFor("/ # ", TimeSpan.FromSeconds(30), at);

            machine.SendInput("grep -c ^processor /proc/cpuinfo; echo done\n"u8);
            at = console.WaitFor($"\r\n{harts}\r\ndone\r\n", TimeSpan.FromSeconds(30), at);
            Assert.True(at >= 0, $"/proc/cpuinfo does not list {harts} harts:\n" + console.Text);

            // As many processes as harts, each summing 1..20000, in parallel.
            machine.SendInput(Encoding.ASCII.GetBytes(
                $"for i in $(seq {harts}); do awk 'BEGIN {{ s = 0; for (i = 1; i <= 20000; i++) s += i; print \"sum\" s }}' & done; wait; echo all$((1+1))\n"));
            at = console.WaitFor("all2", TimeSpan.FromSeconds(60), at);
            Assert.True(at >= 0, "the parallel sums did not finish:\n" + console.Text);
            int sums = console.Text.Split("sum200010000").Length - 1;
            Assert.Equal(harts, sums);

            machine.SendInput("poweroff\n"u8);
            Assert.True(runner.Join(TimeSpan.FromSeconds(60)), "poweroff did not stop the machine:\n" + console.Text);
            Assert.Equal(VirtStop.PowerOff, result!.Stop);
            Assert.Equal(0, result.ExitCode);
            AssertStatisticsShowTheBoot(machine.Statistics(), harts);
        }
        finally
        {
            machine.Stop();
            runner.Join(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>
    /// What any Linux boot on OpenSBI does: system calls from user space into the kernel, timer
    /// interrupts; with a second hart, HSM to start it and IPIs. The harts have Sstc (OpenSBI sets
    /// menvcfg.STCE, the device tree says sstc): the kernel sets its timer in stimecmp itself, so
    /// no timer event goes through SBI TIME and no machine timer interrupt is taken.
    /// </summary>
    private static void AssertStatisticsShowTheBoot(MachineStatistics stats, int harts)
    {
        var sbi = stats.Traps.SbiCalls.ToDictionary(c => c.Extension.Name, c => c.Count);
        Assert.True(sbi.GetValueOrDefault("TIME") == 0, "SBI TIME calls with Sstc: " + string.Join(", ", sbi));
        Assert.DoesNotContain(stats.Traps.Interrupts, i => i.Name == "MachineTimer");
        Assert.True(sbi.GetValueOrDefault("BASE") > 0, "no SBI BASE calls (probing): " + string.Join(", ", sbi));
        Assert.Equal(1, sbi.GetValueOrDefault("SRST")); // poweroff
        if (harts > 1)
        {
            Assert.True(sbi.GetValueOrDefault("HSM") >= harts - 1, "no SBI HSM hart_start: " + string.Join(", ", sbi));
            Assert.True(sbi.GetValueOrDefault("IPI") > 0, "no SBI IPIs: " + string.Join(", ", sbi));
        }
        long sbiTraps = stats.Traps.Traps.Where(t => t.Cause == (ulong)global::Isomorph.Riscv.ExceptionCause.EnvironmentCallFromS && t.To == global::Isomorph.Riscv.PrivilegeMode.Machine).Sum(t => t.Count);
        Assert.Equal(sbi.Values.Sum(), sbiTraps);
        Assert.Contains(stats.Traps.Traps, t => t.Cause == (ulong)global::Isomorph.Riscv.ExceptionCause.EnvironmentCallFromU
            && t.From == global::Isomorph.Riscv.PrivilegeMode.User && t.To == global::Isomorph.Riscv.PrivilegeMode.Supervisor && t.Count > 0);
        Assert.Contains(stats.Traps.Interrupts, i => i.Name == "SupervisorTimer" && i.Count > 0);
        Assert.Equal(harts, stats.Harts);
    }

    [Fact]
    public void Pause_StopsEveryHartAndTime_ResumeContinues()
    {
        var (image, initrd) = LinuxGuest.Images;
        var console = new ConsoleCapture();
        using var machine = new VirtMachine(new VirtOptions
        {
            Kernel = image, Initrd = initrd, BootArgs = "console=ttyS0", Console = console, Harts = 2, HostThreads = 2,
        });
        VirtResult? result = null;
        var runner = new Thread(() => result = machine.Run()) { IsBackground = true };
        runner.Start();
        try
        {
            int at = console.WaitFor("/ # ", BootTimeout);
            Assert.True(at >= 0, "no shell prompt:\n" + console.Text);

            // A guest that prints a line every 50 ms goes quiet while paused.
            machine.SendInput("i=0; while [ $i -lt 40 ]; do echo tick; usleep 50000; i=$((i+1)); done; echo ticked$i\n"u8);
            Assert.True(console.WaitFor("tick\r\ntick\r\n", TimeSpan.FromSeconds(30), at) >= 0, "no ticks:\n" + console.Text);
            machine.Pause();
            Assert.True(machine.IsPaused);
            long instructions = machine.Instructions;
            int length = console.Text.Length;
            Thread.Sleep(500);
            Assert.Equal(instructions, machine.Instructions);
            Assert.Equal(length, console.Text.Length);
            Assert.True(runner.IsAlive);

            machine.Resume();
            Assert.False(machine.IsPaused);
            Assert.True(console.WaitFor("tick", TimeSpan.FromSeconds(30), length) >= 0, "no ticks after resume:\n" + console.Text);
            Assert.True(machine.Instructions > instructions);

            Assert.True(console.WaitFor("ticked40", TimeSpan.FromSeconds(30), length) >= 0, "the loop did not finish:\n" + console.Text);
            machine.SendInput("poweroff\n"u8);
            Assert.True(runner.Join(TimeSpan.FromSeconds(60)), "poweroff did not stop the machine:\n" + console.Text);
            Assert.Equal(VirtStop.PowerOff, result!.Stop);
        }
        finally
        {
            machine.Stop();
            runner.Join(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void Stop_EndsAPausedMachine()
    {
        var (image, initrd) = LinuxGuest.Images;
        using var machine = new VirtMachine(new VirtOptions { Kernel = image, Initrd = initrd, Console = new ConsoleCapture(), Harts = 2 });
        VirtResult? result = null;
        var runner = new Thread(() => result = machine.Run()) { IsBackground = true };
        runner.Start();
        Thread.Sleep(200);
        machine.Pause();
        machine.Stop();
        Assert.True(runner.Join(TimeSpan.FromSeconds(10)), "Stop did not end a paused machine");
        Assert.Equal(VirtStop.Stopped, result!.Stop);
    }
}
