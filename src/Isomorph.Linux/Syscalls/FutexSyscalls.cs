using System.Diagnostics;
using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Threads;

namespace Isomorph.Linux.Syscalls;

/// <summary>futex (futex(2)), and the thread bookkeeping around it: set_tid_address and the robust list.</summary>
internal static unsafe class FutexSyscalls
{
    private const int FutexWait = 0, FutexWake = 1, FutexRequeue = 3, FutexCmpRequeue = 4, FutexWakeOp = 5,
        FutexWaitBitset = 9, FutexWakeBitset = 10;
    private const int FutexPrivateFlag = 128, FutexClockRealtime = 256;
    private const uint BitsetMatchAny = uint.MaxValue;

    /// <summary>futex(uaddr, futex_op, val, timeout or val2, uaddr2, val3).</summary>
    [Syscall(98, "futex", "xdxxxx")]
    private static long Futex(LinuxProcess p, in SyscallArgs a)
    {
        int op = a.Int(1) & ~(FutexPrivateFlag | FutexClockRealtime);
        bool realtime = (a.Int(1) & FutexClockRealtime) != 0;
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
                return Wait(p, address, word, value, bitset, deadline);
            }
            case FutexWake:
                return Word(p, address, out long wakeError) == null ? wakeError : p.Futexes.Wake(address, value);
            case FutexWakeBitset:
                if ((uint)a.A5 == 0) return -Errno.EINVAL;
                return Word(p, address, out long bitsetError) == null ? bitsetError : p.Futexes.Wake(address, value, (uint)a.A5);
            case FutexRequeue:
            case FutexCmpRequeue:
            {
                int* word = Word(p, address, out long error);
                if (word == null) return error;
                if (Word(p, a.A4, out error) == null) return error;
                int requeue = (int)a.A3;
                if (value < 0 || requeue < 0) return -Errno.EINVAL;
                long n = p.Futexes.Requeue(address, a.A4, value, requeue, word, op == FutexCmpRequeue ? a.Int(5) : null);
                return n < 0 ? -Errno.EAGAIN : n;
            }
            case FutexWakeOp:
                return WakeOp(p, a);
            default:
                p.WarnOnce(98_000_000 + op, $"futex operation {op} is not supported");
                return -Errno.ENOSYS;
        }
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
    private static long Wait(LinuxProcess p, ulong address, int* word, int expected, uint bitset, long deadline)
    {
        var t = p.Current;
        if (p.Futexes.Enqueue(t, address, word, expected, bitset) == FutexTable.EnqueueResult.ValueChanged) return -Errno.EAGAIN;
        while (true)
        {
            if (p.Futexes.WasWoken(t)) return 0;
            if (p.HasDeliverableSignal(t)) return p.Futexes.Cancel(t) ? 0 : -Errno.EINTR;
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return p.Futexes.Cancel(t) ? 0 : -Errno.ETIMEDOUT;
            // Wakes, signals and exit_group all set the thread's event; the cap is only a safety net.
            long ms = Math.Clamp(left / (Stopwatch.Frequency / 1000) + 1, 1, 1000);
            t.SignalArrived.WaitOne((int)ms);
        }
    }

    /// <summary>
    /// FUTEX_WAKE_OP: atomically applies the operation encoded in val3 to the word at uaddr2, wakes
    /// val waiters on uaddr, and val2 waiters on uaddr2 when the old value passes val3's comparison.
    /// </summary>
    private static long WakeOp(LinuxProcess p, in SyscallArgs a)
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
        int woken = p.Futexes.WakeOp(a.A0, a.Int(2), address2, (int)a.A3, () =>
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
