using System.Buffers.Binary;
using System.IO.Hashing;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// <c>isomorph boot --restore FILE</c> as a user runs it, on a small machine (OpenSBI and an
/// S-mode payload): a snapshot resumes; a missing, damaged or incompatible one is one line and
/// status 2; a failed save never damages the snapshot already at the path.
/// </summary>
public sealed class BootRestoreTests() : CliTest("isomorph-restore")
{
    /// <summary>A machine with OpenSBI, a payload that prints and powers off, and a 1 MiB disk; not run yet.</summary>
    private VirtMachine SmallMachine(string message = "restored payload says hi\n", string disk = "disk.img")
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload(message));
        string image = Path.Combine(Temp.FullName, disk);
        if (!File.Exists(image)) File.WriteAllBytes(image, new byte[1 << 20]);
        return new VirtMachine(new VirtOptions { Kernel = kernel, MemorySize = 32 << 20, Disks = [new VirtDisk(image)] });
    }

    private string SmallSnapshot(string name = "small.snap")
    {
        string path = Path.Combine(Temp.FullName, name);
        using var machine = SmallMachine();
        machine.SaveSnapshot(path);
        return path;
    }

    /// <summary>Writes <paramref name="bytes"/> with a checksum made valid again, as a hostile or buggy writer could.</summary>
    private static byte[] WithValidChecksum(byte[] bytes)
    {
        var copy = bytes.ToArray();
        var body = copy.AsSpan(0, copy.Length - SnapshotFormat.ChecksumSize);
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(body.Length), XxHash3.HashToUInt64(body));
        return copy;
    }

    [Fact]
    public void Restore_ResumesTheSavedMachine_WithoutItsKernelFile()
    {
        string snapshot = SmallSnapshot();
        File.Delete(Path.Combine(Temp.FullName, "payload.bin")); // the snapshot holds RAM: the kernel file is not needed
        var r = Repository.Isomorph("boot", "--restore", snapshot);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("OpenSBI v", r.Stdout);
        Assert.EndsWith("restored payload says hi\r\n", r.Stdout);
    }

    /// <summary>
    /// The size of each component's state in format version <see cref="SnapshotFormat.Version"/>, for
    /// a 1-hart machine with one disk. A change to what a component saves changes the file format:
    /// bump the version (older files are then refused with a clear line) and update this table.
    /// </summary>
    private static readonly Dictionary<string, long> ComponentSizes = new()
    {
        ["hart0"] = 1167, ["clint"] = 28, ["plic"] = 742, ["uart"] = 13, ["rtc"] = 31, ["virtio0"] = 143,
    };

    [Fact]
    public void ComponentLayouts_ArePinnedToTheFormatVersion()
    {
        Assert.Equal(2u, SnapshotFormat.Version);
        var sections = SnapshotFiles.Sections(File.ReadAllBytes(SmallSnapshot()));
        Assert.Equal(["machine", "hart0", "clint", "plic", "uart", "rtc", "virtio0", "ram"], sections.Select(s => s.Name));
        var actual = sections.Where(s => ComponentSizes.ContainsKey(s.Name)).ToDictionary(s => s.Name, s => s.Length);
        Assert.True(ComponentSizes.All(kv => actual[kv.Key] == kv.Value),
            $"component states of {string.Join(", ", actual.Select(kv => $"{kv.Key} {kv.Value}"))} bytes differ from format version " +
            $"{SnapshotFormat.Version}'s: bump SnapshotFormat.Version and update this table");
    }

    [Fact]
    public void BadSnapshots_AreOneLineAndStatusTwo()
    {
        string good = SmallSnapshot();
        byte[] bytes = File.ReadAllBytes(good);
        string Variant(string name, byte[] contents) => TempFile(name, contents);

        AssertBadInput(Repository.Isomorph("boot", "--restore", Path.Combine(Temp.FullName, "missing.snap")), "no such snapshot file");
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("empty.snap", [])), "not an Isomorph snapshot");
        AssertBadInput(Repository.Isomorph("boot", "--restore", Temp.FullName), "a directory, not a snapshot");
        string fifo = Path.Combine(Temp.FullName, "fifo.snap");
        Assert.Equal(0, Repository.Run("mkfifo", [fifo], TimeSpan.FromSeconds(10)).ExitCode);
        AssertBadInput(Repository.Isomorph("boot", "--restore", fifo), "fifo.snap: a FIFO, not a snapshot"); // refused, not read (which would wait for a writer)
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("truncated.snap", bytes[..(bytes.Length / 2)])), "checksum mismatch");
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("short.snap", bytes[..12])), "truncated snapshot");
        var flipped = bytes.ToArray();
        flipped[bytes.Length / 3] ^= 0x10;
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("flipped.snap", flipped)), "checksum mismatch");
        var magic = bytes.ToArray();
        magic[0] = (byte)'X';
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("magic.snap", magic)), "not an Isomorph snapshot");
        var future = bytes.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), SnapshotFormat.Version + 1);
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("future.snap", WithValidChecksum(future))), $"format version {SnapshotFormat.Version + 1}");

        // A well-formed file whose sections do not match its machine (hart0 renamed).
        var sections = SnapshotFiles.Sections(bytes);
        var hart = sections.Single(s => s.Name == "hart0");
        var renamed = bytes.ToArray();
        renamed[hart.Offset + 1 + 4] = (byte)'9';
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("renamed.snap", WithValidChecksum(renamed))), "expected section 'hart0', found 'hart9'");

        AssertBadInput(Repository.Isomorph("boot", "--restore", good, "--memory", "64M"), "--memory cannot be given with --restore");

        // A disk path with a NUL in it (same length, valid checksum): refused, never handed to the host.
        var machine = sections.Single(s => s.Name == "machine");
        var nul = bytes.ToArray();
        int diskName = nul.AsSpan((int)machine.PayloadOffset, (int)machine.Length).IndexOf("disk.img"u8);
        Assert.True(diskName > 0);
        nul[machine.PayloadOffset + diskName + 3] = 0;
        AssertBadInput(Repository.Isomorph("boot", "--restore", Variant("nul.snap", WithValidChecksum(nul))), "is not an absolute path");

        // The disk image grew: the guest's driver would see another disk.
        string disk = Path.Combine(Temp.FullName, "disk.img");
        File.WriteAllBytes(disk, new byte[2 << 20]);
        AssertBadInput(Repository.Isomorph("boot", "--restore", good), "configuration differs");
        File.Delete(disk);
        AssertBadInput(Repository.Isomorph("boot", "--restore", good), "cannot open the disk image");
        Assert.Equal(bytes, File.ReadAllBytes(good)); // nothing overwritten
    }

    [Fact]
    public void FailedSave_NeverDamagesTheSnapshotAlreadyThere()
    {
        string path = SmallSnapshot("target.snap");
        byte[] before = File.ReadAllBytes(path);
        using var other = SmallMachine("another payload\n", "other.img");
        string probe = Path.Combine(Temp.FullName, "probe.snap");
        other.SaveSnapshot(probe);
        long size = new FileInfo(probe).Length;
        File.Delete(probe);
        foreach (long failAfter in new long[] { 0, 16, 100, 2000, size / 2, size - SnapshotFormat.ChecksumSize - 1 })
        {
            var e = Assert.Throws<SnapshotException>(() => other.SaveSnapshot(path, failAfter));
            Assert.Contains("No space left on device", e.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
        }
        Assert.Equal(["disk.img", "other.img", "payload.bin", "target.snap"], Temp.GetFiles().Select(f => f.Name).Order()); // no temporary files left

        var missingDirectory = Assert.Throws<SnapshotException>(() => other.SaveSnapshot(Path.Combine(Temp.FullName, "no", "such.snap")));
        Assert.DoesNotContain('\n', missingDirectory.Message);
        Directory.CreateDirectory(Path.Combine(Temp.FullName, "dir.snap"));
        Assert.Throws<SnapshotException>(() => other.SaveSnapshot(Path.Combine(Temp.FullName, "dir.snap"))); // the rename fails
        Assert.Empty(Temp.GetFiles(".*.tmp"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(Temp.FullName, "dir.snap")));

        other.SaveSnapshot(path); // a save that succeeds replaces the file whole
        Assert.NotEqual(before, File.ReadAllBytes(path));
        using (SnapshotFileReader.Open(path)) { } // whole, with a valid checksum
    }

    [Fact]
    public void MutatedSnapshots_WithValidChecksums_NeverCrashTheHost()
    {
        string good = SmallSnapshot();
        byte[] bytes = File.ReadAllBytes(good);
        var random = new Random(2024);
        string path = Path.Combine(Temp.FullName, "mutated.snap");
        int refused = 0;
        for (int i = 0; i < 300; i++)
        {
            var m = bytes.ToArray();
            // Mostly the small sections before RAM, where every field matters.
            int span = random.Next(4) == 0 ? m.Length - SnapshotFormat.ChecksumSize : Math.Min(4096, m.Length - SnapshotFormat.ChecksumSize);
            for (int k = random.Next(1, 4); k > 0; k--) m[random.Next(span)] = (byte)random.Next(256);
            if (random.Next(8) == 0) m = m[..random.Next(SnapshotFormat.HeaderSize, m.Length)];
            File.WriteAllBytes(path, m.Length > SnapshotFormat.HeaderSize + SnapshotFormat.ChecksumSize ? WithValidChecksum(m) : m);
            try
            {
                using var machine = VirtMachine.Restore(path, new MachineRestoreOptions());
            }
            catch (Exception e) when (e is SnapshotException or MachineConfigurationException)
            {
                Assert.DoesNotContain('\n', e.Message);
                refused++;
            }
        }
        Assert.True(refused > 100, $"only {refused} of 300 mutated snapshots were refused");
    }
}
