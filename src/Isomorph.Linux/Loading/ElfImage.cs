using Isomorph.Elf;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Loading;

/// <summary>An ELF file mapped into a guest address space at <see cref="Bias"/>.</summary>
public sealed record ElfImage(ElfFile File, ulong Bias, ulong Entry, ulong ProgramHeaders, int ProgramHeaderCount, ulong End)
{
    public const int ProgramHeaderSize = 56;

    /// <summary>The program interpreter PT_INTERP names, or null for a static program.</summary>
    public static string? InterpreterOf(ElfFile elf)
    {
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Interpreter) continue;
            var bytes = elf.SegmentBytes(s);
            int nul = bytes.IndexOf((byte)0);
            return System.Text.Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
        }
        return null;
    }

    /// <summary>The span [lowest, highest) of the loadable segments' addresses, page-aligned, before the bias.</summary>
    public static (ulong Low, ulong High) Extent(ElfFile elf)
    {
        ulong low = ulong.MaxValue, high = 0;
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
            low = Math.Min(low, GuestAddressSpace.PageDown(s.VirtualAddress));
            high = Math.Max(high, GuestAddressSpace.PageUp(s.VirtualAddress + s.MemorySize));
        }
        if (low == ulong.MaxValue) throw new ProgramLoadException($"{elf.Path}: no loadable segments");
        return (low, high);
    }

    /// <summary>
    /// Maps the loadable segments of <paramref name="elf"/> at <paramref name="bias"/> with their
    /// protections, copies their file bytes and leaves the rest (.bss) zero.
    /// </summary>
    public static ElfImage Map(ElfFile elf, GuestAddressSpace space, ulong bias)
    {
        var (low, high) = Extent(elf);
        if (!space.InRange(bias + low, high - low))
            throw new ProgramLoadException($"{elf.Path}: segments at 0x{bias + low:x}-0x{bias + high:x} lie outside the guest address space");
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
            ulong start = GuestAddressSpace.PageDown(bias + s.VirtualAddress);
            ulong end = GuestAddressSpace.PageUp(bias + s.VirtualAddress + s.MemorySize);
            var protection = Protection.FromElf(s.Flags);
            for (ulong page = start; page < end; page += GuestAddressSpace.PageSize)
            {
                // Segments may share a page at their boundary: keep its contents, widen its protection.
                var existing = space.FlagsAt(page);
                long status = (existing & PageFlags.Mapped) != 0
                    ? space.Protect(page, GuestAddressSpace.PageSize, (existing & ~PageFlags.Mapped) | protection)
                    : space.Map(page, GuestAddressSpace.PageSize, protection);
                if (status != 0) throw new ProgramLoadException($"{elf.Path}: cannot map segment at 0x{page:x}");
            }
            space.Write(bias + s.VirtualAddress, elf.SegmentBytes(s));
        }
        return new ElfImage(elf, bias, bias + elf.Entry, bias + ProgramHeaderAddress(elf), elf.Segments.Count, bias + high);
    }

    /// <summary>The (unbiased) address of the program headers in memory, for AT_PHDR.</summary>
    private static ulong ProgramHeaderAddress(ElfFile elf)
    {
        foreach (var s in elf.Segments)
            if (s.Type == ElfSegment.ProgramHeaders) return s.VirtualAddress;
        ulong offset = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(elf.Data.Span[32..]);
        foreach (var s in elf.Segments)
            if (s.Type == ElfSegment.Load && offset >= s.Offset && offset - s.Offset < s.FileSize)
                return s.VirtualAddress + (offset - s.Offset);
        return 0;
    }
}
