using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Threads;

/// <summary>
/// Robust futexes (Documentation/locking/robust-futexes.rst, robust-futex-ABI.rst): as a thread
/// ends, each lock on its robust list that it still owns (the futex word's TID bits are its
/// thread id) gets FUTEX_OWNER_DIED, keeps FUTEX_WAITERS, and one waiter is woken, so the next
/// locker learns that the owner died (EOWNERDEAD).
/// </summary>
internal static unsafe class RobustFutexes
{
    public const uint Waiters = 0x8000_0000, OwnerDied = 0x4000_0000, TidMask = 0x3FFF_FFFF;
    /// <summary>struct robust_list_head: next, futex_offset, list_op_pending.</summary>
    public const ulong HeadSize = 24;
    /// <summary>How many entries a list may have before the walk gives up (Linux's ROBUST_LIST_LIMIT).</summary>
    private const int Limit = 2048;

    public static void Release(LinuxProcess p, GuestThread t)
    {
        ulong head = t.RobustList;
        if (head == 0) return;
        var memory = p.Memory;
        if (!memory.TryReadUInt64(head, out ulong entry) || !memory.TryReadUInt64(head + 8, out ulong offset)
            || !memory.TryReadUInt64(head + 16, out ulong pending))
            return;
        entry &= ~1ul; // bit 0 marks a PI futex
        pending &= ~1ul;
        for (int n = 0; entry != head && entry != 0 && n < Limit; n++)
        {
            if (!memory.TryReadUInt64(entry, out ulong next)) return;
            if (entry != pending) OwnerDies(p, t, entry + offset);
            entry = next & ~1ul;
        }
        if (pending != 0) OwnerDies(p, t, pending + offset);
    }

    private static void OwnerDies(LinuxProcess p, GuestThread t, ulong address)
    {
        if ((address & 3) != 0 || !p.Memory.Check(address, 4, PageFlags.Read | PageFlags.Write)) return;
        uint* word = (uint*)p.Memory.HostAddress(address);
        while (true)
        {
            uint value = Volatile.Read(ref *word);
            if ((value & TidMask) != (uint)t.Tid) return;
            uint dead = (value & Waiters) | OwnerDied;
            if (Interlocked.CompareExchange(ref *word, dead, value) != value) continue;
            p.Memory.NoteWritten(address, 4);
            if ((value & Waiters) != 0) p.Futexes.Wake(address, 1);
            return;
        }
    }
}
