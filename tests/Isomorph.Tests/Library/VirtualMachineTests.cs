using System.Text;
using Isomorph.Tests.Machines;

namespace Isomorph.Tests.Library;

/// <summary>
/// The library's virt machine (<see cref="VirtualMachine"/>): the project's Linux guest built and driven
/// from code — its console read and typed on, a snapshot to a stream restored as a second machine that
/// goes on from there, and the ends a run can have.
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
}
