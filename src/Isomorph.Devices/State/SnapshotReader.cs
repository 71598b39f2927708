using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Devices.State;

/// <summary>
/// Reads one component's state, field by field, as <see cref="SnapshotWriter"/> wrote it. Running
/// past the end, a length beyond what is left, or a value out of range throws a
/// <see cref="SnapshotException"/> that names the section; nothing a hostile file holds makes it
/// allocate more than the section's own size.
/// </summary>
public sealed class SnapshotReader(string section, ReadOnlyMemory<byte> data)
{
    private int _position;

    /// <summary>The section's name (a component: "hart0", "plic").</summary>
    public string Section { get; } = section;

    public int Remaining => data.Length - _position;

    private ReadOnlySpan<byte> Take(int size)
    {
        if (size < 0 || size > Remaining) throw Error($"truncated ({Remaining} bytes left, {size} needed)");
        var span = data.Span.Slice(_position, size);
        _position += size;
        return span;
    }

    /// <summary>An error in this section, for the user.</summary>
    public SnapshotException Error(string message) => new($"section '{Section}': {message}");

    public byte ReadByte() => Take(1)[0];

    public bool ReadBool() => ReadByte() switch
    {
        0 => false,
        1 => true,
        var b => throw Error($"0x{b:x2} is not a boolean"),
    };

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>A count written before a list, checked against the most the reader accepts.</summary>
    public int ReadCount(int max, string what)
    {
        int n = ReadInt32();
        if (n < 0 || n > max) throw Error($"{n} {what} (at most {max})");
        return n;
    }

    /// <summary>A list's count that must equal what this component has.</summary>
    public void ExpectCount(int expected, string what)
    {
        int n = ReadInt32();
        if (n != expected) throw Error($"{n} {what} saved, this machine has {expected}");
    }

    public byte[] ReadBytes(int max = int.MaxValue) => Take(ReadCount(Math.Min(max, Remaining), "bytes")).ToArray();

    public string? ReadString()
    {
        int n = ReadInt32();
        if (n == -1) return null;
        if (n < 0 || n > Remaining) throw Error($"a string of {n} bytes with {Remaining} left");
        return Encoding.UTF8.GetString(Take(n));
    }

    public void ReadUInt32s(Span<uint> into, string what)
    {
        ExpectCount(into.Length, what);
        for (int i = 0; i < into.Length; i++) into[i] = ReadUInt32();
    }

    public void ReadUInt64s(Span<ulong> into, string what)
    {
        ExpectCount(into.Length, what);
        for (int i = 0; i < into.Length; i++) into[i] = ReadUInt64();
    }

    public void ReadBools(Span<bool> into, string what)
    {
        ExpectCount(into.Length, what);
        for (int i = 0; i < into.Length; i++) into[i] = ReadBool();
    }

    /// <summary>Checks that the component read everything its section holds.</summary>
    public void ExpectEnd()
    {
        if (Remaining != 0) throw Error($"{Remaining} bytes left over: saved by a different version of the component");
    }
}
