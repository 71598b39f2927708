using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Devices.Fdt;

/// <summary>
/// Writes a flattened device tree blob (devicetree specification v0.4, format version 17): a
/// header, an empty memory reservation map, the structure block and the strings block. Build the
/// tree with <see cref="BeginNode"/>, properties and <see cref="EndNode"/>, then call
/// <see cref="Finish"/>. Phandles are allocated with <see cref="AllocatePhandle"/>.
/// </summary>
public sealed class FdtWriter
{
    public const uint Magic = 0xD00DFEED;
    private const uint BeginNodeToken = 1, EndNodeToken = 2, PropToken = 3, EndToken = 9;
    private const int HeaderSize = 40;

    private readonly MemoryStream _structure = new();
    private readonly MemoryStream _strings = new();
    private readonly Dictionary<string, int> _stringOffsets = [];
    private int _depth;
    private uint _nextPhandle = 1;

    /// <summary>The physical id of the boot CPU, recorded in the header.</summary>
    public uint BootCpuId { get; set; }

    public uint AllocatePhandle() => _nextPhandle++;

    /// <summary>Opens a node; the root node's name is the empty string.</summary>
    public FdtWriter BeginNode(string name)
    {
        Token(BeginNodeToken);
        var bytes = Encoding.ASCII.GetBytes(name);
        _structure.Write(bytes);
        _structure.WriteByte(0);
        Align();
        _depth++;
        return this;
    }

    public FdtWriter EndNode()
    {
        if (_depth == 0) throw new InvalidOperationException("EndNode without BeginNode");
        Token(EndNodeToken);
        _depth--;
        return this;
    }

    public FdtWriter Property(string name, ReadOnlySpan<byte> value)
    {
        if (_depth == 0) throw new InvalidOperationException("a property must be inside a node");
        Token(PropToken);
        Word((uint)value.Length);
        Word((uint)StringOffset(name));
        _structure.Write(value);
        Align();
        return this;
    }

    /// <summary>An empty (boolean) property such as <c>interrupt-controller</c>.</summary>
    public FdtWriter Property(string name) => Property(name, ReadOnlySpan<byte>.Empty);

    /// <summary>A string property, or a string list when several strings are given.</summary>
    public FdtWriter Property(string name, params string[] values)
    {
        var bytes = new MemoryStream();
        foreach (var v in values)
        {
            bytes.Write(Encoding.UTF8.GetBytes(v));
            bytes.WriteByte(0);
        }
        return Property(name, bytes.ToArray());
    }

    /// <summary>A property of big-endian 32-bit cells.</summary>
    public FdtWriter Cells(string name, params uint[] cells)
    {
        var bytes = new byte[cells.Length * 4];
        for (int i = 0; i < cells.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), cells[i]);
        return Property(name, bytes);
    }

    /// <summary>A property of big-endian 64-bit values (each two cells).</summary>
    public FdtWriter Cells64(string name, params ulong[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), values[i]);
        return Property(name, bytes);
    }

    /// <summary>The finished blob. Every node must be closed.</summary>
    public byte[] Finish()
    {
        if (_depth != 0) throw new InvalidOperationException($"{_depth} node(s) left open");
        var structure = new MemoryStream();
        structure.Write(_structure.GetBuffer(), 0, (int)_structure.Length);
        Span<byte> end = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(end, EndToken);
        structure.Write(end);

        const int reserveMapOffset = HeaderSize; // 8-aligned
        const int reserveMapSize = 16;           // the terminating empty entry
        int structOffset = reserveMapOffset + reserveMapSize;
        int stringsOffset = structOffset + (int)structure.Length;
        int total = stringsOffset + (int)_strings.Length;
        var blob = new byte[(total + 7) & ~7];
        void Put(int at, uint v) => BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(at), v);
        Put(0, Magic);
        Put(4, (uint)blob.Length);
        Put(8, (uint)structOffset);
        Put(12, (uint)stringsOffset);
        Put(16, reserveMapOffset);
        Put(20, 17); // version
        Put(24, 16); // last compatible version
        Put(28, BootCpuId);
        Put(32, (uint)_strings.Length);
        Put(36, (uint)structure.Length);
        structure.GetBuffer().AsSpan(0, (int)structure.Length).CopyTo(blob.AsSpan(structOffset));
        _strings.GetBuffer().AsSpan(0, (int)_strings.Length).CopyTo(blob.AsSpan(stringsOffset));
        return blob;
    }

    private int StringOffset(string name)
    {
        if (_stringOffsets.TryGetValue(name, out int offset)) return offset;
        offset = (int)_strings.Length;
        _strings.Write(Encoding.ASCII.GetBytes(name));
        _strings.WriteByte(0);
        _stringOffsets[name] = offset;
        return offset;
    }

    private void Token(uint token) => Word(token);

    private void Word(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        _structure.Write(b);
    }

    private void Align()
    {
        while ((_structure.Length & 3) != 0) _structure.WriteByte(0);
    }
}
