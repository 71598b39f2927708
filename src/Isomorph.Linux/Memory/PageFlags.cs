namespace Isomorph.Linux.Memory;

/// <summary>A guest page's state in the address space: mapped or not, and its protection.</summary>
[Flags]
public enum PageFlags : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
    /// <summary>The page is mapped (possibly with no access, PROT_NONE).</summary>
    Mapped = 8,
    /// <summary>The page belongs to a MAP_SHARED mapping: host file (or memfd) pages, shared with whoever else maps them.</summary>
    Shared = 16,
    /// <summary>
    /// The page lies wholly past the end of the file its mapping maps: Linux raises SIGBUS on an
    /// access, until the file grows to cover it (<see cref="GuestAddressSpace.FaultIn"/>). Its host
    /// page is private and zero, never the file's.
    /// </summary>
    BeyondFile = 32,
    /// <summary>The page belongs to a MAP_GROWSDOWN mapping (a stack), which a fault just below it extends.</summary>
    GrowsDown = 64,
    /// <summary>The page is locked in memory (MAP_LOCKED, mlock): counted in /proc/PID/status's VmLck.</summary>
    Locked = 128,
    /// <summary>The guest protections, the bits mmap and mprotect set.</summary>
    Access = Read | Write | Execute,
    /// <summary>What a page keeps when its protection changes (mprotect): everything but the guest protections.</summary>
    Kept = Mapped | Shared | BeyondFile | GrowsDown | Locked,
}

public static class Protection
{
    /// <summary>PROT_READ, PROT_WRITE and PROT_EXEC (riscv64 Linux values) as page flags.</summary>
    public static PageFlags FromProt(ulong prot) =>
        ((prot & 1) != 0 ? PageFlags.Read : 0) | ((prot & 2) != 0 ? PageFlags.Write : 0) | ((prot & 4) != 0 ? PageFlags.Execute : 0);

    /// <summary>ELF segment flags (PF_X = 1, PF_W = 2, PF_R = 4) as page flags.</summary>
    public static PageFlags FromElf(uint flags) =>
        ((flags & 4) != 0 ? PageFlags.Read : 0) | ((flags & 2) != 0 ? PageFlags.Write : 0) | ((flags & 1) != 0 ? PageFlags.Execute : 0);
}
