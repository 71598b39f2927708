using System.Buffers.Binary;
using System.IO.Hashing;
using CsCheck;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The snapshot reader (<see cref="SnapshotFileReader"/>, the components' restore, <see cref="RamImage"/>)
/// on damaged snapshots of a small machine, with the checksum made valid again so the damage
/// reaches the sections, as a buggy or hostile writer could: section lengths at the edges, names
/// and payload bytes changed, sections dropped or repeated, the file cut anywhere. Each is a clean
/// rejection (<see cref="SnapshotException"/> or <see cref="MachineConfigurationException"/>, one
/// line) or a restored machine; <c>isomorph boot --restore</c> prints that line with status 2.
/// ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED control the run (<see cref="Fuzz"/>).
/// </summary>
public sealed class SnapshotFuzzTests() : CliTest("isomorph-snapshot-fuzz")
{
    private sealed record Damage(string Description, Func<byte[], byte[]> Apply)
    {
        public override string ToString() => Description;
    }

    private byte[] SmallSnapshot()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("fuzzed\n"));
        string disk = Path.Combine(Temp.FullName, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        string path = Path.Combine(Temp.FullName, "small.snap");
        using (var machine = new VirtMachine(new VirtOptions { Kernel = kernel, MemorySize = 32 << 20, Disks = [new VirtDisk(disk)] }))
            machine.SaveSnapshot(path);
        return File.ReadAllBytes(path);
    }

    private static Gen<Damage[]> Damages(byte[] good)
    {
        var sections = SnapshotFiles.Sections(good);
        int body = good.Length - SnapshotFormat.ChecksumSize;
        var interestingLength = Gen.OneOf(0L, 1L, 7L, 8L, -1L, long.MaxValue, long.MinValue, int.MaxValue, (long)int.MaxValue + 1,
            SnapshotFormat.MaxComponentSection, SnapshotFormat.MaxComponentSection + 1L, good.Length);
        var length = Gen.Select(Gen.Int[0, sections.Count - 1], Gen.Frequency((3, interestingLength), (1, Gen.Long)), (i, value) =>
            new Damage($"section {sections[i].Name} length = {value}",
                b => Set64(b, (int)sections[i].PayloadOffset - 8, (ulong)value)));
        var nameLength = Gen.Select(Gen.Int[0, sections.Count - 1], Gen.Byte, (i, value) =>
            new Damage($"section {sections[i].Name} name length = {value}", b => { b[sections[i].Offset] = value; return b; }));
        // Payload bytes, mostly within the small sections before RAM where every field matters.
        var small = sections.Where(s => s.Length > 0 && s.Name != RamImage.SectionName).ToList();
        var payloadByte = Gen.Select(Gen.Int[0, small.Count - 1], Gen.Int[0, int.MaxValue], Gen.Byte, (i, at, value) =>
            new Damage($"section {small[i].Name} byte {at % small[i].Length} = 0x{value:x2}",
                b => { b[small[i].PayloadOffset + at % small[i].Length] = value; return b; }));
        var payloadWord = Gen.Select(Gen.Int[0, small.Count - 1], Gen.Int[0, int.MaxValue], Gen.OneOf(0u, 1u, 0xFFu, 0x7FFF_FFFFu, 0x8000_0000u, uint.MaxValue), (i, at, value) =>
            new Damage($"section {small[i].Name} word at {at % Math.Max(1, small[i].Length - 3)} = 0x{value:x}",
                b => Set32(b, (int)(small[i].PayloadOffset + at % Math.Max(1, small[i].Length - 3)), value)));
        var anyByte = Gen.Select(Gen.Int[SnapshotFormat.HeaderSize, body - 1], Gen.Byte, (at, value) =>
            new Damage($"byte {at} = 0x{value:x2}", b => { b[at] = value; return b; }));
        var cut = Gen.Int[SnapshotFormat.HeaderSize, body - 1].Select(n => new Damage($"cut to {n} bytes", b => b[..n]));
        var cutAtSection = Gen.Select(Gen.Int[0, sections.Count - 1], Gen.Int[-9, 9], (i, delta) =>
            new Damage($"cut at section {sections[i].Name} {delta:+0;-0}", b => b[..(int)Math.Clamp(sections[i].Offset + delta, SnapshotFormat.HeaderSize, body)]));
        var drop = Gen.Int[0, sections.Count - 1].Select(i => new Damage($"drop section {sections[i].Name}",
            b => [.. b.AsSpan(0, (int)sections[i].Offset), .. b.AsSpan((int)(sections[i].PayloadOffset + sections[i].Length))]));
        var repeat = Gen.Int[0, sections.Count - 1].Select(i => new Damage($"repeat section {sections[i].Name}", b =>
        {
            var whole = b.AsSpan((int)sections[i].Offset, (int)(sections[i].PayloadOffset + sections[i].Length - sections[i].Offset));
            return [.. b.AsSpan(0, (int)sections[i].Offset), .. whole, .. b.AsSpan((int)sections[i].Offset)];
        }));
        // One damage a case: the offsets come from the good file's layout.
        return Gen.Frequency((3, length), (1, nameLength), (4, payloadByte), (3, payloadWord), (1, anyByte), (1, cut), (1, cutAtSection),
            (1, drop), (1, repeat)).Array[1, 1];
    }

    /// <summary>The damaged file, its checksum made valid again (when it still has room for one).</summary>
    private static byte[] Apply(byte[] good, Damage[] damages)
    {
        var bytes = good[..^SnapshotFormat.ChecksumSize];
        foreach (var d in damages) bytes = d.Apply(bytes);
        var sum = new byte[SnapshotFormat.ChecksumSize];
        BinaryPrimitives.WriteUInt64LittleEndian(sum, XxHash3.HashToUInt64(bytes));
        return [.. bytes, .. sum];
    }

    [Fact]
    public void DamagedSnapshotsAreRefusedInOneLineOrRestored()
    {
        var good = SmallSnapshot();
        string path = Path.Combine(Temp.FullName, "damaged.snap");
        Fuzz.Check(Damages(good), damages =>
        {
            File.WriteAllBytes(path, Apply(good, damages));
            try
            {
                using var machine = VirtMachine.Restore(path, new MachineRestoreOptions());
            }
            catch (Exception e) when (e is SnapshotException or MachineConfigurationException)
            {
                Assert.DoesNotContain('\n', e.Message);
            }
        }, defaultIterations: 150, describe: d => string.Join("; ", d.Select(x => x.Description)));
    }

    /// <summary>
    /// Found by the test above (CsCheck seed fTZ6OhpXrpv3): a damaged byte turned the disk path a
    /// snapshot records into one holding a newline, and the refusal naming it took two lines.
    /// </summary>
    [Fact]
    public void RefusalsNamingDamagedPathsStayOnOneLine()
    {
        Assert.Equal("disk /tmp/d\\nsk.img: no such file", new MachineConfigurationException("disk /tmp/d\nsk.img: no such file").Message);
        Assert.Equal("bad \\x01 byte\\t", new SnapshotException("bad \u0001 byte\t").Message);
    }

    /// <summary>A few damaged snapshots through the command: one line on stderr, status 2.</summary>
    [Fact]
    public void BootRestoreRefusesDamagedSnapshotsInOneLine()
    {
        var good = SmallSnapshot();
        var sections = SnapshotFiles.Sections(good);
        var hart = sections.First(s => s.Name == "hart0");
        var ram = sections.Last(s => s.Name == RamImage.SectionName);
        var cases = new (string Name, Damage Damage, string Fragment)[]
        {
            ("length-max", new("hart0 length = 2^63-1", b => Set64(b, (int)hart.PayloadOffset - 8, long.MaxValue)), "too large"),
            ("length-negative", new("hart0 length = -1", b => Set64(b, (int)hart.PayloadOffset - 8, ulong.MaxValue)), "too large"),
            ("cut-in-ram", new("cut inside RAM", b => b[..(int)(ram.PayloadOffset + 20)]), "isomorph: "),
            ("ram-dropped", new("drop RAM", b => b[..(int)ram.Offset]), "section 'ram' is missing"),
            ("hart-repeated", new("repeat hart0", b => [.. b.AsSpan(0, (int)hart.Offset),
                .. b.AsSpan((int)hart.Offset, (int)(hart.PayloadOffset + hart.Length - hart.Offset)), .. b.AsSpan((int)hart.Offset)]), "expected section"),
        };
        foreach (var (name, damage, fragment) in cases)
            AssertBadInput(Repository.Isomorph("boot", "--restore", TempFile(name + ".snap", Apply(good, [damage]))), fragment);
    }

    private static byte[] Set32(byte[] b, int at, uint v) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v); return b; }
    private static byte[] Set64(byte[] b, int at, ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v); return b; }
}
