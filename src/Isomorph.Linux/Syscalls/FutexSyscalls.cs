using System.Diagnostics;
using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Threads;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// futex (futex(2)), and the thread bookkeeping around it: set_tid_address and the robust list.
/// A futex is the process's own (keyed by address) unless the operation is not FUTEX_PRIVATE_FLAG
/// and the word lies in a MAP_SHARED mapping: then it is keyed by file and offset in the run's
/// shared table, so processes that map the same file (or fork with a shared anonymous mapping) meet.
/// </summary>
internal static unsafe partial class FutexSyscalls
{
    private const int FutexWait = 0, FutexWake = 1, FutexRequeue = 3, FutexCmpRequeue = 4, FutexWakeOp = 5,
        FutexWaitBitset = 9, FutexWakeBitset = 10;
    private const int FutexPrivateFlag = 128, FutexClockRealtime = 256;
    private const uint BitsetMatchAny = uint.MaxValue;

    /// <summary>futex(uaddr, futex_op, val, timeout or val2, uaddr2, val3).</summary>
    [Syscall(98, "futex", "xUuxxu")]
    private static long Futex(LinuxProcess p, in SyscallArgs a)
    {
        int op = a.Int(1) & ~(FutexPrivateFlag | FutexClockRealtime);
        bool realtime = (a.Int(1) & FutexClockRealtime) != 0, isPrivate = (a.Int(1) & FutexPrivateFlag) != 0;
        if (realtime && op is not (FutexWait or FutexWaitBitset)) return -Errno.ENOSYS;
        ulong address = a.A0;
        int value = a.Int(2);
        switch (op)
        {
            case FutexWait:
            case FutexWaitBitset:
            {
                uint bitset = op == FutexWait ? BitsetMatchAny : (uint)a.A5;
                if (bitset == 0) return -Errno.EINVAL;
                int* word = Word(p, address, out long error);
                if (word == null) return error;
                long deadline = long.MaxValue; // Stopwatch ticks
                if (a.A3 != 0)
                {
                    if (!Guest.Get(p, a.A3, out HostTimespec t)) return -Errno.EFAULT;
                    if (t.Seconds < 0 || t.Nanoseconds is < 0 or >= 1_000_000_000) return -Errno.EINVAL;
                    long nanos = t.Seconds >= long.MaxValue / 1_000_000_000 ? long.MaxValue / 2 : t.Seconds * 1_000_000_000 + t.Nanoseconds;
                    if (op == FutexWaitBitset)
                    {
                        // An absolute time on CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME.
                        HostTimespec now;
                        Libc.clock_gettime(realtime ? 0 : 1, &now);
                        nanos -= now.Seconds * 1_000_000_000 + now.Nanoseconds;
                    }
                    deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(nanos, 0) / 1e9 * Stopwatch.Frequency);
                }
                var (table, key) = Locate(p, address, isPrivate);
                return Wait(p, table, key, word, value, bitset, deadline);
            }
            case FutexWake:
            case FutexWakeBitset:
            {
                uint bitset = op == FutexWake ? BitsetMatchAny : (uint)a.A5;
                if (bitset == 0) return -Errno.EINVAL;
                if (Word(p, address, out long error) == null) return error;
                var (table, key) = Locate(p, address, isPrivate);
                return table.Wake(key, value, bitset);
            }
            case FutexRequeue:
            case FutexCmpRequeue:
            {
                int* word = Word(p, address, out long error);
                if (word == null) return error;
                if (Word(p, a.A4, out error) == null) return error;
                int requeue = (int)a.A3;
                if (value < 0 || requeue < 0) return -Errno.EINVAL;
                var (table, from) = Locate(p, address, isPrivate);
                var (table2, to) = Locate(p, a.A4, isPrivate);
                if (table != table2) return -Errno.EINVAL; // between a private and a shared futex: not offered
                long n = table.Requeue(from, to, value, requeue, word, op == FutexCmpRequeue ? a.Int(5) : null);
                return n < 0 ? -Errno.EAGAIN : n;
            }
            case FutexWakeOp:
                return WakeOp(p, a, isPrivate);
            default:
                p.WarnOnce(98_000_000 + op, $"futex operation {op} is not supported");
                return -Errno.ENOSYS;
        }
    }

    /// <summary>
    /// Where a futex word's waiters queue: the process's own table by guest address, or — for a
    /// shared futex in a MAP_SHARED mapping — the run's shared table by the file's device, inode and offset.
    /// </summary>
    private static (FutexTable Table, FutexKey Key) Locate(LinuxProcess p, ulong address, bool isPrivate)
    {
        if (!isPrivate && p.Memory.SharedAt(address, out int fd, out long offset, out _, out _, out _))
        {
            const int AtEmptyPath = 0x1000;
            const uint StatxIno = 0x100;
            byte* stx = stackalloc byte[256];
            byte empty = 0;
            if (Libc.statx(fd, &empty, AtEmptyPath, StatxIno, stx) == 0)
            {
                ulong device = (ulong)*(uint*)(stx + 136) << 32 | *(uint*)(stx + 140); // stx_dev_major, stx_dev_minor
                return (p.Table.SharedFutexes, new FutexKey(device, *(ulong*)(stx + 32), (ulong)offset)); // stx_ino
            }
        }
        return (p.Futexes, FutexKey.Private(address));
    }

    /// <summary>The host address of an aligned, readable futex word; null with EINVAL or EFAULT otherwise.</summary>
    private static int* Word(LinuxProcess p, ulong address, out long error)
    {
        error = (address & 3) != 0 ? -Errno.EINVAL : -Errno.EFAULT;
        if ((address & 3) != 0 || !p.Memory.Check(address, 4, PageFlags.Read)) return null;
        error = 0;
        return (int*)p.Memory.HostAddress(address);
    }

    /// <summary>
    /// FUTEX_WAIT: sleeps while the word holds <paramref name="expected"/> until a wake (0), the
    /// deadline (ETIMEDOUT), or a signal or the end of the process (EINTR). EAGAIN when the word differs.
    /// </summary>
    private static long Wait(LinuxProcess p, FutexTable table, FutexKey key, int* word, int expected, uint bitset, long deadline)
    {
        var t = p.Current;
        if (table.Enqueue(t, key, word, expected, bitset) == FutexTable.EnqueueResult.ValueChanged) return -Errno.EAGAIN;
        // Asleep once queued, not before: a waker that watches for the sleep (/proc/PID/stat) finds it queued.
        using var asleep = t.Asleep();
        while (true)
        {
            if (table.WasWoken(t)) return 0;
            if (p.HasDeliverableSignal(t)) return table.Cancel(t) ? 0 : -Errno.EINTR;
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return table.Cancel(t) ? 0 : -Errno.ETIMEDOUT;
            // Wakes, signals and exit_group all set the thread's event; the cap is only a safety net.
            long ms = Math.Clamp(left / (Stopwatch.Frequency / 1000) + 1, 1, 1000);
            t.SignalArrived.WaitOne((int)ms);
        }
    }

    /// <summary>
    /// FUTEX_WAKE_OP: atomically applies the operation encoded in val3 to the word at uaddr2, wakes
    /// val waiters on uaddr, and val2 waiters on uaddr2 when the old value passes val3's comparison.
    /// </summary>
    private static long WakeOp(LinuxProcess p, in SyscallArgs a, bool isPrivate)
    {
        if (Word(p, a.A0, out long error) == null) return error;
        if ((a.A4 & 3) != 0) return -Errno.EINVAL;
        if (!p.Memory.Check(a.A4, 4, PageFlags.Read | PageFlags.Write)) return -Errno.EFAULT;
        int* word2 = (int*)p.Memory.HostAddress(a.A4);
        uint encoded = (uint)a.A5;
        int operation = (int)(encoded >> 28) & 7, comparison = (int)(encoded >> 24) & 15;
        int operand = (int)(encoded << 8) >> 20, compareWith = (int)(encoded << 20) >> 20;
        if ((encoded >> 31) != 0) operand = 1 << (operand & 31); // FUTEX_OP_OPARG_SHIFT
        if (operation > 4 || comparison > 5) return -Errno.ENOSYS;
        ulong address2 = a.A4;
        var (table, key1) = Locate(p, a.A0, isPrivate);
        var (table2, key2) = Locate(p, address2, isPrivate);
        if (table != table2) return -Errno.EINVAL;
        int woken = table.WakeOp(key1, a.Int(2), key2, (int)a.A3, () =>
        {
            int old;
            while (true)
            {
                old = Volatile.Read(ref *word2);
                int updated = operation switch { 0 => operand, 1 => old + operand, 2 => old | operand, 3 => old & ~operand, _ => old ^ operand };
                if (Interlocked.CompareExchange(ref *word2, updated, old) == old) break;
            }
            p.Memory.NoteWritten(address2, 4);
            return comparison switch
            {
                0 => old == compareWith, 1 => old != compareWith, 2 => old < compareWith,
                3 => old <= compareWith, 4 => old > compareWith, _ => old >= compareWith,
            };
        });
        return woken;
    }

    [Syscall(96, "set_tid_address", "x")]
    private static long SetTidAddress(LinuxProcess p, in SyscallArgs a)
    {
        var t = p.Current;
        t.ClearChildTid = a.A0;
        return t.Tid;
    }

    [Syscall(99, "set_robust_list", "xu")]
    private static long SetRobustList(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 != RobustFutexes.HeadSize) return -Errno.EINVAL;
        var t = p.Current;
        t.RobustList = a.A0;
        t.RobustListLength = a.A1;
        return 0;
    }

    [Syscall(100, "get_robust_list", "dxx")]
    private static long GetRobustList(LinuxProcess p, in SyscallArgs a)
    {
        var t = a.Int(0) == 0 ? p.Current : p.Table.FindThread(a.Int(0));
        if (t is null) return -Errno.ESRCH;
        if (!Guest.Put(p, a.A1, t.RobustList) || !Guest.Put(p, a.A2, RobustFutexes.HeadSize)) return -Errno.EFAULT;
        return 0;
    }
}
