namespace Isomorph.Linux.Threads;

/// <summary>
/// What identifies a futex word: for a process-private futex its guest address (Device and Inode
/// 0); for one in a MAP_SHARED mapping, the host file and the offset in it, the same in every
/// process that maps it (Linux keys shared futexes by inode and page index likewise).
/// </summary>
public readonly record struct FutexKey(ulong Device, ulong Inode, ulong Offset)
{
    public static FutexKey Private(ulong address) => new(0, 0, address);
}

/// <summary>A thread's place in a futex queue: the word it waits on, the bits it waits for, whether it was woken.</summary>
internal sealed class FutexWaiter(GuestThread thread)
{
    public GuestThread Thread { get; } = thread;
    public FutexKey Key;
    public uint Bitset;
    public bool Woken;
}

/// <summary>
/// Futex queues: a process's own, keyed by guest address, or the run's table of futexes in shared
/// mappings, keyed by file and offset (<see cref="FutexKey"/>). Waiters queue in arrival order; a wake takes them from the front. One lock guards every queue,
/// and a waiter checks the futex word under it, so a wake between the check and the sleep is never lost.
/// </summary>
public sealed unsafe class FutexTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<FutexKey, List<FutexWaiter>> _queues = [];
    private readonly Stack<List<FutexWaiter>> _spare = new();

    /// <summary>The outcome of <see cref="Enqueue"/>: queued, or the word did not hold the expected value.</summary>
    public enum EnqueueResult { Queued, ValueChanged }

    /// <summary>
    /// FUTEX_WAIT's first half: under the lock, compares the word at <paramref name="word"/> with
    /// <paramref name="expected"/> and, when equal, queues <paramref name="thread"/> on <paramref name="key"/>.
    /// </summary>
    internal EnqueueResult Enqueue(GuestThread thread, FutexKey key, int* word, int expected, uint bitset)
    {
        var w = thread.Waiter;
        lock (_lock)
        {
            if (Volatile.Read(ref *word) != expected) return EnqueueResult.ValueChanged;
            w.Key = key;
            w.Bitset = bitset;
            w.Woken = false;
            Queue(key).Add(w);
        }
        return EnqueueResult.Queued;
    }

    /// <summary>True once the thread's queued wait was woken (it is then off the queue).</summary>
    internal bool WasWoken(GuestThread thread)
    {
        lock (_lock) return thread.Waiter.Woken;
    }

    /// <summary>
    /// Ends a wait that timed out or was interrupted: takes the thread off its queue. True when a
    /// wake got there first (the wait then counts as woken, so the wake is not lost).
    /// </summary>
    internal bool Cancel(GuestThread thread)
    {
        var w = thread.Waiter;
        lock (_lock)
        {
            if (w.Woken) return true;
            if (_queues.TryGetValue(w.Key, out var queue))
            {
                queue.Remove(w);
                Release(w.Key, queue);
            }
            return false;
        }
    }

    /// <summary>FUTEX_WAKE(_BITSET): wakes up to <paramref name="count"/> waiters on the word whose bitset meets <paramref name="bitset"/>.</summary>
    public int Wake(FutexKey key, int count, uint bitset = uint.MaxValue)
    {
        lock (_lock) return WakeLocked(key, count, bitset);
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters on a process-private futex word.</summary>
    public int Wake(ulong address, int count) => Wake(FutexKey.Private(address), count);

    private int WakeLocked(FutexKey key, int count, uint bitset)
    {
        if (count <= 0 || !_queues.TryGetValue(key, out var queue)) return 0;
        int woken = 0;
        for (int i = 0; i < queue.Count && woken < count;)
        {
            var w = queue[i];
            if ((w.Bitset & bitset) == 0) { i++; continue; }
            queue.RemoveAt(i);
            w.Woken = true;
            w.Thread.SignalArrived.Set();
            woken++;
        }
        Release(key, queue);
        return woken;
    }

    /// <summary>
    /// FUTEX_(CMP_)REQUEUE: wakes up to <paramref name="wake"/> waiters on <paramref name="from"/> and moves up
    /// to <paramref name="requeue"/> of the rest to <paramref name="to"/>. With <paramref name="expected"/>,
    /// nothing happens (-1) unless the word at <paramref name="word"/> still holds it. Returns how many were woken plus moved.
    /// </summary>
    public long Requeue(FutexKey from, FutexKey to, int wake, int requeue, int* word, int? expected)
    {
        lock (_lock)
        {
            if (expected is { } e && Volatile.Read(ref *word) != e) return -1;
            int woken = WakeLocked(from, wake, uint.MaxValue);
            if (requeue <= 0 || from == to || !_queues.TryGetValue(from, out var queue)) return woken;
            int moved = Math.Min(requeue, queue.Count);
            if (moved == 0) return woken;
            var target = Queue(to);
            for (int i = 0; i < moved; i++)
            {
                queue[i].Key = to;
                target.Add(queue[i]);
            }
            queue.RemoveRange(0, moved);
            Release(from, queue);
            return woken + moved;
        }
    }

    /// <summary>FUTEX_WAKE_OP: under the lock, applies the operation to the second word, wakes on the first, and on the second if the comparison holds.</summary>
    public int WakeOp(FutexKey address1, int count1, FutexKey address2, int count2, Func<bool> operate)
    {
        lock (_lock)
        {
            bool second = operate();
            int woken = WakeLocked(address1, count1, uint.MaxValue);
            if (second) woken += WakeLocked(address2, count2, uint.MaxValue);
            return woken;
        }
    }

    private List<FutexWaiter> Queue(FutexKey key)
    {
        if (_queues.TryGetValue(key, out var queue)) return queue;
        queue = _spare.Count > 0 ? _spare.Pop() : [];
        _queues[key] = queue;
        return queue;
    }

    private void Release(FutexKey key, List<FutexWaiter> queue)
    {
        if (queue.Count != 0) return;
        _queues.Remove(key);
        if (_spare.Count < 64) _spare.Push(queue);
    }
}
