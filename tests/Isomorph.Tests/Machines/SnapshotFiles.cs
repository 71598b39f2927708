using System.Buffers.Binary;
using System.Text;
using Isomorph.Machines.Snapshot;

namespace Isomorph.Tests.Machines;

/// <summary>Reads a snapshot file's sections by name, to compare two snapshots or damage one on purpose.</summary>
internal static class SnapshotFiles
{
    public sealed record Section(string Name, long Offset, long PayloadOffset, long Length);

    public static List<Section> Sections(byte[] file)
    {
        var sections = new List<Section>();
        long at = SnapshotFormat.HeaderSize, end = file.Length - SnapshotFormat.ChecksumSize;
        while (at < end)
        {
            int n = file[at];
            string name = Encoding.ASCII.GetString(file, (int)at + 1, n);
            long length = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)at + 1 + n));
            sections.Add(new Section(name, at, at + 1 + n + 8, length));
            at += 1 + n + 8 + length;
        }
        return sections;
    }

    /// <summary>Asserts two snapshots are byte for byte the same, naming the first section that differs.</summary>
    public static void AssertSame(string expectedPath, string actualPath)
    {
        byte[] expected = File.ReadAllBytes(expectedPath), actual = File.ReadAllBytes(actualPath);
        if (expected.AsSpan().SequenceEqual(actual)) return;
        var a = Sections(expected);
        var b = Sections(actual);
        for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var x = expected.AsSpan((int)a[i].Offset, (int)(a[i].PayloadOffset - a[i].Offset + a[i].Length));
            var y = actual.AsSpan((int)b[i].Offset, (int)(b[i].PayloadOffset - b[i].Offset + b[i].Length));
            if (!x.SequenceEqual(y))
            {
                int at = x.CommonPrefixLength(y);
                Assert.Fail($"section '{a[i].Name}' differs from '{b[i].Name}' at byte {at - (a[i].PayloadOffset - a[i].Offset)} of its payload " +
                    $"({a[i].Length} and {b[i].Length} bytes)");
            }
        }
        Assert.Fail($"{a.Count} and {b.Count} sections, {expected.Length} and {actual.Length} bytes");
    }
}
