using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Signals;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// signalfd4: guest signals are the VM's, not the host's, so a signalfd is a <see cref="ServedFile"/>
/// that reads the process's pending signals in its mask as struct signalfd_siginfo (128 bytes, the
/// same on every 64-bit Linux), dequeuing them as rt_sigtimedwait would, and polls readable while one
/// is pending (<see cref="LinuxProcess.RefreshSignalFds"/> keeps that up to date).
/// </summary>
internal sealed unsafe class SignalFdFile : ServedFile
{
    public const int InfoSize = 128;

    /// <summary>The process whose pending signals decide readiness (the one that made it; a forked child reads its own signals).</summary>
    public LinuxProcess Owner { get; }

    /// <summary>The signals it reads (never SIGKILL or SIGSTOP), changed by signalfd4 on the descriptor.</summary>
    public ulong Mask { get; set; }

    private SignalFdFile(LinuxProcess owner, ulong mask)
    {
        Owner = owner;
        Mask = mask;
    }

    public static long Create(LinuxProcess owner, ulong mask, bool nonblocking, out SignalFdFile file)
    {
        file = new SignalFdFile(owner, mask);
        long fd = file.Open(nonblocking);
        if (fd < 0) file.Dispose();
        return fd;
    }

    /// <summary>Called under the owner's signal lock with the signals pending for any of its threads.</summary>
    public void Refresh(ulong pending) => SetReadable((pending & Mask) != 0);

    public override long Read(LinuxProcess p, int hostFd, byte* buffer, ulong count)
    {
        if (count < InfoSize) return -Errno.EINVAL;
        for (int idle = 0; ; idle++)
        {
            ulong n = 0;
            while (n + InfoSize <= count)
            {
                int signal = p.DequeueSignal(Mask, out var info);
                if (signal == 0) break;
                Write(buffer + n, signal, info);
                n += InfoSize;
            }
            if (n > 0) return (long)n;
            if (NonBlocking(hostFd)) return -Errno.EAGAIN;
            long ready = Blocking.WaitReady(p, hostFd, Blocking.PollIn);
            if (ready < 0) return ready;
            // Readiness counts signals pending for any thread; one for another thread is not this one's to take.
            if (idle > 0)
                using (p.Current.Asleep()) p.SignalArrived.WaitOne(20);
        }
    }

    /// <summary>struct signalfd_siginfo: signo, errno, code, pid, uid, fd, tid, band, overrun, trapno, status at 40, … addr at 72.</summary>
    private static void Write(byte* at, int signal, in SignalInfo info)
    {
        new Span<byte>(at, InfoSize).Clear();
        *(uint*)at = (uint)signal;
        *(int*)(at + 8) = info.Code;
        *(uint*)(at + 12) = (uint)info.Pid;
        *(uint*)(at + 16) = info.Uid;
        *(int*)(at + 40) = info.Status;
        *(ulong*)(at + 72) = info.Address;
    }
}

internal static unsafe partial class SignalFdSyscalls
{
    private const int SfdNonblock = 0x800, SfdCloexec = 0x80000;

    [Syscall(74, "signalfd4", "dxuc")]
    private static long SignalFd4(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(3);
        if ((flags & ~(SfdNonblock | SfdCloexec)) != 0 || a.A2 != 8) return -Errno.EINVAL;
        if (!Guest.Get(p, a.A1, out ulong mask)) return -Errno.EFAULT;
        mask &= ~LinuxProcess.Unblockable;
        int fd = a.Int(0);
        if (fd != -1)
        {
            int host = p.Files.Host(fd);
            if (host < 0) return -Errno.EBADF;
            if (ServedFile.Find(host) is not SignalFdFile existing) return -Errno.EINVAL;
            existing.Mask = mask;
            existing.Owner.RefreshSignalFds();
            return fd;
        }
        long hostFd = SignalFdFile.Create(p, mask, (flags & SfdNonblock) != 0, out var file);
        if (hostFd < 0) return hostFd;
        p.AddSignalFd(file);
        return p.Files.Add((int)hostFd, (flags & SfdCloexec) != 0);
    }
}
