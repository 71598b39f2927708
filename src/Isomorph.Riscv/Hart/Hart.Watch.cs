namespace Isomorph.Riscv;

/// <summary>
/// Watched memory as the hart's slow paths see it (a debugger's watchpoints). A page with a
/// watchpoint never enters the read or write TLB, so every access to it takes the slow path and is
/// reported; other pages keep the fast path. With no watch installed the slow paths test one field.
/// </summary>
public interface IAccessWatch
{
    /// <summary>True when the virtual page holding <paramref name="va"/> has a watchpoint.</summary>
    bool WatchesPage(ulong va);

    /// <summary>
    /// A load or store of <paramref name="size"/> bytes at <paramref name="va"/> on a watched page,
    /// reported before it happens, on the hart's own thread (AMOs and SC report <see cref="AccessType.Write"/>).
    /// </summary>
    void Accessed(Hart hart, ulong va, int size, AccessType access);
}

public sealed partial class Hart
{
    private IAccessWatch? _watch;

    /// <summary>
    /// The watchpoints the slow paths report to, or null (the default: nothing is watched). Setting
    /// it asks the hart to forget its TLBs at its next instruction boundary, so that newly watched
    /// pages leave them.
    /// </summary>
    public IAccessWatch? Watch
    {
        get => _watch;
        set
        {
            _watch = value;
            RequestTlbFlush();
        }
    }

    /// <summary>Reports an access to the watch when its page is watched; true when it is (the page must not be cached).</summary>
    private bool Watched(ulong va, int size, AccessType access)
    {
        if (_watch is not { } watch || !watch.WatchesPage(va)) return false;
        watch.Accessed(this, va, size, access);
        return true;
    }
}
