using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary><c>isomorph boot --disk/--net/--rng</c>: accepted forms, and one clear line for bad ones.</summary>
public sealed class BootVirtioOptionsTests() : CliTest("isomorph-boot-virtio")
{
    [Fact]
    public void VirtioDevices_AreAccepted()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("payload says hi\n"));
        var disk = TempFile("disk.img", new byte[1 << 16]);
        var ro = TempFile("ro.img", new byte[1 << 16]);
        var r = Repository.Isomorph("boot", "--kernel", kernel, "--disk", disk, "--disk", ro + ",readonly", "--rng",
            "--net", "socket:" + Path.Combine(Temp.FullName, "n.sock") + ",mac=52:54:00:ab:cd:ef");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.EndsWith("payload says hi\r\n", r.Stdout);
    }

    [Fact]
    public void BadVirtioOptions_AreOneLineAndStatusTwo()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("x"));
        var disk = TempFile("disk.img", new byte[1 << 16]);
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--disk", Path.Combine(Temp.FullName, "none.img")), "no such disk image");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--disk", disk + ",fast"), "unknown option 'fast'");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--disk", TempFile("tiny.img", new byte[100])), "smaller than one 512-byte sector");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "udp:1.2.3.4"), "expected socket:PATH or tap:NAME");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:/tmp/x.sock,mac=01:00:00:00:00:01"), "multicast");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:/tmp/x.sock,mac=zz"), "unknown option");
        AssertBadInput(Repository.Isomorph(["boot", "--kernel", kernel, .. Enumerable.Repeat(new[] { "--disk", disk + ",readonly" }, 9).SelectMany(a => a)]), "too many virtio devices");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:" + disk), "is not a socket");
        string fifo = Path.Combine(Temp.FullName, "fifo");
        Assert.Equal(0, Repository.Run("mkfifo", [fifo], TimeSpan.FromSeconds(10)).ExitCode);
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:" + fifo), "is not a socket"); // never opened: it would block
        Assert.True(File.Exists(disk));
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:/tmp/" + new string('s', 200)), "network backend");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--net", "socket:/nonexistent/dir/x.sock"), "network backend");
        // A writable disk in use by another VM (here: this process) is refused, not shared.
        using (new FileStream(disk, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--disk", disk), "cannot open the disk image");
    }
}
