using Isomorph.Linux.Host;
using Isomorph.Linux.Signals;

namespace Isomorph.Linux.Syscalls;

/// <summary>Signal dispositions, masks, the alternate stack, sending, waiting for and returning from signals.</summary>
internal static unsafe partial class SignalSyscalls
{
    private const int SigBlock = 0, SigUnblock = 1, SigSetmask = 2;
    private const ulong MinSignalStack = 2048;

    [Syscall(134, "rt_sigaction", "Sxxu")]
    private static long RtSigaction(LinuxProcess p, in SyscallArgs a)
    {
        int signal = a.Int(0);
        if (signal is < 1 or > 64 || a.A3 != 8) return -Errno.EINVAL;
        // struct sigaction on riscv64: sa_handler, sa_flags, sa_mask (no sa_restorer: handlers return through the vDSO, here the trampoline).
        (ulong Handler, ulong Flags, ulong Mask) old;
        lock (p.SignalLock) old = p.SignalActions.GetValueOrDefault(signal);
        if (a.A1 != 0)
        {
            if (signal is LinuxProcess.Sigkill or 19) return -Errno.EINVAL;
            if (!Guest.Get(p, a.A1, out ulong handler) || !Guest.Get(p, a.A1 + 8, out ulong flags) || !Guest.Get(p, a.A1 + 16, out ulong mask))
                return -Errno.EFAULT;
            lock (p.SignalLock)
            {
                if (handler == LinuxProcess.SigDfl && flags == 0 && mask == 0) p.SignalActions.Remove(signal);
                else p.SignalActions[signal] = (handler, flags, mask & ~LinuxProcess.Unblockable);
            }
        }
        if (a.A2 != 0 && !(Guest.Put(p, a.A2, old.Handler) && Guest.Put(p, a.A2 + 8, old.Flags) && Guest.Put(p, a.A2 + 16, old.Mask)))
            return -Errno.EFAULT;
        return 0;
    }

    [Syscall(135, "rt_sigprocmask", "Hxxu")]
    private static long RtSigprocmask(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A3 != 8) return -Errno.EINVAL;
        ulong old = p.BlockedSignals;
        if (a.A1 != 0)
        {
            if (!Guest.Get(p, a.A1, out ulong set)) return -Errno.EFAULT;
            ulong blocked = a.Int(0) switch
            {
                SigBlock => old | set,
                SigUnblock => old & ~set,
                SigSetmask => set,
                _ => ulong.MaxValue,
            };
            if (blocked == ulong.MaxValue && a.Int(0) is not (SigBlock or SigSetmask)) return -Errno.EINVAL;
            p.BlockedSignals = blocked & ~LinuxProcess.Unblockable;
        }
        if (a.A2 != 0 && !Guest.Put(p, a.A2, old)) return -Errno.EFAULT;
        return 0;
    }

    [Syscall(136, "rt_sigpending", "xu")]
    private static long RtSigpending(LinuxProcess p, in SyscallArgs a) =>
        a.A1 != 8 ? -Errno.EINVAL : Guest.Put(p, a.A0, p.PendingSignals & p.BlockedSignals) ? 0 : -Errno.EFAULT;

    [Syscall(139, "rt_sigreturn")]
    private static long RtSigreturn(LinuxProcess p, in SyscallArgs a) => p.SigReturn();

    [Syscall(133, "rt_sigsuspend", "xu")]
    private static long RtSigsuspend(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 != 8) return -Errno.EINVAL;
        if (!Guest.Get(p, a.A0, out ulong mask)) return -Errno.EFAULT;
        p.SuspendWithMask(mask);
        return -Errno.EINTR;
    }

    /// <summary>rt_sigtimedwait: takes a signal of the set out of the pending ones, waiting for one up to the timeout.</summary>
    [Syscall(137, "rt_sigtimedwait", "xxxu")]
    private static long RtSigtimedwait(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A3 != 8) return -Errno.EINVAL;
        if (!Guest.Get(p, a.A0, out ulong set)) return -Errno.EFAULT;
        set &= ~LinuxProcess.Unblockable;
        var deadline = TimeSpan.MaxValue;
        if (a.A2 != 0)
        {
            if (!Guest.Get(p, a.A2, out HostTimespec t)) return -Errno.EFAULT;
            deadline = p.Table.Clock.Elapsed + TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
        }
        while (true)
        {
            int signal = p.DequeueSignal(set, out var info);
            if (signal != 0)
            {
                if (a.A1 != 0)
                {
                    byte* at = Guest.Writable(p, a.A1, SignalInfo.Size);
                    if (at == null) return -Errno.EFAULT;
                    info.WriteTo(at, fault: false);
                    p.Memory.NoteWritten(a.A1, SignalInfo.Size);
                }
                return signal;
            }
            if ((p.PendingSignals & ~p.BlockedSignals & ~set) != 0 || p.Exited) return -Errno.EINTR;
            var left = deadline - p.Table.Clock.Elapsed;
            if (left <= TimeSpan.Zero) return -Errno.EAGAIN;
            Blocking.Sleep(p, Math.Min(left.Ticks, TimeSpan.TicksPerSecond) * 100);
        }
    }

    /// <summary>sigaltstack; stack_t is { ss_sp, ss_flags (int, padded), ss_size }.</summary>
    [Syscall(132, "sigaltstack", "xx")]
    private static long SigAltStack(LinuxProcess p, in SyscallArgs a)
    {
        var old = p.AltStack;
        bool onIt = old.Flags != LinuxProcess.SsDisable && p.Hart.X[2] - old.Base <= old.Size;
        if (a.A0 != 0)
        {
            if (!Guest.Get(p, a.A0, out ulong sp) || !Guest.Get(p, a.A0 + 8, out int flags) || !Guest.Get(p, a.A0 + 16, out ulong size))
                return -Errno.EFAULT;
            if (onIt) return -Errno.EPERM;
            if (flags == LinuxProcess.SsDisable) p.AltStack = (0, LinuxProcess.SsDisable, 0);
            else if (flags is 0 or LinuxProcess.SsOnstack)
            {
                if (size < MinSignalStack) return -Errno.ENOMEM;
                p.AltStack = (sp, 0, size);
            }
            else return -Errno.EINVAL;
        }
        if (a.A1 != 0)
        {
            int flags = old.Flags == LinuxProcess.SsDisable ? LinuxProcess.SsDisable : onIt ? LinuxProcess.SsOnstack : 0;
            if (!(Guest.Put(p, a.A1, old.Base) && Guest.Put(p, a.A1 + 8, (ulong)(uint)flags) && Guest.Put(p, a.A1 + 16, old.Size)))
                return -Errno.EFAULT;
        }
        return 0;
    }

    [Syscall(129, "kill", "dS")]
    private static long Kill(LinuxProcess p, in SyscallArgs a)
    {
        int pid = a.Int(0), signal = a.Int(1);
        if (signal is < 0 or > 64) return -Errno.EINVAL;
        List<LinuxProcess> targets = pid switch
        {
            // a zombie may be signalled, to no effect; a thread id names the thread's process
            > 0 => (p.Table.Find(pid) ?? p.Table.FindThread(pid)?.Process) is { } one ? [one] : [],
            0 => p.Table.Group(p.ProcessGroup),
            -1 => p.Table.All().Where(t => t != p).ToList(), // every process it may signal: the run's own
            _ => p.Table.Group(-pid),
        };
        if (targets.Count == 0) return -Errno.ESRCH;
        // Only the processes it may signal get it; EPERM when that is none of them (except for -1, as on Linux).
        targets = targets.Where(t => Credentials.MaySignal(p, t, signal)).ToList();
        if (targets.Count == 0) return pid == -1 ? 0 : -Errno.EPERM;
        if (signal != 0)
            foreach (var t in targets) t.SendSignal(signal, new SignalInfo(signal, SignalInfo.SiUser, p.Pid, Libc.getuid()));
        return 0;
    }

    [Syscall(131, "tgkill", "ddS")]
    private static long TgKill(LinuxProcess p, in SyscallArgs a) => SendTo(p, a.Int(0), a.Int(1), a.Int(2));

    [Syscall(130, "tkill", "dS")]
    private static long TKill(LinuxProcess p, in SyscallArgs a) => SendTo(p, 0, a.Int(0), a.Int(1));

    /// <summary>A signal to one thread, found by its thread id (and, for tgkill, in process <paramref name="tgid"/>).</summary>
    private static long SendTo(LinuxProcess p, int tgid, int tid, int signal)
    {
        if (signal is < 0 or > 64 || tid <= 0 || tgid < 0) return -Errno.EINVAL;
        var target = p.Table.FindThread(tid);
        if (target is null || target.Exiting || target.Process.IsZombie || (tgid != 0 && target.Process.Pid != tgid)) return -Errno.ESRCH;
        if (!Credentials.MaySignal(p, target.Process, signal)) return -Errno.EPERM;
        if (signal != 0) target.Process.SendThreadSignal(target, signal, new SignalInfo(signal, SignalInfo.SiTkill, p.Pid, Libc.getuid()));
        return 0;
    }
}
