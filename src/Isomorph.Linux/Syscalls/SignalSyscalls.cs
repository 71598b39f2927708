namespace Isomorph.Linux.Syscalls;

/// <summary>
/// Signal state. For now dispositions and the mask are recorded and reported back, but no guest
/// handler runs: a fault still ends the process with its signal.
/// </summary>
internal static unsafe class SignalSyscalls
{
    private const int SigBlock = 0, SigUnblock = 1, SigSetmask = 2;
    private const ulong Unblockable = (1ul << (9 - 1)) | (1ul << (19 - 1)); // SIGKILL, SIGSTOP

    [Syscall(134, "rt_sigaction", "dxxu")]
    private static long RtSigaction(LinuxProcess p, in SyscallArgs a)
    {
        int signal = a.Int(0);
        if (signal is < 1 or > 64 || a.A3 != 8) return -Errno.EINVAL;
        var old = p.SignalActions.GetValueOrDefault(signal);
        if (a.A1 != 0)
        {
            if (signal is 9 or 19) return -Errno.EINVAL;
            if (!Guest.Get(p, a.A1, out ulong handler) || !Guest.Get(p, a.A1 + 8, out ulong flags) || !Guest.Get(p, a.A1 + 16, out ulong mask))
                return -Errno.EFAULT;
            p.SignalActions[signal] = (handler, flags, mask);
        }
        if (a.A2 != 0 && !(Guest.Put(p, a.A2, old.Handler) && Guest.Put(p, a.A2 + 8, old.Flags) && Guest.Put(p, a.A2 + 16, old.Mask)))
            return -Errno.EFAULT;
        return 0;
    }

    [Syscall(135, "rt_sigprocmask", "dxxu")]
    private static long RtSigprocmask(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A3 != 8) return -Errno.EINVAL;
        ulong old = p.BlockedSignals;
        if (a.A1 != 0)
        {
            if (!Guest.Get(p, a.A1, out ulong set)) return -Errno.EFAULT;
            switch (a.Int(0))
            {
                case SigBlock: p.BlockedSignals |= set; break;
                case SigUnblock: p.BlockedSignals &= ~set; break;
                case SigSetmask: p.BlockedSignals = set; break;
                default: return -Errno.EINVAL;
            }
            p.BlockedSignals &= ~Unblockable;
        }
        if (a.A2 != 0 && !Guest.Put(p, a.A2, old)) return -Errno.EFAULT;
        return 0;
    }

    [Syscall(129, "kill", "dd")]
    private static long Kill(LinuxProcess p, in SyscallArgs a)
    {
        int pid = a.Int(0), signal = a.Int(1);
        if (signal is < 0 or > 64) return -Errno.EINVAL;
        List<LinuxProcess> targets = pid switch
        {
            > 0 => p.Table.Find(pid) is { IsZombie: false } one ? [one] : [],
            0 => p.Table.Group(p.ProcessGroup),
            -1 => p.Table.All().Where(t => t != p).ToList(), // every process it may signal: the run's own
            _ => p.Table.Group(-pid),
        };
        if (targets.Count == 0) return -Errno.ESRCH;
        if (signal != 0)
            foreach (var t in targets) t.SendSignal(signal);
        return 0;
    }

    [Syscall(131, "tgkill", "ddd")]
    private static long TgKill(LinuxProcess p, in SyscallArgs a) => SendTo(p, a.Int(1), a.Int(2));

    [Syscall(130, "tkill", "dd")]
    private static long TKill(LinuxProcess p, in SyscallArgs a) => SendTo(p, a.Int(0), a.Int(1));

    /// <summary>A signal to one thread; each process has one thread, whose id is the process id.</summary>
    private static long SendTo(LinuxProcess p, int tid, int signal)
    {
        if (signal is < 0 or > 64) return -Errno.EINVAL;
        var target = tid == p.Pid ? p : p.Table.Find(tid);
        if (target is null || target.IsZombie) return -Errno.ESRCH;
        if (signal != 0) target.SendSignal(signal);
        return 0;
    }
}
