using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Loading;

/// <summary>
/// Where a process's pieces go, as riscv64 Linux lays them out for a Sv39 user space (which every
/// riscv64 program accepts): the stack at the top, mmap allocations below it growing down, and
/// position-independent executables at two thirds of the space. No randomisation: runs repeat.
/// </summary>
public sealed record ProcessLayout(ulong TaskSize)
{
    public const ulong StackSize = 8ul << 20;
    private const ulong StackGap = 128ul << 20;

    public static ProcessLayout For(GuestAddressSpace space) => new(Math.Min(space.Limit, 1ul << 38));

    public ulong StackTop => TaskSize;
    public ulong StackBottom => StackTop - StackSize;
    /// <summary>mmap without a usable hint allocates top-down below this.</summary>
    public ulong MmapTop => StackTop - StackGap;
    /// <summary>Where a position-independent main program is loaded (Linux's ELF_ET_DYN_BASE).</summary>
    public ulong DynamicBase => GuestAddressSpace.PageDown(TaskSize / 3 * 2);
}
