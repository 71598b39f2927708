using System.Diagnostics;
using System.Text;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Whole-machine snapshots of the project's Linux guest: stopped in the middle of a computation,
/// saved, and resumed in a new process by <c>isomorph boot --restore</c>; a virtio disk across a
/// snapshot; the file is byte-for-byte the same after a restore and a second save.
/// </summary>
public sealed class SnapshotBootTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan BootTimeout = LinuxGuest.BootTimeout, CommandTimeout = LinuxGuest.CommandTimeout;
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-snapshot");

    public void Dispose() => _temp.Delete(recursive: true);


    /// <summary>An awk loop summing 1..N: a few seconds of guest work whose answer is N(N+1)/2.</summary>
    internal static (string Command, string Answer) Sum(long n) =>
        ($"awk 'BEGIN {{ s = 0; for (i = 1; i <= {n}; i++) s += i; printf \"sum=%.0f\\n\", s }}'", $"sum={n * (n + 1) / 2}");

    /// <summary>
    /// Long enough to be still computing a second after it starts: 300,000 rounds ended within that
    /// second once the translator sped up (a fresh-CI run saw the API test's answer before its pause).
    /// </summary>
    private const long SumTo = 1_500_000;

    /// <summary>Starts the sum, lets it run a while and stops the machine in the middle of it.</summary>
    private static void StopInTheMiddleOfTheSum(LinuxGuest guest, string answer, string command)
    {
        guest.Send(command);
        Assert.True(guest.Console.WaitFor("\n", CommandTimeout, guest.At) >= 0, "the command was not echoed");
        Thread.Sleep(1000);
        guest.Stop();
        Assert.DoesNotContain(answer, guest.Console.Text); // still computing: the test must not pass without the restore
    }

    [Fact]
    public void Snapshot_InTheMiddleOfAComputation_ResumesInANewProcess_WithTheRightAnswer()
    {
        var (command, answer) = Sum(SumTo);
        string snapshot = Path.Combine(_temp.FullName, "linux.snap");
        using (var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture())))
        {
            StopInTheMiddleOfTheSum(guest, answer, command);
            guest.Machine.SaveSnapshot(snapshot);
            output.WriteLine($"snapshot: {new FileInfo(snapshot).Length:N0} bytes for {guest.Machine.Ram.Size >> 20} MiB of RAM, saved in {guest.Machine.LastSnapshot!.Elapsed.TotalMilliseconds:F0} ms");
            Assert.True(new FileInfo(snapshot).Length < (long)(guest.Machine.Ram.Size / 16), "RAM is not saved sparse and compressed");
        }

        // A new process resumes it: the sum finishes, then the shell answers typed-ahead input and powers off.
        var r = Repository.Run("dotnet", [Repository.CliDll, "boot", "--restore", snapshot, "--stats"], TimeSpan.FromSeconds(120),
            stdin: "echo alive$((40+2))\npoweroff\n");
        output.WriteLine(r.Stderr);
        Assert.False(r.TimedOut, "the restored machine did not power off:\n" + LinuxGuest.Tail(r.Stdout));
        Assert.Equal(0, r.ExitCode);
        int at = r.Stdout.IndexOf(answer, StringComparison.Ordinal);
        Assert.True(at >= 0, $"the restored computation did not print {answer}:\n{LinuxGuest.Tail(r.Stdout)}");
        Assert.True(r.Stdout.IndexOf("alive42", at, StringComparison.Ordinal) > at, "the shell did not answer after the sum:\n" + LinuxGuest.Tail(r.Stdout));
        Assert.DoesNotContain("Linux version", r.Stdout); // resumed, not booted again
    }

    [Fact]
    public void Snapshot_ThroughTheApi_InTheMiddleOfAComputation_ResumesInAnotherProcess()
    {
        var (command, answer) = Sum(SumTo);
        string api = Path.Combine(_temp.FullName, "api.sock"), serial = Path.Combine(_temp.FullName, "serial.sock");
        string snapshot = Path.Combine(_temp.FullName, "api.snap");
        using (var vm = new IsomorphProcess("boot", "--append", "console=ttyS0 quiet", "--serial", $"unix:{serial}", "--api-sock", api))
        using (var console = new SocketConsole(vm.Connect(serial, BootTimeout)))
        {
            int at = console.WaitFor("/ # ", BootTimeout);
            Assert.True(at >= 0, "no shell prompt:\n" + console.Text + vm.Stderr);
            console.Send(command + "\n");
            Assert.True(console.WaitFor("\n", CommandTimeout, at) >= 0, "the command was not echoed");
            Thread.Sleep(1000);
            var paused = Repository.Isomorph("vm", "pause", "--sock", api);
            Assert.True(paused.ExitCode == 0, paused.Stderr);
            Thread.Sleep(300); // output written before the pause reaches the client
            Assert.DoesNotContain(answer, console.Text);
            var saved = Repository.Isomorph("vm", "snapshot", snapshot, "--sock", api);
            Assert.True(saved.ExitCode == 0, saved.Stderr);
            vm.Terminate(); // the first machine never finishes the sum
            Assert.Equal(143, vm.WaitForExit(TimeSpan.FromSeconds(30)));
        }

        var r = Repository.Run("dotnet", [Repository.CliDll, "boot", "--restore", snapshot], TimeSpan.FromSeconds(120),
            stdin: "echo alive$((40+2))\npoweroff\n");
        Assert.False(r.TimedOut, "the restored machine did not power off:\n" + LinuxGuest.Tail(r.Stdout));
        Assert.Equal(0, r.ExitCode);
        int found = r.Stdout.IndexOf(answer, StringComparison.Ordinal);
        Assert.True(found >= 0, $"the restored computation did not print {answer}:\n{LinuxGuest.Tail(r.Stdout)}");
        Assert.True(r.Stdout.IndexOf("alive42", found, StringComparison.Ordinal) > found, "the shell did not answer after the sum:\n" + LinuxGuest.Tail(r.Stdout));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Snapshot_RestoredInProcess_FinishesTheComputation_AndSavesTheSameBytesAgain(int harts)
    {
        var (command, answer) = Sum(SumTo);
        string first = Path.Combine(_temp.FullName, "first.snap"), second = Path.Combine(_temp.FullName, "second.snap");
        byte[] streamed;
        using (var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Harts = harts }))
        {
            StopInTheMiddleOfTheSum(guest, answer, command);
            guest.Machine.SaveSnapshot(first);
            var stream = new MemoryStream();
            Assert.Equal(new FileInfo(first).Length, guest.Machine.SaveSnapshot(stream));
            streamed = stream.ToArray();
        }
        // A snapshot streamed is the file's bytes, and restores from a stream; a damaged one is refused at its checksum.
        Assert.Equal(File.ReadAllBytes(first), streamed);
        var damaged = (byte[])streamed.Clone();
        damaged[^1] ^= 0x40; // everything parses: only the checksum tells
        var refused = Assert.Throws<SnapshotException>(() => MachineBoards.Restore(new SnapshotStreamReader(new MemoryStream(damaged), damaged.Length), new MachineRestoreOptions()));
        Assert.Contains("checksum", refused.Message);
        var console = new ConsoleCapture();
        var machine = harts == 1
            ? VirtMachine.Restore(first, new MachineRestoreOptions { Console = console })
            : (VirtMachine)MachineBoards.Restore(new SnapshotStreamReader(new MemoryStream(streamed), streamed.Length), new MachineRestoreOptions { Console = console });
        machine.SaveSnapshot(second);
        SnapshotFiles.AssertSame(first, second);
        Assert.Equal(0, machine.Instructions); // statistics count what the restored machine runs, not what came before
        Assert.True(machine.Harts.Sum(h => h.Instret) > 50_000_000); // while instret goes on from the snapshot

        using var resumed = new LinuxGuest(machine, console);
        Assert.True(console.WaitFor(answer, CommandTimeout) >= 0, $"no {answer} after the restore:\n{LinuxGuest.Tail(console.Text)}");
        resumed.At = console.WaitFor("/ # ", CommandTimeout);
        resumed.Run("echo alive$((40+2))", "alive42");
        Assert.Equal(VirtStop.PowerOff, resumed.End("poweroff").Stop);
    }

    [Fact]
    public void Snapshot_WhilePaused_OnTwoHostThreads_BothTheOriginalAndTheRestoredMachineFinish()
    {
        var (command, answer) = Sum(SumTo / 2); // run twice to the end: the original after the save, and the restored machine
        string first = Path.Combine(_temp.FullName, "paused.snap"), second = Path.Combine(_temp.FullName, "again.snap");
        using (var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Harts = 2, HostThreads = 2 }))
        {
            guest.Send(command);
            Assert.True(guest.Console.WaitFor("\n", CommandTimeout, guest.At) >= 0, "the command was not echoed");
            Thread.Sleep(500);
            Assert.Throws<InvalidOperationException>(() => guest.Machine.SaveSnapshot(first)); // running: refused
            Assert.False(File.Exists(first));
            guest.Machine.Pause();
            Assert.DoesNotContain(answer, guest.Console.Text);
            guest.Machine.SaveSnapshot(first);
            guest.Machine.Resume();
            Assert.True(guest.Console.WaitFor(answer, CommandTimeout, guest.At) >= 0, $"the paused machine did not finish:\n{LinuxGuest.Tail(guest.Console.Text)}");
        }

        var console = new ConsoleCapture();
        var machine = VirtMachine.Restore(first, new MachineRestoreOptions { Console = console, HostThreads = 2 });
        machine.SaveSnapshot(second);
        SnapshotFiles.AssertSame(first, second);
        using var resumed = new LinuxGuest(machine, console);
        Assert.True(console.WaitFor(answer, CommandTimeout) >= 0, $"no {answer} after the restore:\n{LinuxGuest.Tail(console.Text)}");
        resumed.At = console.WaitFor("/ # ", CommandTimeout);
        resumed.Run("grep -c ^processor /proc/cpuinfo", "2");
    }

    [Fact]
    public void Disk_FileWrittenBeforeTheSnapshot_AndSyncedAfterTheRestore_IsOnTheImage()
    {
        string disk = Path.Combine(_temp.FullName, "disk.img");
        using (var f = File.Create(disk)) f.SetLength(16 << 20);
        string snapshot = Path.Combine(_temp.FullName, "disk.snap");
        using (var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Disks = [new VirtDisk(disk)] }))
        {
            guest.Run("mke2fs -q /dev/vda && mount /dev/vda /mnt && echo made$((1+1))", "made2");
            guest.Run("echo 'written before the snapshot' > /mnt/before.txt && echo wrote$((1+1))", "wrote2");
            guest.Stop();
            guest.Machine.SaveSnapshot(snapshot);
        } // the image is closed: only the restored machine has it

        var console = new ConsoleCapture();
        using (var resumed = new LinuxGuest(VirtMachine.Restore(snapshot, new MachineRestoreOptions { Console = console }), console))
        {
            resumed.Run("sync && cat /mnt/before.txt", "written before the snapshot");
            resumed.Run("umount /mnt && echo unmounted$((1+1))", "unmounted2");
            Assert.Equal(VirtStop.PowerOff, resumed.End("poweroff").Stop);
        }
        Assert.Contains("written before the snapshot", Encoding.ASCII.GetString(File.ReadAllBytes(disk)));
    }

    [Fact]
    public void IdleGuest_StaysInWfi_AndItsClockContinuesFromTheSavedTime()
    {
        string snapshot = Path.Combine(_temp.FullName, "idle.snap");
        double uptimeBefore;
        ulong mtimeBefore;
        bool waiting;
        using (var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture())))
        {
            uptimeBefore = Uptime(guest);
            Thread.Sleep(200); // the shell goes back to waiting for input
            guest.Stop();
            waiting = guest.Machine.Harts[0].WaitingForInterrupt;
            Assert.True(guest.Machine.Bus.TryRead(VirtMemoryMap.ClintBase + 0xBFF8, 8, out mtimeBefore));
            guest.Machine.SaveSnapshot(snapshot);
        }
        Assert.True(waiting, "an idle Linux guest should be waiting in WFI");
        Thread.Sleep(3000); // time the machine spends saved does not pass for the guest

        var console = new ConsoleCapture();
        var machine = VirtMachine.Restore(snapshot, new MachineRestoreOptions { Console = console });
        Assert.True(machine.Harts[0].WaitingForInterrupt);
        Assert.True(machine.Bus.TryRead(VirtMemoryMap.ClintBase + 0xBFF8, 8, out ulong mtimeAfter));
        Assert.Equal(mtimeBefore, mtimeAfter);
        using var resumed = new LinuxGuest(machine, console);
        double uptimeAfter = Uptime(resumed);
        Assert.True(uptimeAfter >= uptimeBefore && uptimeAfter < uptimeBefore + 2.5,
            $"uptime {uptimeBefore} s before the snapshot, {uptimeAfter} s after a 3 s pause");
        resumed.Run("sleep 1 && echo slept$((1+1))", "slept2"); // timers still fire
    }

    [Fact]
    public void VirtioDevices_WorkAfterARestore_AndTheSocketNicReconnects()
    {
        string socket = Path.Combine(_temp.FullName, "net.sock"), snapshot = Path.Combine(_temp.FullName, "net.snap");
        using var a = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Nics = [VirtNic.Socket(socket, [0x52, 0x54, 0, 0, 0, 1])] });
        a.Run("ifconfig eth0 10.0.2.1 netmask 255.255.255.0 up && echo up$((1+1))", "up2");
        string mac;
        using (var b = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Nics = [VirtNic.Socket(socket)], Rng = true, VirtioConsole = new ConsoleCapture() }))
        {
            int from = b.Console.Text.Length;
            b.Run("ifconfig eth0 10.0.2.2 netmask 255.255.255.0 up && cat /sys/class/net/eth0/address", "52:54:00:");
            mac = System.Text.RegularExpressions.Regex.Match(b.Console.Text[from..], "52:54:00(:[0-9a-f]{2}){3}").Value;
            a.Run("ping -c 2 10.0.2.2", "2 packets received");
            b.Stop();
            b.Machine.SaveSnapshot(snapshot);
        } // B's process is gone; A keeps listening

        var console = new ConsoleCapture();
        var hvc = new ConsoleCapture();
        using var resumed = new LinuxGuest(VirtMachine.Restore(snapshot, new MachineRestoreOptions { Console = console, VirtioConsole = hvc }), console);
        resumed.Run("cat /sys/class/net/eth0/address", mac); // the NIC given no MAC keeps the one chosen at first
        resumed.Run("ping -c 3 10.0.2.1", "3 packets received");
        resumed.Run("head -c 16 /dev/hwrng | wc -c", "16");
        resumed.Run("echo from-hvc$((1+1)) > /dev/hvc1; echo wrote$((1+1))", "wrote2");
        Assert.True(hvc.WaitFor("from-hvc2", CommandTimeout) >= 0, "nothing on hvc1 after the restore:\n" + hvc.Text);
    }

    private static double Uptime(LinuxGuest guest)
    {
        int from = guest.Console.Text.Length;
        guest.Run("cat /proc/uptime", " ");
        var line = guest.Console.Text[from..].Split('\n')[1].Trim();
        return double.Parse(line.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
