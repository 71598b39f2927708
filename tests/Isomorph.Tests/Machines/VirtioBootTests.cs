using System.Text;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The project's Linux guest with virtio devices: a disk whose synced files survive a reboot, the
/// host's RNG behind /dev/hwrng, and two VMs whose NICs are joined over a Unix socket.
/// </summary>
public sealed class VirtioBootTests : IDisposable
{
    private static readonly TimeSpan BootTimeout = LinuxGuest.BootTimeout, CommandTimeout = LinuxGuest.CommandTimeout;
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-virtio");

    public void Dispose() => _temp.Delete(recursive: true);

    private string EmptyDisk(string name, long size)
    {
        var path = Path.Combine(_temp.FullName, name);
        using (var f = File.Create(path)) f.SetLength(size);
        return path;
    }

    [Fact]
    public void Disk_FileWrittenAndSynced_SurvivesAReboot()
    {
        string disk = EmptyDisk("disk.img", 16 << 20);
        var options = LinuxGuest.Options(new ConsoleCapture()) with { Disks = [new VirtDisk(disk)] };
        using (var guest = new LinuxGuest(options))
        {
            guest.Run("cat /sys/block/vda/size", "32768");
            guest.Run("mke2fs -q /dev/vda && echo made$((1+1))", "made2");
            guest.Run("mount /dev/vda /mnt && echo 'isomorph disk test' > /mnt/hello.txt && sync && echo synced$((1+1))", "synced2");
            var result = guest.End("reboot");
            Assert.Equal(VirtStop.Reset, result.Stop);
        }
        Assert.Contains("isomorph disk test", Encoding.ASCII.GetString(File.ReadAllBytes(disk)));

        // A reset is a fresh machine from the same files, as `isomorph boot` does.
        using (var guest = new LinuxGuest(options with { Console = new ConsoleCapture() }))
        {
            guest.Run("mount /dev/vda /mnt && cat /mnt/hello.txt", "isomorph disk test");
            guest.Run("rm /mnt/hello.txt && umount /mnt && echo gone$((1+1))", "gone2");
            var result = guest.End("poweroff");
            Assert.Equal(VirtStop.PowerOff, result.Stop);
        }
    }

    [Fact]
    public void ReadOnlyDisk_IsReadOnlyInTheGuest_AndUnchanged()
    {
        string disk = EmptyDisk("ro.img", 1 << 20);
        File.WriteAllBytes(disk, Enumerable.Repeat((byte)'Z', 1 << 20).ToArray());
        using var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Disks = [new VirtDisk(disk, ReadOnly: true)] });
        guest.Run("cat /sys/block/vda/ro", "1");
        guest.Run("dd if=/dev/vda bs=8 count=1 2>/dev/null; echo", "ZZZZZZZZ");
        guest.Run("echo x | dd of=/dev/vda 2>/dev/null || echo refused$((1+1))", "refused2");
        Assert.All(File.ReadAllBytes(disk), b => Assert.Equal((byte)'Z', b));
    }

    [Fact]
    public void Rng_FeedsHwrng()
    {
        using var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Rng = true });
        guest.Run("cat /sys/class/misc/hw_random/rng_current", "virtio_rng");
        guest.Run("dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n' | wc -c", "128");
        guest.Run("dd if=/dev/hwrng bs=64 count=4 2>/dev/null | od -An -tx1 | grep -cv '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'", "16");
    }

    [Fact]
    public void TwoVms_ExchangePacketsOverTheirNics()
    {
        string socket = Path.Combine(_temp.FullName, "net.sock");
        using var a = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Nics = [VirtNic.Socket(socket, [0x52, 0x54, 0, 0, 0, 1])] });
        using var b = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Nics = [VirtNic.Socket(socket, [0x52, 0x54, 0, 0, 0, 2])] });
        a.Run("ifconfig eth0 10.0.2.1 netmask 255.255.255.0 up && cat /sys/class/net/eth0/address", "52:54:00:00:00:01");
        b.Run("ifconfig eth0 10.0.2.2 netmask 255.255.255.0 up && cat /sys/class/net/eth0/address", "52:54:00:00:00:02");
        a.Run("ping -c 3 10.0.2.2", "3 packets received");
        b.Run("nc -l -p 5000 > /tmp/got & sleep 1; echo listening$((1+1))", "listening2");
        a.Run("echo 'over the wire' | nc -w 2 10.0.2.2 5000; echo sent$((1+1))", "sent2");
        b.Run("sleep 1; cat /tmp/got", "over the wire");
    }

    [Fact]
    public void VirtioConsole_CarriesHvc1BothWays()
    {
        var hvc = new ConsoleCapture();
        using var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { VirtioConsole = hvc });
        guest.Run("echo from-hvc$((1+1)) > /dev/hvc1; echo wrote$((1+1))", "wrote2");
        Assert.True(hvc.WaitFor("from-hvc2", CommandTimeout) >= 0, "nothing on hvc1:\n" + hvc.Text);
        guest.Run("stty -F /dev/hvc1 -echo; (head -n 1 /dev/hvc1 > /tmp/in &); sleep 1; echo reading$((1+1))", "reading2");
        Assert.True(guest.Machine.SendVirtioConsoleInput("typed on hvc1\n"u8));
        guest.Run("sleep 1; cat /tmp/in", "typed on hvc1");
    }

    [TapFact]
    public void TapNic_ReachesTheHost_WhereTheHostAllowsTap()
    {
        string tap = $"isot{Random.Shared.Next(0x100000):x5}";
        var guest = new LinuxGuest(LinuxGuest.Options(new ConsoleCapture()) with { Nics = [VirtNic.Tap(tap)] });
        using (guest)
        {
            foreach (var args in new[] { new[] { "addr", "add", "10.0.4.1/24", "dev", tap }, ["link", "set", tap, "up"] })
            {
                var r = Repository.Run("ip", args, TimeSpan.FromSeconds(10));
                Assert.True(r.ExitCode == 0, $"ip {string.Join(' ', args)}: {r.Stderr}");
            }
            guest.Run("ifconfig eth0 10.0.4.2 netmask 255.255.255.0 up && ping -c 2 10.0.4.1", "2 packets received");
        }
    }
}

/// <summary>A test that needs a TAP device: skipped, visibly, where the host cannot create one (no /dev/net/tun, or not privileged).</summary>
public sealed class TapFactAttribute : FactAttribute
{
    public TapFactAttribute()
    {
        if (!File.Exists("/dev/net/tun") || !Environment.IsPrivilegedProcess)
            Skip = "the host cannot create TAP devices here (needs /dev/net/tun and CAP_NET_ADMIN)";
    }
}
