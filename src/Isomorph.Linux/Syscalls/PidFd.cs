using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Host;
using Isomorph.Linux.Signals;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// A pidfd: a <see cref="ServedFile"/> naming one guest process, which polls readable once that
/// process has ended (<see cref="LinuxProcess.NotifyPidFds"/>); read() on it fails with EINVAL, as on Linux.
/// </summary>
internal sealed unsafe class PidFdFile : ServedFile
{
    public LinuxProcess Target { get; }

    private PidFdFile(LinuxProcess target) => Target = target;

    public static long Create(LinuxProcess target, bool nonblocking, out PidFdFile file)
    {
        file = new PidFdFile(target);
        long fd = file.Open(nonblocking);
        if (fd < 0) file.Dispose();
        return fd;
    }

    /// <summary>The target has ended.</summary>
    public void Ended() => SetReadable(true);

    public override long Read(LinuxProcess p, int hostFd, byte* buffer, ulong count) => -Errno.EINVAL;

    /// <summary>The process guest descriptor <paramref name="fd"/> is a pidfd of: -EBADF when it is none.</summary>
    public static long Find(LinuxProcess p, int fd, out PidFdFile? file)
    {
        file = null;
        int host = p.Files.Host(fd);
        if (host < 0) return -Errno.EBADF;
        file = ServedFile.Find(host) as PidFdFile;
        return file is null ? -Errno.EBADF : 0;
    }
}

internal static unsafe partial class PidFdSyscalls
{
    private const int PidfdNonblock = 0x800;
    /// <summary>pidfd_send_signal's scopes (Linux 6.9): the thread, its thread group (the default), its process group.</summary>
    private const ulong SignalThread = 1, SignalThreadGroup = 2, SignalProcessGroup = 4;

    /// <summary>pidfd_open(pid, flags): a close-on-exec descriptor of a guest process (a thread group leader).</summary>
    [Syscall(434, "pidfd_open", "dc")]
    private static long Open(LinuxProcess p, in SyscallArgs a)
    {
        int pid = a.Int(0);
        if ((a.Int(1) & ~PidfdNonblock) != 0 || pid <= 0) return -Errno.EINVAL;
        var target = p.Table.Find(pid);
        if (target is null) return p.Table.FindThread(pid) is null ? -Errno.ESRCH : -Errno.EINVAL; // a thread that is not a leader
        long hostFd = PidFdFile.Create(target, (a.Int(1) & PidfdNonblock) != 0, out var file);
        if (hostFd < 0) return hostFd;
        p.Own(file);
        target.WatchEnd(file);
        return p.Files.Add((int)hostFd, closeOnExec: true);
    }

    /// <summary>
    /// pidfd_send_signal(pidfd, sig, info, flags): kill through a pidfd, to the process, its main thread
    /// or its process group (PIDFD_SIGNAL_*); a siginfo the caller gives must name the same signal.
    /// </summary>
    [Syscall(424, "pidfd_send_signal", "dSxx")]
    private static long SendSignal(LinuxProcess p, in SyscallArgs a)
    {
        int signal = a.Int(1);
        ulong scope = a.A3;
        if ((scope & ~(SignalThread | SignalThreadGroup | SignalProcessGroup)) != 0 || ulong.PopCount(scope) > 1 || signal is < 0 or > 64)
            return -Errno.EINVAL;
        long r = PidFdFile.Find(p, a.Int(0), out var file);
        if (r < 0) return r;
        var target = file!.Target;
        if (p.Table.Find(target.Pid) != target) return -Errno.ESRCH; // reaped
        var info = new SignalInfo(signal, SignalInfo.SiUser, p.Pid, Libc.getuid());
        if (a.A2 != 0)
        {
            byte* given = Guest.Readable(p, a.A2, SignalInfo.Size);
            if (given == null) return -Errno.EFAULT;
            if (*(int*)given != signal) return -Errno.EINVAL;
            int code = *(int*)(given + 8);
            // Only the kernel may claim SI_USER or a positive code, except to oneself.
            if (target != p && code >= 0) return -Errno.EPERM;
            info = new SignalInfo(signal, code, *(int*)(given + 16), *(uint*)(given + 20));
        }
        if (signal == 0 || target.IsZombie) return 0;
        if (scope == SignalThread) target.SendThreadSignal(target.MainThread, signal, info);
        else if (scope == SignalProcessGroup)
            foreach (var member in p.Table.Group(target.ProcessGroup)) member.SendSignal(signal, info);
        else target.SendSignal(signal, info);
        return 0;
    }

    /// <summary>
    /// clone and clone3 with CLONE_PIDFD: a pidfd of the new child, stored as an int at
    /// <paramref name="address"/> in the parent; the child's pid (or the clone's error) is the result.
    /// </summary>
    public static long ForChild(LinuxProcess p, long childPid, ulong address)
    {
        if (childPid <= 0 || p.Table.Find((int)childPid) is not { } child) return childPid;
        long hostFd = PidFdFile.Create(child, nonblocking: false, out var file);
        if (hostFd < 0) return hostFd;
        p.Own(file);
        child.WatchEnd(file);
        long fd = p.Files.Add((int)hostFd, closeOnExec: true);
        if (fd >= 0) Guest.Put(p, address, (int)fd);
        return childPid;
    }

    /// <summary>For waitid(P_PIDFD): the process id a pidfd names, or -EBADF.</summary>
    public static long PidOf(LinuxProcess p, int fd) => PidFdFile.Find(p, fd, out var file) < 0 ? -Errno.EBADF : file!.Target.Pid;
}
