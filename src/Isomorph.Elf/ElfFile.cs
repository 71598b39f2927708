using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Elf;

/// <summary>What is wrong with a file that <see cref="ElfFile"/> refuses (Linux answers each with its own errno).</summary>
public enum ElfProblem
{
    /// <summary>Not an ELF file for this machine, or its headers are malformed (Linux: ENOEXEC).</summary>
    Malformed,
    /// <summary>Headers or segment contents lie beyond the end of the file (Linux: EIO, a short read).</summary>
    Truncated,
    /// <summary>A loadable segment's addresses or sizes are impossible (Linux: EINVAL).</summary>
    BadLayout,
}

/// <summary>A file that is not a loadable 64-bit little-endian RISC-V ELF, with a one-line reason.</summary>
public sealed class ElfFormatException(string message, ElfProblem problem = ElfProblem.Malformed) : Exception(message)
{
    public ElfProblem Problem { get; } = problem;
}

public enum ElfType : ushort { None = 0, Relocatable = 1, Executable = 2, SharedObject = 3, Core = 4 }

/// <summary>A program header (segment).</summary>
public readonly record struct ElfSegment(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong PhysicalAddress, ulong FileSize, ulong MemorySize, ulong Align)
{
    public const uint Load = 1, Dynamic = 2, Interpreter = 3, Note = 4, ProgramHeaders = 6, Tls = 7;
    public const uint GnuStack = 0x6474E551, GnuRelro = 0x6474E552;
    public const uint Execute = 1, Write = 2, Read = 4;
    /// <summary>sizeof(Elf64_Phdr).</summary>
    public const int HeaderSize = 56;

    /// <summary>The address one past the segment's last byte in memory (the loader has checked it does not wrap).</summary>
    public ulong End => VirtualAddress + MemorySize;
}

/// <summary>A symbol from the symbol table.</summary>
public readonly record struct ElfSymbol(string Name, ulong Value, ulong Size);

/// <summary>
/// An ELF64 file for RISC-V, read and validated: header, segments and symbols. Anything malformed
/// — wrong magic, class, byte order or machine, a truncated file, headers or segments outside the
/// file, a loadable segment whose end wraps past 2^64 — is an <see cref="ElfFormatException"/>
/// with a message fit for one line on stderr. Every offset and size is checked by subtraction
/// from a bound already known to hold, never by an addition that could wrap. The section headers
/// (only the symbol table is read from them) are checked when <see cref="Symbols"/> is first read:
/// Linux never reads them, so a program runs whatever they hold.
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
    /// <summary>The symbol table, read on first use; a malformed one is an <see cref="ElfFormatException"/> then.</summary>
    public IReadOnlyDictionary<string, ElfSymbol> Symbols => _symbols.Value;
    private readonly Lazy<Dictionary<string, ElfSymbol>> _symbols;
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
        ulong sectionHeaders = U64(40);
        ushort sectionEntrySize = U16(58), sectionCount = U16(60);
        _symbols = new(() => ReadSymbols(sectionHeaders, sectionEntrySize, sectionCount), LazyThreadSafetyMode.ExecutionAndPublication);
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

    /// <summary>Linux's bound on the program header table (ELF_MIN_ALIGN * 16 bytes).</summary>
    public const int MaxProgramHeaderBytes = 65536;

    private List<ElfSegment> ReadSegments(ulong offset, ushort entrySize, ushort count)
    {
        // As Linux's load_elf_phdrs: exactly Elf64_Phdr-sized entries, at least one, at most 64 KiB of them.
        if (count == 0) throw new ElfFormatException($"{Path}: malformed ELF file (no program headers)");
        if (entrySize != ElfSegment.HeaderSize)
            throw new ElfFormatException($"{Path}: malformed ELF file (program header size {entrySize}, expected {ElfSegment.HeaderSize})");
        if (count * entrySize > MaxProgramHeaderBytes)
            throw new ElfFormatException($"{Path}: malformed ELF file ({count} program headers)");
        if (!InFile(offset, (ulong)entrySize * count))
            throw new ElfFormatException($"{Path}: truncated ELF file (program headers beyond its end)", ElfProblem.Truncated);
        var list = new List<ElfSegment>(count);
        for (int i = 0; i < count; i++)
        {
            ulong p = offset + (ulong)(i * entrySize);
            var s = new ElfSegment(U32(p), U32(p + 4), U64(p + 8), U64(p + 16), U64(p + 24), U64(p + 32), U64(p + 40), U64(p + 48));
            if (s.Type == ElfSegment.Load || s.Type == ElfSegment.Interpreter)
            {
                if (!InFile(s.Offset, s.FileSize))
                    throw new ElfFormatException($"{Path}: truncated ELF file (segment {i} extends beyond its end)", ElfProblem.Truncated);
            }
            if (s.Type == ElfSegment.Load)
            {
                if (s.FileSize > s.MemorySize)
                    throw new ElfFormatException($"{Path}: malformed ELF file (segment {i} is larger in the file than in memory)", ElfProblem.BadLayout);
                if (s.MemorySize > ulong.MaxValue - s.VirtualAddress)
                    throw new ElfFormatException(
                        $"{Path}: malformed ELF file (segment {i} at 0x{s.VirtualAddress:x}, 0x{s.MemorySize:x} bytes, wraps past the end of the address space)",
                        ElfProblem.BadLayout);
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
            if (symEntry < 24 || symSize % symEntry != 0 || link >= count || !InFile(symOffset, symSize))
                throw new ElfFormatException($"{Path}: malformed ELF file (bad symbol table)");
            ulong strSh = offset + (ulong)(link * entrySize);
            ulong strOffset = U64(strSh + 24), strSize = U64(strSh + 32);
            if (!InFile(strOffset, strSize)) throw new ElfFormatException($"{Path}: truncated ELF file (string table beyond its end)");
            for (ulong k = 0, n = symSize / symEntry; k < n; k++)
            {
                ulong s = symOffset + k * symEntry; // below symOffset + symSize, which lies in the file
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
