namespace Isomorph.Riscv;

/// <summary>
/// Watched memory as the hart's slow paths see it (a debugger's watchpoints, a library's memory
/// hooks). A page with a watchpoint never enters the read or write TLB, nor direct memory
/// (<see cref="DirectMemory"/>: its bits are taken back when the watch is set, and the slow paths
/// give them back only to pages no watch covers), so every access to it takes the slow path and is
/// reported; other pages keep the fast paths, translated code's included. With no watch installed
/// the slow paths test one field.
/// </summary>
public interface IAccessWatch
{
    /// <summary>True when the virtual page holding <paramref name="va"/> has a watchpoint.</summary>
    bool WatchesPage(ulong va);

    /// <summary>The virtual pages (address &gt;&gt; 12) holding a watched byte.</summary>
    IEnumerable<ulong> Pages { get; }

    /// <summary>
    /// A load or store of <paramref name="size"/> bytes at <paramref name="va"/> on a watched page,
    /// reported before it happens, on the hart's own thread (AMOs and SC report <see cref="AccessType.Write"/>).
    /// True to halt the hart before the instruction: it does not execute, its pc stays on it, and
    /// no trap is taken (as the debug specification's triggers with timing "before"); the watch
    /// then asks the hart to stop (<see cref="Hart.RequestStop"/>).
    /// </summary>
    bool Accessed(Hart hart, ulong va, int size, AccessType access);
}

public sealed partial class Hart
{
    private IAccessWatch? _watch;

    /// <summary>
    /// The pending "cause" of an access a watch halted before: not an exception. RaisePending leaves
    /// the instruction unexecuted, with the pc on it, and takes no trap.
    /// </summary>
    public const ulong DebugHaltCause = ulong.MaxValue;

    /// <summary>
    /// The watchpoints the slow paths report to, or null (the default: nothing is watched). Setting
    /// it takes the watched pages' direct-memory bits back and asks the hart to forget its TLBs at
    /// its next instruction boundary, so that newly watched pages leave them. The direct-memory
    /// table is shared by the address space's harts: every hart of the process must have the watch
    /// before it runs guest code again (a debugger and the hooks set it at each run), or its slow
    /// paths would give a watched page its bits back.
    /// </summary>
    public IAccessWatch? Watch
    {
        get => _watch;
        set
        {
            _watch = value;
            if (value is not null && _direct is { } direct)
                foreach (ulong page in value.Pages) direct.Revoke(page << 12, DirectMemory.Load | DirectMemory.Store);
            RequestTlbFlush();
        }
    }

    /// <summary>
    /// Reports an access to the watch when its page is watched (then the page must not be cached).
    /// True when the watch halts the hart before the access: <see cref="DebugHaltCause"/> is pending.
    /// </summary>
    private bool Watched(ulong va, int size, AccessType access, out bool halt)
    {
        halt = false;
        if (_watch is not { } watch || !watch.WatchesPage(va)) return false;
        halt = watch.Accessed(this, va, size, access);
        if (halt) SetPending((ExceptionCause)DebugHaltCause, va);
        return true;
    }
}
