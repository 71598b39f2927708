using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Devices.State;

/// <summary>
/// Collects one component's state as little-endian fields in a growable buffer. The layout is the
/// order of the calls; the reader reads the same fields in the same order.
/// </summary>
public sealed class SnapshotWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;

    /// <summary>What was written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void Clear() => _length = 0;

    private Span<byte> Grow(int size)
    {
        if (_length + size > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + size));
        var span = _buffer.AsSpan(_length, size);
        _length += size;
        return span;
    }

    public void WriteByte(byte value) => Grow(1)[0] = value;
    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);
    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Grow(2), value);
    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Grow(4), value);
    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Grow(4), value);
    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Grow(8), value);
    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Grow(8), value);

    /// <summary>A length (32 bits) and the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteInt32(bytes.Length);
        bytes.CopyTo(Grow(bytes.Length));
    }

    /// <summary>UTF-8 with a length; null is written as length -1.</summary>
    public void WriteString(string? text)
    {
        if (text is null)
        {
            WriteInt32(-1);
            return;
        }
        WriteBytes(Encoding.UTF8.GetBytes(text));
    }

    public void WriteUInt32s(ReadOnlySpan<uint> values)
    {
        WriteInt32(values.Length);
        foreach (uint v in values) WriteUInt32(v);
    }

    public void WriteUInt64s(ReadOnlySpan<ulong> values)
    {
        WriteInt32(values.Length);
        foreach (ulong v in values) WriteUInt64(v);
    }

    public void WriteBools(ReadOnlySpan<bool> values)
    {
        WriteInt32(values.Length);
        foreach (bool v in values) WriteBool(v);
    }
}
