using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Isomorph.Tests.Machines;

namespace Isomorph.Tests.Library;

/// <summary>
/// The library's virt machine (<see cref="VirtualMachine"/>): the project's Linux guest built and driven
/// from code — its console read and typed on, a snapshot to a stream restored as a second machine that
/// goes on from there, a reboot that boots a fresh machine in the same session, gdb attached to the
/// running machine, and the ends a run can have. <c>isomorph boot</c> is a client of the same API:
/// the CLI tests drive these paths through it as well.
/// </summary>
public sealed class VirtualMachineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void TheGuestBoots_Answers_IsSnapshottedToAStream_AndTheRestoredMachineGoesOn()
    {
        var images = LinuxGuest.Images;
        var console = new ConsoleCapture();
        var snapshot = new MemoryStream();
        using (var vm = new VirtualMachine(images.Image) { Initrd = images.Initrd, CommandLine = "console=ttyS0 quiet", Console = console }.Start())
        {
            Assert.True(console.WaitFor("/ # ", Timeout) >= 0, console.Text);
            vm.SendConsoleInput("x=$((40+2)); echo got$x\n");
            Assert.True(console.WaitFor("got42", Timeout) >= 0, console.Text);
            Assert.True(vm.Instructions > 0);
            long written = vm.SaveSnapshot(snapshot);
            Assert.Equal(snapshot.Length, written);
            Assert.False(vm.IsPaused); // running again after the save
            vm.Stop();
            Assert.Equal(MachineEndReason.Stopped, vm.WaitForEnd(Timeout)?.Reason);
        }

        // The restored machine has the shell's variable: it goes on from the snapshot, not a new boot.
        snapshot.Position = 0;
        var after = new ConsoleCapture();
        using var restored = VirtualMachine.Restore(snapshot, snapshot.Length, after);
        restored.SendConsoleInput("echo still$x; poweroff\n");
        Assert.True(after.WaitFor("still42", Timeout) >= 0, after.Text);
        var end = restored.WaitForEnd(Timeout);
        Assert.Equal(MachineEndReason.PowerOff, end?.Reason);
        Assert.Equal(0, end?.ExitCode);
        Assert.DoesNotContain("Linux version", after.Text);
    }

    [Fact]
    public void BadMachinesAndSnapshotsAreOneClearException()
    {
        var missing = Assert.Throws<ArgumentException>(() => new VirtualMachine("/nonexistent/Image").Start());
        Assert.Contains("/nonexistent/Image", missing.Message);
        Assert.Throws<ArgumentException>(() => new VirtualMachine(LinuxGuest.Images.Image) { MemoryBytes = 4096 }.Start());
        var junk = new MemoryStream(Encoding.ASCII.GetBytes("not a snapshot at all, not at all"));
        Assert.Throws<InvalidDataException>(() => VirtualMachine.Restore(junk, junk.Length));
    }

    [Fact]
    public void AGuestReboot_BootsAFreshMachineInTheSession_GdbAttachesToIt_AndAFileSnapshotResumes()
    {
        var images = LinuxGuest.Images;
        var dir = Directory.CreateTempSubdirectory("isomorph-vm-");
        try
        {
            var console = new ConsoleCapture();
            string gdbSocket = Path.Combine(dir.FullName, "gdb.sock"), snapshot = Path.Combine(dir.FullName, "vm.snap");
            using var vm = new VirtualMachine(images.Image)
            {
                Initrd = images.Initrd, CommandLine = "console=ttyS0 quiet", Console = console, RebootOnReset = true, Debuggable = true,
            }.Start();
            Assert.True(console.WaitFor("/ # ", Timeout) >= 0, console.Text);
            int booted = console.Text.Length;
            vm.SendConsoleInput("reboot\n");
            int second = console.WaitFor("OpenSBI v", Timeout, booted);
            Assert.True(second >= 0, "no second boot:\n" + console.Text);
            Assert.True(console.WaitFor("/ # ", Timeout, second) >= 0, "no prompt after the reboot:\n" + console.Text[second..]);
            Assert.Null(vm.WaitForEnd(TimeSpan.Zero)); // the session goes on with the new machine

            // gdb's stub on the new machine (one at a time): connecting stops it; '?' says why; detaching lets it run on.
            Assert.Equal("unix:" + gdbSocket, vm.AttachGdb("unix:" + gdbSocket));
            Assert.Throws<InvalidOperationException>(() => vm.AttachGdb("unix:" + gdbSocket + "2"));
            Assert.Throws<ArgumentException>(() => vm.AttachGdb("nowhere"));
            using (var gdb = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                gdb.Connect(new UnixDomainSocketEndPoint(gdbSocket));
                gdb.ReceiveTimeout = 30_000;
                Assert.StartsWith("+$T05", Exchange(gdb, "$?#3f"));
                long stopped = vm.Instructions;
                Thread.Sleep(200);
                Assert.Equal(stopped, vm.Instructions); // all-stop: no hart runs while gdb holds it
                Assert.StartsWith("+$OK", Exchange(gdb, "$D#44", acknowledge: false)); // the stub hangs up after it
            }
            int mark = console.Text.Length;
            vm.SendConsoleInput("x=$((40+2)); echo got$x\n");
            Assert.True(console.WaitFor("got42", Timeout, mark) >= 0, console.Text[mark..]);

            // A snapshot file, resumed as what it is: its shape comes from the file, not from here.
            long size = vm.SaveSnapshot(snapshot);
            Assert.Equal(new FileInfo(snapshot).Length, size);
            vm.Stop();
            Assert.Equal(MachineEndReason.Stopped, vm.WaitForEnd(Timeout)?.Reason);
            Assert.Throws<ArgumentException>(() => (VirtualMachine.FromSnapshot(snapshot) with { Harts = 2 }).Start());
            Assert.Throws<ArgumentException>(() => (VirtualMachine.FromSnapshot(snapshot) with { Gdb = "unix:" + gdbSocket }).Start());
            var after = new ConsoleCapture();
            using var resumed = (VirtualMachine.FromSnapshot(snapshot) with { Console = after }).Start();
            resumed.SendConsoleInput("echo still$x; poweroff\n");
            Assert.True(after.WaitFor("still42", Timeout) >= 0, after.Text);
            var end = resumed.WaitForEnd(Timeout);
            Assert.Equal(MachineEndReason.PowerOff, end?.Reason);
            Assert.True(end!.Statistics.Instructions > 0);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Sends one packet of the remote protocol and reads until a whole reply packet (after its '+') has come, then acknowledges it.</summary>
    private static string Exchange(Socket gdb, string packet, bool acknowledge = true)
    {
        gdb.Send(Encoding.ASCII.GetBytes(packet));
        var reply = new StringBuilder();
        var buffer = new byte[4096];
        while (!(reply.ToString() is var text && text.IndexOf('#', text.IndexOf('$') + 1) is var hash && text.Contains('$') && hash > 0 && text.Length >= hash + 3))
        {
            int n = gdb.Receive(buffer);
            if (n == 0) break;
            reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        if (acknowledge) gdb.Send("+"u8);
        return reply.ToString();
    }

    [Fact]
    public void MachinesThatContradictThemselves_AreRefusedBeforeAnythingStarts()
    {
        var image = LinuxGuest.Images.Image;
        Assert.Throws<ArgumentException>(() => new VirtualMachine(image) { WaitForGdb = true }.Start());
        Assert.Throws<ArgumentException>(() => new VirtualMachine(image) { Gdb = "nowhere" }.Start());
        Assert.Throws<ArgumentException>(() => new VirtualMachine(image) { HostThreads = 0 }.Start());
        var multicast = new PhysicalAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        Assert.Throws<ArgumentException>(() => new VirtualMachine(image) { Networks = [VirtualNic.Socket("/tmp/x.sock", multicast)] }.Start());
        var noConsole = Assert.Throws<ArgumentException>(() => new VirtualMachine(image) { VirtioConsole = "/nonexistent/dir/hvc.log" }.Start());
        Assert.Contains("/nonexistent/dir", noConsole.Message);
    }
}
