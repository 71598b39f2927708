namespace Isomorph.Linux.Threads;

/// <summary>A thread's place in a futex queue: the word it waits on, the bits it waits for, whether it was woken.</summary>
internal sealed class FutexWaiter(GuestThread thread)
{
    public GuestThread Thread { get; } = thread;
    public ulong Address;
    public uint Bitset;
    public bool Woken;
}

/// <summary>
/// The futex queues of one address space, keyed by guest address (every futex here is
/// process-private in effect: a process's memory is its own or, for threads, shared by them all).
/// Waiters queue in arrival order; a wake takes them from the front. One lock guards every queue,
/// and a waiter checks the futex word under it, so a wake between the check and the sleep is never lost.
/// </summary>
public sealed unsafe class FutexTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, List<FutexWaiter>> _queues = [];
    private readonly Stack<List<FutexWaiter>> _spare = new();

    /// <summary>The outcome of <see cref="Enqueue"/>: queued, or the word did not hold the expected value.</summary>
    public enum EnqueueResult { Queued, ValueChanged }

    /// <summary>
    /// FUTEX_WAIT's first half: under the lock, compares the word at <paramref name="word"/> with
    /// <paramref name="expected"/> and, when equal, queues <paramref name="thread"/> on <paramref name="address"/>.
    /// </summary>
    internal EnqueueResult Enqueue(GuestThread thread, ulong address, int* word, int expected, uint bitset)
    {
        var w = thread.Waiter;
        lock (_lock)
        {
            if (Volatile.Read(ref *word) != expected) return EnqueueResult.ValueChanged;
            w.Address = address;
            w.Bitset = bitset;
            w.Woken = false;
            Queue(address).Add(w);
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
            if (_queues.TryGetValue(w.Address, out var queue))
            {
                queue.Remove(w);
                Release(w.Address, queue);
            }
            return false;
        }
    }

    /// <summary>FUTEX_WAKE(_BITSET): wakes up to <paramref name="count"/> waiters on the address whose bitset meets <paramref name="bitset"/>.</summary>
    public int Wake(ulong address, int count, uint bitset = uint.MaxValue)
    {
        lock (_lock) return WakeLocked(address, count, bitset);
    }

    private int WakeLocked(ulong address, int count, uint bitset)
    {
        if (count <= 0 || !_queues.TryGetValue(address, out var queue)) return 0;
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
        Release(address, queue);
        return woken;
    }

    /// <summary>
    /// FUTEX_(CMP_)REQUEUE: wakes up to <paramref name="wake"/> waiters on <paramref name="from"/> and moves up
    /// to <paramref name="requeue"/> of the rest to <paramref name="to"/>. With <paramref name="expected"/>,
    /// nothing happens (-1) unless the word at <paramref name="word"/> still holds it. Returns how many were woken plus moved.
    /// </summary>
    public long Requeue(ulong from, ulong to, int wake, int requeue, int* word, int? expected)
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
                queue[i].Address = to;
                target.Add(queue[i]);
            }
            queue.RemoveRange(0, moved);
            Release(from, queue);
            return woken + moved;
        }
    }

    /// <summary>FUTEX_WAKE_OP: under the lock, applies the operation to the second word, wakes on the first, and on the second if the comparison holds.</summary>
    public int WakeOp(ulong address1, int count1, ulong address2, int count2, Func<bool> operate)
    {
        lock (_lock)
        {
            bool second = operate();
            int woken = WakeLocked(address1, count1, uint.MaxValue);
            if (second) woken += WakeLocked(address2, count2, uint.MaxValue);
            return woken;
        }
    }

    private List<FutexWaiter> Queue(ulong address)
    {
        if (_queues.TryGetValue(address, out var queue)) return queue;
        queue = _spare.Count > 0 ? _spare.Pop() : [];
        _queues[address] = queue;
        return queue;
    }

    private void Release(ulong address, List<FutexWaiter> queue)
    {
        if (queue.Count != 0) return;
        _queues.Remove(address);
        if (_spare.Count < 64) _spare.Push(queue);
    }
}
