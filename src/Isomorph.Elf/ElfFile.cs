using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Elf;

/// <summary>A file that is not a loadable 64-bit little-endian RISC-V ELF, with a one-line reason.</summary>
public sealed class ElfFormatException(string message) : Exception(message);

public enum ElfType : ushort { None = 0, Relocatable = 1, Executable = 2, SharedObject = 3, Core = 4 }

/// <summary>A program header (segment).</summary>
public readonly record struct ElfSegment(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong PhysicalAddress, ulong FileSize, ulong MemorySize, ulong Align)
{
    public const uint Load = 1, Dynamic = 2, Interpreter = 3, Note = 4, ProgramHeaders = 6, Tls = 7;
    public const uint GnuStack = 0x6474E551, GnuRelro = 0x6474E552;
    public const uint Execute = 1, Write = 2, Read = 4;
}

/// <summary>A symbol from the symbol table.</summary>
public readonly record struct ElfSymbol(string Name, ulong Value, ulong Size);

/// <summary>
/// An ELF64 file for RISC-V, read and validated: header, segments and symbols. Anything malformed
/// — wrong magic, class, byte order or machine, a truncated file, headers or segments outside the
/// file — is an <see cref="ElfFormatException"/> with a message fit for one line on stderr.
/// </summary>
public sealed class ElfFile
{
    public const ushort MachineRiscv = 0xF3;

    private readonly byte[] _data;

    public string Path { get; }
    public ElfType Type { get; }
    public ulong Entry { get; }
    public uint Flags { get; }
    public IReadOnlyList<ElfSegment> Segments { get; }
    public IReadOnlyDictionary<string, ElfSymbol> Symbols { get; }
    public ReadOnlyMemory<byte> Data => _data;

    private ElfFile(string path, byte[] data)
    {
        Path = path;
        _data = data;
        if (data.Length < 4 || data[0] != 0x7F || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw new ElfFormatException($"{path}: not an ELF file");
        if (data.Length < 64) throw new ElfFormatException($"{path}: truncated ELF file ({data.Length} bytes)");
        if (data[5] != 1) throw new ElfFormatException($"{path}: not a little-endian ELF file");
        ushort machine = U16(18);
        if (machine != MachineRiscv)
            throw new ElfFormatException($"{path}: not a RISC-V program: ELF machine {MachineName(machine)}");
        if (data[4] != 2)
            throw new ElfFormatException($"{path}: not a 64-bit RISC-V program: ELF class {(data[4] == 1 ? "32 (RV32)" : data[4].ToString())}; Isomorph runs RV64");
        Type = (ElfType)U16(16);
        if (Type is not (ElfType.Executable or ElfType.SharedObject))
            throw new ElfFormatException($"{path}: not an executable ELF file (type {U16(16)})");
        Entry = U64(24);
        Flags = U32(48);
        Segments = ReadSegments(U64(32), U16(54), U16(56));
        Symbols = ReadSymbols(U64(40), U16(58), U16(60));
    }

    /// <summary>Reads and validates an ELF file.</summary>
    public static ElfFile Load(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElfFormatException($"{path}: {e.Message}");
        }
        return new ElfFile(path, data);
    }

    public static ElfFile Parse(string name, byte[] data) => new(name, data);

    /// <summary>The bytes of a segment present in the file.</summary>
    public ReadOnlySpan<byte> SegmentBytes(in ElfSegment s) => _data.AsSpan((int)s.Offset, (int)s.FileSize);

    public bool TryGetSymbol(string name, out ElfSymbol symbol) => Symbols.TryGetValue(name, out symbol);

    private ushort U16(ulong at) => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan((int)at));
    private uint U32(ulong at) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan((int)at));
    private ulong U64(ulong at) => BinaryPrimitives.ReadUInt64LittleEndian(_data.AsSpan((int)at));

    private bool InFile(ulong offset, ulong length) => offset <= (ulong)_data.Length && length <= (ulong)_data.Length - offset;

    private List<ElfSegment> ReadSegments(ulong offset, ushort entrySize, ushort count)
    {
        var list = new List<ElfSegment>();
        if (count == 0) return list;
        if (entrySize < 56 || !InFile(offset, (ulong)entrySize * count))
            throw new ElfFormatException($"{Path}: truncated ELF file (program headers beyond its end)");
        for (int i = 0; i < count; i++)
        {
            ulong p = offset + (ulong)(i * entrySize);
            var s = new ElfSegment(U32(p), U32(p + 4), U64(p + 8), U64(p + 16), U64(p + 24), U64(p + 32), U64(p + 40), U64(p + 48));
            if (s.Type == ElfSegment.Load || s.Type == ElfSegment.Interpreter)
            {
                if (!InFile(s.Offset, s.FileSize))
                    throw new ElfFormatException($"{Path}: truncated ELF file (segment {i} extends beyond its end)");
                if (s.FileSize > s.MemorySize)
                    throw new ElfFormatException($"{Path}: malformed ELF file (segment {i} is larger in the file than in memory)");
            }
            list.Add(s);
        }
        return list;
    }

    private Dictionary<string, ElfSymbol> ReadSymbols(ulong offset, ushort entrySize, ushort count)
    {
        var symbols = new Dictionary<string, ElfSymbol>();
        if (count == 0 || offset == 0) return symbols;
        if (entrySize < 64 || !InFile(offset, (ulong)entrySize * count))
            throw new ElfFormatException($"{Path}: truncated ELF file (section headers beyond its end)");
        for (int i = 0; i < count; i++)
        {
            ulong sh = offset + (ulong)(i * entrySize);
            if (U32(sh + 4) != 2) continue; // SHT_SYMTAB
            ulong symOffset = U64(sh + 24), symSize = U64(sh + 32), symEntry = U64(sh + 56);
            uint link = U32(sh + 40);
            if (symEntry < 24 || link >= count || !InFile(symOffset, symSize))
                throw new ElfFormatException($"{Path}: malformed ELF file (bad symbol table)");
            ulong strSh = offset + (ulong)(link * entrySize);
            ulong strOffset = U64(strSh + 24), strSize = U64(strSh + 32);
            if (!InFile(strOffset, strSize)) throw new ElfFormatException($"{Path}: truncated ELF file (string table beyond its end)");
            for (ulong s = symOffset; s + symEntry <= symOffset + symSize; s += symEntry)
            {
                uint nameAt = U32(s);
                if (nameAt == 0 || nameAt >= strSize) continue;
                var span = _data.AsSpan((int)(strOffset + nameAt), (int)(strSize - nameAt));
                int end = span.IndexOf((byte)0);
                string name = Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
                symbols.TryAdd(name, new ElfSymbol(name, U64(s + 8), U64(s + 16)));
            }
        }
        return symbols;
    }

    private static string MachineName(ushort machine) => machine switch
    {
        0x03 => "x86",
        0x08 => "MIPS",
        0x14 => "PowerPC",
        0x15 => "PowerPC64",
        0x16 => "s390",
        0x28 => "ARM",
        0x2B => "SPARC V9",
        0x3E => "x86-64",
        0xB7 => "AArch64",
        0x102 => "LoongArch",
        _ => $"0x{machine:x}",
    };
}
