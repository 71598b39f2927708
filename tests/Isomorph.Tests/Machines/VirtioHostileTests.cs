using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// guests/virt/virtio-hostile.c, a bare-metal driver run by <c>isomorph boot --firmware none</c>
/// with every kind of virtio device (blk, net, rng, console): it offers each device malformed
/// requests (buffers outside RAM, 4 GiB lengths, looping chains and indirect tables, an indirect
/// table that is itself, indices past the table or the queue, rings outside RAM, misaligned rings,
/// absurd queue sizes). The host must neither crash nor hang; the device serves the request or
/// sets DEVICE_NEEDS_RESET with a configuration-change interrupt (always, for what the spec
/// forbids), and serves a well-formed request after the driver resets it. The guest checks all
/// this itself and reports one line per case.
/// </summary>
public sealed class VirtioHostileTests() : CliTest("isomorph-hostile")
{
    [Fact]
    public void HostileDriver_NeverCrashesOrHangsTheHost_DevicesNeedResetAndRecover()
    {
        string disk = TempFile("disk.img", new byte[1 << 20]);
        string console = Path.Combine(Temp.FullName, "console.txt");
        var r = Repository.Run("dotnet", [Repository.CliDll, "boot", "--firmware", "none",
            "--kernel", GuestPrograms.Path("virt/virtio-hostile.elf"), "--memory", "128M", "--disk", disk,
            "--net", $"socket:{Path.Combine(Temp.FullName, "net.sock")}", "--rng", "--virtio-console", console, "--serial", "stdio"],
            TimeSpan.FromMinutes(2));
        Assert.False(r.TimedOut, "the machine hung:\n" + r.Stdout + r.Stderr);
        Assert.True(r.ExitCode == 0, $"status {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        Assert.Equal("", r.Stderr);
        Assert.Contains("virtio-hostile: 4 devices, 60 cases, 0 failures", r.Stdout);
        foreach (var kind in new[] { "blk", "net", "rng", "console" }) Assert.Contains($"virtio-{kind} in slot", r.Stdout);
        var lines = r.Stdout.Split('\n');
        // What the spec forbids put every device in DEVICE_NEEDS_RESET, and every device came back.
        Assert.Equal(4, lines.Count(l => l.Contains("indirect table is itself: needs reset, then reset and served")));
        Assert.Equal(4, lines.Count(l => l.Contains("chain loops: needs reset, then reset and served") && !l.Contains("indirect")));
        Assert.Equal(4, lines.Count(l => l.Contains("indirect table of 4 GiB: needs reset, then reset and served")));
        Assert.Equal(60, lines.Count(l => l.EndsWith("then reset and served")));
        // The console's well-formed requests reached its output.
        Assert.Contains("virtio-hostile\n", File.ReadAllText(console));
    }
}
