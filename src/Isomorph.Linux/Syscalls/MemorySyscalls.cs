using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// The address space: brk, mmap, munmap, mprotect, mremap, madvise, msync. Private file mappings
/// are copies of the file's bytes; MAP_SHARED ones (file or anonymous) are host shared mappings,
/// see <see cref="GuestAddressSpace.MapShared"/>.
/// </summary>
internal static unsafe partial class MemorySyscalls
{
    private const ulong MapShared = 0x01, MapPrivate = 0x02, MapSharedValidate = 0x03, MapTypeMask = 0x0F, MapFixed = 0x10, MapAnonymous = 0x20, MapGrowsDown = 0x100,
        MapLocked = 0x2000, MapFixedNoReplace = 0x100000;
    private const ulong MremapMayMove = 1, MremapFixed = 2;
    private const int MadvDontNeed = 4, MadvFree = 8;
    private const ulong PageMask = GuestAddressSpace.PageSize - 1;

    /// <summary>brk: moves the program break; answers the current break when the request cannot be met.</summary>
    [Syscall(214, "brk", "p")]
    private static long Brk(LinuxProcess p, in SyscallArgs a)
    {
        ulong requested = a.A0;
        // Below the start or past where mappings may go (brk(-1) included): the break stays where it is.
        if (requested < p.BrkStart || requested > p.Layout.MmapTop) return (long)p.Brk;
        ulong oldEnd = GuestAddressSpace.PageUp(p.Brk), newEnd = GuestAddressSpace.PageUp(requested);
        if (newEnd > oldEnd)
        {
            if (!p.Memory.IsFree(oldEnd, newEnd - oldEnd) || newEnd > p.Layout.MmapTop) return (long)p.Brk;
            if (p.Memory.Map(oldEnd, newEnd - oldEnd, PageFlags.Read | PageFlags.Write) != 0) return (long)p.Brk;
        }
        else if (newEnd < oldEnd)
        {
            p.Memory.Unmap(newEnd, oldEnd - newEnd);
        }
        p.Brk = requested;
        return (long)requested;
    }

    [Syscall(222, "mmap", "puPMdx")]
    private static long Mmap(LinuxProcess p, in SyscallArgs a)
    {
        ulong address = a.A0, length = a.A1, flags = a.A3, offset = a.A5;
        var protection = Protection.FromProt(a.A2)
            | ((flags & MapGrowsDown) != 0 ? PageFlags.GrowsDown : 0) | ((flags & MapLocked) != 0 ? PageFlags.Locked : 0);
        if (length == 0 || (offset & PageMask) != 0) return -Errno.EINVAL;
        ulong size = GuestAddressSpace.PageUp(length);
        if (size < length) return -Errno.ENOMEM;
        bool anonymous = (flags & MapAnonymous) != 0;
        // The mapping type first: neither MAP_SHARED, MAP_PRIVATE nor MAP_SHARED_VALIDATE is EINVAL, before the file's access is looked at.
        if ((flags & MapTypeMask) is not (MapShared or MapPrivate or MapSharedValidate)) return -Errno.EINVAL;
        if ((flags & MapLocked) != 0 && MayLock(p, size) is var allowed && allowed != 0) return allowed;
        bool shared = (flags & MapTypeMask) is MapShared or MapSharedValidate;
        int hostFd = -1;
        bool writableFile = false;
        if (!anonymous)
        {
            hostFd = p.Files.Host(a.Int(4));
            if (hostFd < 0) return -Errno.EBADF;
            int access = Libc.fcntl(hostFd, 3 /* F_GETFL */, 0) & 3;
            if (access == 1 /* O_WRONLY */) return -Errno.EACCES;
            writableFile = access == 2 /* O_RDWR */;
            if (shared && (protection & PageFlags.Write) != 0 && !writableFile) return -Errno.EACCES;
        }

        if ((flags & (MapFixed | MapFixedNoReplace)) != 0)
        {
            if ((address & PageMask) != 0) return -Errno.EINVAL;
            if (!p.Memory.InRange(address, size)) return -Errno.ENOMEM; // past the top of user space, as Linux says
            if ((flags & MapFixed) == 0 && !p.Memory.IsFree(address, size)) return -Errno.EEXIST;
        }
        else if (address == 0 || (address & PageMask) != 0 || !p.Memory.IsFree(address, size) || address < GuestAddressSpace.MinimumAddress)
        {
            address = p.Memory.FindFree(size, p.Layout.MmapTop);
            if (address == 0) return -Errno.ENOMEM;
        }

        long status = !shared ? p.Memory.Map(address, size, protection)
            : anonymous ? p.Memory.MapSharedAnonymous(address, size, protection)
            : p.Memory.MapShared(address, size, protection, hostFd, (long)offset, writableFile);
        if (status != 0) return status;
        if (!anonymous && !shared)
        {
            // A private copy of the file's bytes; pages past the end of the file stay zero.
            ulong done = 0;
            while (done < length)
            {
                long n = Libc.Check(Libc.pread(hostFd, p.Memory.HostAddress(address + done), (nuint)(length - done), (long)(offset + done)));
                if (n < 0)
                {
                    p.Memory.Unmap(address, size);
                    return n;
                }
                if (n == 0) break;
                done += (ulong)n;
            }
            p.Memory.NoteWritten(address, done);
            // Pages wholly past the end of the file: SIGBUS, as on Linux.
            status = p.Memory.MarkBeyondFile(address, size, hostFd, (long)offset);
            if (status != 0)
            {
                p.Memory.Unmap(address, size);
                return status;
            }
        }
        return (long)address;
    }

    [Syscall(215, "munmap", "pu")]
    private static long Munmap(LinuxProcess p, in SyscallArgs a) =>
        (a.A0 & PageMask) != 0 || a.A1 == 0 ? -Errno.EINVAL : p.Memory.Unmap(a.A0, a.A1);

    /// <summary>mprotect: EINVAL only for an unaligned start; any part of the range unmapped (past the top or wrapping included) is ENOMEM, as on Linux.</summary>
    [Syscall(226, "mprotect", "puP")]
    private static long Mprotect(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A0 & PageMask) != 0) return -Errno.EINVAL;
        if (a.A1 == 0) return 0;
        ulong length = GuestAddressSpace.PageUp(a.A1);
        if (length == 0 || !p.Memory.InRange(a.A0, length)) return -Errno.ENOMEM;
        return p.Memory.Protect(a.A0, length, Protection.FromProt(a.A2));
    }

    /// <summary>mlock, munlock, mlock2: pages locked in memory are only counted (VmLck); the host keeps the VM's memory as it sees fit.</summary>
    [Syscall(228, "mlock", "pu")]
    private static long Mlock(LinuxProcess p, in SyscallArgs a)
    {
        long allowed = MayLock(p, a.A1);
        if (allowed != 0) return allowed == -Errno.EAGAIN ? -Errno.ENOMEM : allowed;
        return a.A1 == 0 ? 0 : p.Memory.Lock(a.A0, a.A1, locked: true);
    }

    /// <summary>
    /// Whether <paramref name="bytes"/> more may be locked, as Linux decides: without CAP_IPC_LOCK,
    /// not at all under an RLIMIT_MEMLOCK of 0 (EPERM) and not past it (EAGAIN; mlock says ENOMEM).
    /// </summary>
    private static long MayLock(LinuxProcess p, ulong bytes)
    {
        const int RlimitMemlock = 8, CapIpcLock = 14;
        if (Capabilities.Effective(CapIpcLock)) return 0;
        ulong* limit = stackalloc ulong[2];
        if (Libc.prlimit(0, RlimitMemlock, null, (byte*)limit) != 0) return 0;
        if (limit[0] == 0) return -Errno.EPERM;
        return p.Memory.LockedBytes + GuestAddressSpace.PageUp(bytes) > limit[0] ? -Errno.EAGAIN : 0;
    }

    [Syscall(229, "munlock", "pu")]
    private static long Munlock(LinuxProcess p, in SyscallArgs a) => a.A1 == 0 ? 0 : p.Memory.Lock(a.A0, a.A1, locked: false);

    [Syscall(284, "mlock2", "pux")]
    private static long Mlock2(LinuxProcess p, in SyscallArgs a)
    {
        const ulong MlockOnFault = 1;
        return (a.A2 & ~MlockOnFault) != 0 ? -Errno.EINVAL : Mlock(p, a);
    }

    [Syscall(230, "mlockall", "x")]
    private static long Mlockall(LinuxProcess p, in SyscallArgs a)
    {
        const ulong McCurrent = 1, McFuture = 2, McOnFault = 4;
        ulong flags = a.A0;
        if (flags == 0 || (flags & ~(McCurrent | McFuture | McOnFault)) != 0 || flags == McOnFault) return -Errno.EINVAL;
        const int RlimitMemlock = 8, CapIpcLock = 14;
        ulong* limit = stackalloc ulong[2];
        if (!Capabilities.Effective(CapIpcLock) && Libc.prlimit(0, RlimitMemlock, null, (byte*)limit) == 0 && limit[0] == 0) return -Errno.EPERM;
        if ((flags & McCurrent) != 0) p.Memory.LockAll(true);
        p.Memory.LockFuture = (flags & McFuture) != 0;
        return 0;
    }

    [Syscall(231, "munlockall", "")]
    private static long Munlockall(LinuxProcess p, in SyscallArgs a)
    {
        p.Memory.LockAll(false);
        p.Memory.LockFuture = false;
        return 0;
    }

    [Syscall(233, "madvise", "pud")]
    private static long Madvise(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A0 & PageMask) != 0) return -Errno.EINVAL;
        ulong length = GuestAddressSpace.PageUp(a.A1);
        if (!p.Memory.Check(a.A0, length, PageFlags.None)) return -Errno.ENOMEM;
        if (a.Int(2) is MadvDontNeed or MadvFree)
        {
            // Private anonymous memory reads back as zeros afterwards.
            Libc.madvise((nint)p.Memory.HostAddress(a.A0), (nuint)length, Libc.MadvDontNeed);
            p.Memory.NoteWritten(a.A0, length);
        }
        return 0;
    }

    [Syscall(227, "msync", "pux")]
    private static long Msync(LinuxProcess p, in SyscallArgs a)
    {
        const int MsAsync = 1, MsInvalidate = 2, MsSync = 4;
        int flags = a.Int(2);
        if ((flags & ~(MsAsync | MsInvalidate | MsSync)) != 0 || (flags & (MsAsync | MsSync)) == (MsAsync | MsSync)) return -Errno.EINVAL;
        if ((a.A0 & PageMask) != 0) return -Errno.EINVAL;
        ulong length = GuestAddressSpace.PageUp(a.A1);
        if (length < a.A1 || !p.Memory.InRange(a.A0, length)) return -Errno.ENOMEM; // past the top or wrapping: unmapped, as on Linux
        return p.Memory.Sync(a.A0, a.A1, flags);
    }

    [Syscall(216, "mremap", "puuxp")]
    private static long Mremap(LinuxProcess p, in SyscallArgs a)
    {
        ulong old = a.A0, oldSize = GuestAddressSpace.PageUp(a.A1), newSize = GuestAddressSpace.PageUp(a.A2), flags = a.A3;
        if ((old & PageMask) != 0 || newSize == 0 || (flags & ~(MremapMayMove | MremapFixed)) != 0) return -Errno.EINVAL;
        if (newSize < a.A2 || newSize > p.Memory.Limit) return -Errno.EINVAL; // larger than user space (Linux: TASK_SIZE)
        if (!p.Memory.Check(old, oldSize, PageFlags.None)) return -Errno.EFAULT;
        var protection = p.Memory.FlagsAt(old) & PageFlags.Access;
        if (p.Memory.SharedAt(old, out int sharedFd, out long sharedOffset, out bool writable, out bool anonymous, out ulong sharedEnd))
            return RemapShared(p, a, old, oldSize, newSize, protection, sharedFd, sharedOffset, writable, anonymous, sharedEnd);
        if ((flags & MremapFixed) == 0)
        {
            if (newSize <= oldSize)
            {
                if (newSize < oldSize) p.Memory.Unmap(old + newSize, oldSize - newSize);
                return (long)old;
            }
            if (p.Memory.IsFree(old + oldSize, newSize - oldSize) && p.Memory.InRange(old, newSize))
            {
                long grown = p.Memory.Map(old + oldSize, newSize - oldSize, protection);
                return grown != 0 ? grown : (long)old;
            }
            if ((flags & MremapMayMove) == 0) return -Errno.ENOMEM;
        }
        ulong target = (flags & MremapFixed) != 0 ? a.A4 : p.Memory.FindFree(newSize, p.Layout.MmapTop);
        if (target == 0 || (target & PageMask) != 0) return target == 0 ? -Errno.ENOMEM : -Errno.EINVAL;
        long status = p.Memory.Map(target, newSize, protection);
        if (status != 0) return status;
        ulong copy = Math.Min(oldSize, newSize);
        Buffer.MemoryCopy(p.Memory.HostAddress(old), p.Memory.HostAddress(target), copy, copy);
        p.Memory.NoteWritten(target, copy);
        p.Memory.Unmap(old, oldSize);
        return (long)target;
    }

    /// <summary>mremap of a shared mapping: the same file pages mapped at the new size, in place or moved (a memfd grows with it).</summary>
    private static long RemapShared(LinuxProcess p, in SyscallArgs a, ulong old, ulong oldSize, ulong newSize, PageFlags protection,
        int fd, long offset, bool writable, bool anonymous, ulong sharedEnd)
    {
        ulong flags = a.A3;
        if (old + oldSize > sharedEnd) return -Errno.EFAULT;
        if (newSize <= oldSize && (flags & MremapFixed) == 0)
        {
            if (newSize < oldSize) p.Memory.Unmap(old + newSize, oldSize - newSize);
            return (long)old;
        }
        ulong target = old;
        if ((flags & MremapFixed) != 0) target = a.A4;
        else if (!p.Memory.InRange(old, newSize) || !p.Memory.IsFree(old + oldSize, newSize - oldSize))
        {
            if ((flags & MremapMayMove) == 0) return -Errno.ENOMEM;
            target = p.Memory.FindFree(newSize, p.Layout.MmapTop);
            if (target == 0) return -Errno.ENOMEM;
        }
        if ((target & PageMask) != 0) return -Errno.EINVAL;
        if (anonymous && Libc.ftruncate(fd, offset + (long)newSize) != 0) return -Errno.ENOMEM;
        // The descriptor belongs to the old mapping, which the new one may replace: keep a copy meanwhile.
        int copy = Libc.fcntl(fd, Libc.FDupfdCloexec, 0);
        if (copy < 0) return -Errno.EMFILE;
        long status = p.Memory.MapShared(target, newSize, protection, copy, offset, writable, anonymous);
        Libc.close(copy);
        if (status != 0) return status;
        if (target != old) p.Memory.Unmap(old, oldSize);
        return (long)target;
    }
}
