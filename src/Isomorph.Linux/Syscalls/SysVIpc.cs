using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// System V IPC — shared memory, semaphores, message queues — as the host's own objects, as
/// qemu-user has them: keys, ids, permissions and IPC_RMID are the host kernel's, so the VM's
/// processes share them with each other and with host programs. Shared memory is attached into the
/// guest's address space at the guest's address (<see cref="GuestAddressSpace.AttachSysV"/>); a
/// fork attaches it again in the child. The structures are asm-generic's on riscv64 and the same on
/// x86-64, except struct semid64_ds, converted. Calls that would block (semop, msgsnd, msgrcv) wait
/// with IPC_NOWAIT retried, so that a signal still ends the wait (EINTR). The host records the
/// host process's id where Linux records the caller's (creator, last operation); for the run's own
/// processes the VM keeps those ids itself and shows them instead (<see cref="Pids"/>).
/// </summary>
internal static unsafe partial class SysVIpc
{
    /// <summary>Which of the run's processes created a host object, and made the last operations on it (sender and receiver for a queue).</summary>
    private sealed class Ids
    {
        public int Creator, Last, LastReceiver;

        /// <summary>A semaphore set's: the last process to operate on each semaphore (GETPID), by number.</summary>
        public readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> Semaphores = new();
    }

    /// <summary>By kind ('m' shared memory, 's' semaphores, 'q' queues) and host id.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(char Kind, int Id), Ids> Pids = new();

    private static Ids Of(char kind, int id) => Pids.GetOrAdd((kind, id), _ => new Ids());

    /// <summary>After a get: the caller is the creator, unless someone in the run already was.</summary>
    private static long Created(LinuxProcess p, char kind, long id)
    {
        if (id >= 0)
        {
            var ids = Of(kind, (int)id);
            Interlocked.CompareExchange(ref ids.Creator, p.Pid, 0);
        }
        return id;
    }

    /// <summary>A pid the host recorded, as the guest sees it: the run's own process when the host recorded the VM itself.</summary>
    private static int AsSeen(int hostPid, int ours) => hostPid == Environment.ProcessId && ours != 0 ? ours : hostPid;
    // x86-64's numbers.
    private const long HostShmget = 29, HostShmctl = 31, HostSemget = 64, HostSemctl = 66, HostMsgget = 68,
        HostMsgsnd = 69, HostMsgrcv = 70, HostMsgctl = 71, HostSemtimedop = 220;
    private const int IpcNowait = 0x800, IpcRmid = 0, IpcSet = 1, IpcStat = 2, IpcInfo = 3;
    private const int ShmRdonly = 0x1000, ShmRnd = 0x2000, ShmRemap = 0x4000, ShmExec = 0x8000;
    private const int ShmStat = 13, ShmInfo = 14, ShmStatAny = 15, ShmLock = 11, ShmUnlock = 12;
    private const int GetPid = 11, GetVal = 12, GetAll = 13, GetNcnt = 14, GetZcnt = 15, SetVal = 16, SetAll = 17,
        SemStat = 18, SemInfo = 19, SemStatAny = 20;
    private const int MsgStat = 11, MsgInfo = 12, MsgStatAny = 13;
    private const ulong Shmlba = GuestAddressSpace.PageSize;

    private static long Host(long number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0) =>
        Libc.Check(Libc.syscall(number, (nint)a0, (nint)a1, (nint)a2, (nint)a3, (nint)a4));

    // --- Shared memory --------------------------------------------------------------------------------

    [Syscall(194, "shmget", "xuo")]
    private static long Shmget(LinuxProcess p, in SyscallArgs a) => Created(p, 'm', Host(HostShmget, a.Int(0), (long)a.A1, a.Int(2)));

    [Syscall(196, "shmat", "dpx")]
    private static long Shmat(LinuxProcess p, in SyscallArgs a)
    {
        int id = a.Int(0), flags = a.Int(2);
        ulong address = a.A1;
        ulong size = GuestAddressSpace.PageUp(GuestAddressSpace.SegmentSize(id));
        if (size == 0)
        {
            // No such segment, or no right to it: the host's shmctl says which.
            byte* info = stackalloc byte[112];
            long error = Host(HostShmctl, id, IpcStat, (long)info);
            return error < 0 ? error : -Errno.EINVAL;
        }
        if (address == 0)
        {
            address = p.Memory.FindFree(size, p.Layout.MmapTop);
            if (address == 0) return -Errno.ENOMEM;
        }
        else
        {
            if ((address & (Shmlba - 1)) != 0)
            {
                if ((flags & ShmRnd) == 0) return -Errno.EINVAL;
                address &= ~(Shmlba - 1);
            }
            if (!p.Memory.InRange(address, size)) return -Errno.EINVAL;
            if ((flags & ShmRemap) == 0 && !p.Memory.IsFree(address, size)) return -Errno.EINVAL;
        }
        var protection = PageFlags.Read | ((flags & ShmRdonly) == 0 ? PageFlags.Write : 0) | ((flags & ShmExec) != 0 ? PageFlags.Execute : 0);
        long status = p.Memory.AttachSysV(address, size, id, protection);
        if (status < 0) return status;
        Of('m', id).Last = p.Pid;
        return (long)address;
    }

    [Syscall(197, "shmdt", "p")]
    private static long Shmdt(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A0 & (Shmlba - 1)) != 0) return -Errno.EINVAL;
        p.Memory.SysVAt(a.A0, out int id, out _);
        long r = p.Memory.DetachSysV(a.A0);
        if (r == 0 && id >= 0) Of('m', id).Last = p.Pid;
        return r;
    }

    [Syscall(195, "shmctl", "ddp")]
    private static long Shmctl(LinuxProcess p, in SyscallArgs a)
    {
        int id = a.Int(0), command = a.Int(1);
        int size = command switch
        {
            IpcStat or ShmStat or ShmStatAny or IpcSet => 112, // struct shmid64_ds
            IpcInfo => 72,                                     // struct shminfo64
            ShmInfo => 48,                                     // struct shm_info
            IpcRmid or ShmLock or ShmUnlock => 0,
            _ => -1,
        };
        if (size < 0) return -Errno.EINVAL;
        long r = WithBuffer(p, a.A2, size, reads: command == IpcSet, writes: command != IpcSet,
            buffer => Host(HostShmctl, id, command, (long)buffer));
        if (r >= 0 && command is IpcStat or ShmStat or ShmStatAny)
        {
            // shm_cpid and shm_lpid (at 80 and 84) as the run knows them; *_STAT return the id.
            var ids = Of('m', command == IpcStat ? id : (int)r);
            byte* ds = p.Memory.HostAddress(a.A2);
            *(int*)(ds + 80) = AsSeen(*(int*)(ds + 80), ids.Creator);
            *(int*)(ds + 84) = AsSeen(*(int*)(ds + 84), ids.Last);
        }
        return r;
    }

    // --- Semaphores -----------------------------------------------------------------------------------

    [Syscall(190, "semget", "xdo")]
    private static long Semget(LinuxProcess p, in SyscallArgs a) => Created(p, 's', Host(HostSemget, a.Int(0), a.Int(1), a.Int(2)));

    [Syscall(193, "semop", "dpu")]
    private static long Semop(LinuxProcess p, in SyscallArgs a) => Semtimedop(p, a with { A3 = 0 });

    [Syscall(192, "semtimedop", "dpup")]
    private static long Semtimedop(LinuxProcess p, in SyscallArgs a)
    {
        const int SembufSize = 6, SemUndo = 0x1000;
        ulong count = a.A2;
        if (count == 0) return -Errno.EINVAL;
        if (count > 1024) return -Errno.E2BIG;
        byte* operations = Guest.Readable(p, a.A1, count * SembufSize);
        if (operations == null) return -Errno.EFAULT;
        long deadline = long.MaxValue;
        if (a.A3 != 0)
        {
            if (!Guest.Get(p, a.A3, out HostTimespec timeout)) return -Errno.EFAULT;
            if (timeout.Seconds < 0 || (ulong)timeout.Nanoseconds >= 1_000_000_000) return -Errno.EINVAL;
            deadline = Environment.TickCount64 + timeout.Seconds * 1000 + timeout.Nanoseconds / 1_000_000;
        }
        // SEM_UNDO would be undone when the host process exits, not when the guest's does: refused
        // rather than kept wrong.
        for (ulong i = 0; i < count; i++)
            if ((*(short*)(operations + i * SembufSize + 4) & SemUndo) != 0)
            {
                p.WarnOnce(-192, "semop with SEM_UNDO is not supported (the host would undo it when the VM exits); returning EINVAL");
                return -Errno.EINVAL;
            }
        bool guestNowait = true;
        for (ulong i = 0; i < count; i++) guestNowait &= (*(short*)(operations + i * SembufSize + 4) & IpcNowait) != 0;
        // Every operation without IPC_NOWAIT would block: try them all at once without waiting, then wait and try again.
        var copy = new short[count * 3];
        fixed (short* ops = copy)
        {
            Buffer.MemoryCopy(operations, ops, copy.Length * 2, copy.Length * 2);
            for (ulong i = 0; i < count; i++) ops[i * 3 + 2] |= IpcNowait;
            int id = a.Int(0);
            long at = (long)ops;
            var ids = Of('s', id);
            // The operation and the record of who made it are one step: another process's operation
            // cannot come between them and leave the older record last.
            return Retry(p, deadline, guestNowait, () =>
            {
                lock (ids)
                {
                    long r = Host(HostSemtimedop, id, at, (long)count, 0);
                    if (r == 0)
                        for (int i = 0; i < (int)count; i++) ids.Semaphores[(ushort)copy[i * 3]] = p.Pid;
                    return r;
                }
            });
        }
    }

    [Syscall(191, "semctl", "dddx")]
    private static long Semctl(LinuxProcess p, in SyscallArgs a)
    {
        int id = a.Int(0), number = a.Int(1), command = a.Int(2);
        ulong argument = a.A3;
        switch (command)
        {
            case GetPid:
            {
                long r = Host(HostSemctl, id, number, command, 0);
                return r > 0 ? AsSeen((int)r, Of('s', id).Semaphores.GetValueOrDefault(number)) : r;
            }
            case IpcRmid:
            {
                long r = Host(HostSemctl, id, number, command, 0);
                if (r == 0) Pids.TryRemove(('s', id), out _);
                return r;
            }
            case GetVal or GetNcnt or GetZcnt:
                return Host(HostSemctl, id, number, command, 0);
            case SetVal:
                return Host(HostSemctl, id, number, command, (int)argument);
            case IpcInfo or SemInfo:
                return WithBuffer(p, argument, 40, reads: false, writes: true, b => Host(HostSemctl, id, number, command, (long)b)); // struct seminfo
            case GetAll or SetAll:
            {
                // The array's length is the set's: ask the host first.
                byte* host = stackalloc byte[104];
                long r = Host(HostSemctl, id, 0, IpcStat, (long)host);
                if (r < 0) return r;
                ulong bytes = *(ulong*)(host + 80) * 2;
                return WithBuffer(p, argument, (int)bytes, reads: command == SetAll, writes: command == GetAll,
                    b => Host(HostSemctl, id, number, command, (long)b));
            }
            case IpcStat or SemStat or SemStatAny or IpcSet:
            {
                // struct semid64_ds: riscv64's (asm-generic, 88 bytes) has sem_otime, sem_ctime and
                // sem_nsems back to back after the permissions; x86-64's (104) pads each time with a word.
                byte* guest = command == IpcSet ? Guest.Readable(p, argument, 88) : Guest.Writable(p, argument, 88);
                if (guest == null) return -Errno.EFAULT;
                byte* host = stackalloc byte[104];
                new Span<byte>(host, 104).Clear();
                if (command == IpcSet)
                {
                    Buffer.MemoryCopy(guest, host, 48, 48);
                    return Host(HostSemctl, id, number, command, (long)host);
                }
                long r = Host(HostSemctl, id, number, command, (long)host);
                if (r < 0) return r;
                Buffer.MemoryCopy(host, guest, 48, 48);
                ((ulong*)guest)[6] = *(ulong*)(host + 48);  // sem_otime
                ((ulong*)guest)[7] = *(ulong*)(host + 64);  // sem_ctime
                ((ulong*)guest)[8] = *(ulong*)(host + 80);  // sem_nsems
                ((ulong*)guest)[9] = ((ulong*)guest)[10] = 0;
                p.Memory.NoteWritten(argument, 88);
                return r;
            }
            default:
                return -Errno.EINVAL;
        }
    }

    // --- Message queues -------------------------------------------------------------------------------

    [Syscall(186, "msgget", "xo")]
    private static long Msgget(LinuxProcess p, in SyscallArgs a) => Created(p, 'q', Host(HostMsgget, a.Int(0), a.Int(1)));

    [Syscall(187, "msgctl", "ddp")]
    private static long Msgctl(LinuxProcess p, in SyscallArgs a)
    {
        int id = a.Int(0), command = a.Int(1);
        int size = command switch
        {
            IpcStat or MsgStat or MsgStatAny or IpcSet => 120, // struct msqid64_ds
            IpcInfo or MsgInfo => 32,                          // struct msginfo
            IpcRmid => 0,
            _ => -1,
        };
        if (size < 0) return -Errno.EINVAL;
        long r = WithBuffer(p, a.A2, size, reads: command == IpcSet, writes: command != IpcSet,
            buffer => Host(HostMsgctl, id, command, (long)buffer));
        if (r >= 0 && command is IpcStat or MsgStat or MsgStatAny)
        {
            // msg_lspid and msg_lrpid (at 96 and 100) as the run knows them.
            var ids = Of('q', command == IpcStat ? id : (int)r);
            byte* ds = p.Memory.HostAddress(a.A2);
            *(int*)(ds + 96) = AsSeen(*(int*)(ds + 96), ids.Last);
            *(int*)(ds + 100) = AsSeen(*(int*)(ds + 100), ids.LastReceiver);
        }
        if (r == 0 && command == IpcRmid) Pids.TryRemove(('q', id), out _);
        return r;
    }

    [Syscall(189, "msgsnd", "dpud")]
    private static long Msgsnd(LinuxProcess p, in SyscallArgs a)
    {
        if ((long)a.A2 < 0) return -Errno.EINVAL;
        byte* message = Guest.Readable(p, a.A1, 8 + a.A2); // long mtype, then the text
        if (message == null) return -Errno.EFAULT;
        int id = a.Int(0), flags = a.Int(3);
        long at = (long)message, length = (long)a.A2;
        var ids = Of('q', id);
        return Retry(p, long.MaxValue, (flags & IpcNowait) != 0, () =>
        {
            lock (ids)
            {
                long r = Host(HostMsgsnd, id, at, length, flags | IpcNowait);
                if (r == 0) ids.Last = p.Pid;
                return r;
            }
        });
    }

    [Syscall(188, "msgrcv", "dpudx")]
    private static long Msgrcv(LinuxProcess p, in SyscallArgs a)
    {
        if ((long)a.A2 < 0) return -Errno.EINVAL;
        byte* message = Guest.Writable(p, a.A1, 8 + a.A2);
        if (message == null) return -Errno.EFAULT;
        int id = a.Int(0), flags = a.Int(4);
        long at = (long)message, length = (long)a.A2, type = (long)a.A3;
        var ids = Of('q', id);
        long r = Retry(p, long.MaxValue, (flags & IpcNowait) != 0, () =>
        {
            lock (ids)
            {
                long got = Host(HostMsgrcv, id, at, length, type, flags | IpcNowait);
                if (got >= 0) ids.LastReceiver = p.Pid;
                return got;
            }
        }, -Errno.ENOMSG);
        if (r >= 0) p.Memory.NoteWritten(a.A1, 8 + (ulong)r);
        return r;
    }

    // --- Helpers --------------------------------------------------------------------------------------

    /// <summary>
    /// Runs a host call made with IPC_NOWAIT until it stops answering <paramref name="wouldBlock"/>
    /// (EAGAIN; ENOMSG for msgrcv), the guest asked not to wait, a signal arrives (EINTR) or the
    /// deadline passes (EAGAIN).
    /// </summary>
    private static long Retry(LinuxProcess p, long deadline, bool guestNowait, Func<long> call, long wouldBlock = -Errno.EAGAIN)
    {
        int pause = 1;
        var polls = stackalloc HostPollfd[1];
        while (true)
        {
            long r = call();
            if (r != wouldBlock || guestNowait) return r;
            if (p.HasDeliverableSignal()) return -Errno.EINTR;
            if (Environment.TickCount64 >= deadline) return -Errno.EAGAIN;
            polls[0] = new HostPollfd { Fd = p.WakeupFd, Events = Blocking.PollIn };
            var wait = new HostTimespec { Seconds = 0, Nanoseconds = pause * 1_000_000L };
            int woken;
            using (p.Current.Asleep()) woken = Libc.ppoll(polls, 1, &wait, null);
            if (woken > 0) p.DrainWakeup();
            pause = Math.Min(pause * 2, 8);
        }
    }

    /// <summary>Runs a host call on a guest buffer of <paramref name="size"/> bytes (none when 0), checked for the directions it is used in.</summary>
    private static long WithBuffer(LinuxProcess p, ulong address, int size, bool reads, bool writes, Func<nint, long> call)
    {
        if (size == 0) return call(0);
        byte* buffer = writes ? Guest.Writable(p, address, (ulong)size) : Guest.Readable(p, address, (ulong)size);
        if (buffer == null || (reads && writes && Guest.Readable(p, address, (ulong)size) == null)) return -Errno.EFAULT;
        long r = call((nint)buffer);
        if (r >= 0 && writes) p.Memory.NoteWritten(address, (ulong)size);
        return r;
    }
}
