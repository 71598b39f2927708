using Isomorph.Elf;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Loading;

/// <summary>An ELF file mapped into a guest address space at <see cref="Bias"/>.</summary>
public sealed record ElfImage(ElfFile File, ulong Bias, ulong Entry, ulong ProgramHeaders, int ProgramHeaderCount, ulong End)
{
    public const int ProgramHeaderSize = 56;

    /// <summary>Linux's PATH_MAX: the longest PT_INTERP it accepts.</summary>
    public const int MaxInterpreterPath = 4096;

    /// <summary>
    /// The program interpreter PT_INTERP names, or null for a static program. As Linux, the segment
    /// holds 2 to PATH_MAX bytes ending in NUL, or the file is refused with ENOEXEC.
    /// </summary>
    public static string? InterpreterOf(ElfFile elf)
    {
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Interpreter) continue;
            if (s.FileSize < 2 || s.FileSize > MaxInterpreterPath)
                throw new ProgramLoadException($"{elf.Path}: malformed ELF file (program interpreter path of {s.FileSize} bytes)");
            var bytes = elf.SegmentBytes(s);
            if (bytes[^1] != 0) throw new ProgramLoadException($"{elf.Path}: malformed ELF file (program interpreter path not NUL-terminated)");
            return System.Text.Encoding.UTF8.GetString(bytes[..bytes.IndexOf((byte)0)]);
        }
        return null;
    }

    /// <summary>
    /// The span [lowest, highest) of the loadable segments' addresses, page-aligned, before the bias.
    /// <see cref="ElfFile"/> has checked that no segment's end wraps; its page-aligned end can
    /// still, which is EINVAL as Linux answers a segment past TASK_SIZE.
    /// </summary>
    public static (ulong Low, ulong High) Extent(ElfFile elf)
    {
        ulong low = ulong.MaxValue, high = 0;
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
            if (s.End > ulong.MaxValue - (GuestAddressSpace.PageSize - 1))
                throw new ProgramLoadException($"{elf.Path}: segment at 0x{s.VirtualAddress:x} ends past the address space", Errno.EINVAL);
            low = Math.Min(low, GuestAddressSpace.PageDown(s.VirtualAddress));
            high = Math.Max(high, GuestAddressSpace.PageUp(s.End));
        }
        // Linux refuses a position-independent program without PT_LOAD with EINVAL (and starts an
        // ET_EXEC one, to die at once of SIGSEGV at its entry); both are refused here.
        if (low == ulong.MaxValue) throw new ProgramLoadException($"{elf.Path}: no loadable segments", Errno.EINVAL);
        return (low, high);
    }

    /// <summary>
    /// Maps the loadable segments of <paramref name="elf"/> at <paramref name="bias"/> with their
    /// protections, copies their file bytes and leaves the rest (.bss) zero. Everything is checked
    /// before the first page is touched: the segments must lie below <paramref name="taskSize"/>
    /// (EINVAL, or <paramref name="layoutErrno"/>), each file offset must share its address's
    /// offset in the page, as Linux's mmap needs (EINVAL). The entry point is the caller's to check:
    /// Linux checks only the one it jumps to (the interpreter's, when there is one).
    /// </summary>
    public static ElfImage Map(ElfFile elf, GuestAddressSpace space, ulong bias, ulong taskSize, int layoutErrno = Errno.EINVAL)
    {
        var (low, high) = Extent(elf);
        ulong start = bias + low; // wraps only for a bias chosen against an impossible extent, which the next line refuses
        if (start >= taskSize || high - low > taskSize - start || !space.InRange(start, high - low))
            throw new ProgramLoadException($"{elf.Path}: segments at 0x{start:x} (0x{high - low:x} bytes) lie outside the guest address space", layoutErrno);
        foreach (var s in elf.Segments)
            if (s.Type == ElfSegment.Load && s.MemorySize != 0 && (s.Offset - s.VirtualAddress) % GuestAddressSpace.PageSize != 0)
                throw new ProgramLoadException(
                    $"{elf.Path}: segment at 0x{s.VirtualAddress:x} has file offset 0x{s.Offset:x} in another place in its page", layoutErrno);
        foreach (var s in elf.Segments)
        {
            if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
            // Inside [start, start + high - low), which the checks above keep inside the space.
            ulong first = GuestAddressSpace.PageDown(bias + s.VirtualAddress);
            ulong end = GuestAddressSpace.PageUp(bias + s.End);
            var protection = Protection.FromElf(s.Flags);
            // Segments may share a page at their boundary (or, in a crafted file, overlap): keep
            // what earlier segments mapped, widen its protection. One call per run of pages alike,
            // so that a segment of many GiB (legal, and cheap: its pages are zero) maps at once.
            for (ulong page = first; page < end;)
            {
                var existing = space.FlagsAt(page);
                ulong run = page + GuestAddressSpace.PageSize;
                while (run < end && space.FlagsAt(run) == existing) run += GuestAddressSpace.PageSize;
                long status = (existing & PageFlags.Mapped) != 0
                    ? space.Protect(page, run - page, (existing & ~PageFlags.Mapped) | protection)
                    : space.Map(page, run - page, protection);
                if (status != 0) throw new ProgramLoadException($"{elf.Path}: cannot map segment at 0x{page:x}", Errno.ENOMEM);
                page = run;
            }
            space.Write(bias + s.VirtualAddress, elf.SegmentBytes(s));
        }
        ulong entry = bias + elf.Entry; // modulo 2^64, as Linux adds it
        return new ElfImage(elf, bias, entry, bias + ProgramHeaderAddress(elf), elf.Segments.Count, bias + high);
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
