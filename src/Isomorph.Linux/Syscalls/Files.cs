using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>Descriptors and their data: open, close, read, write, seek, duplicate, control.</summary>
internal static unsafe partial class Files
{
    private const int FDupfd = 0, FGetfd = 1, FSetfd = 2, FGetfl = 3, FSetfl = 4, FGetlk = 5, FSetlk = 6, FSetlkw = 7, FDupfdCloexec = 1030;
    private const int FdCloexec = 1;

    [Syscall(56, "openat", "fsOm")]
    private static long OpenAt(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Root is not null) return OpenInRoot(p, a);
        var path = Guest.HostPath(p, a.A1, out var guestPath, out long error);
        if (path is null) return error;
        var synthesized = ProcView.Synthesized(p, guestPath!);
        if (synthesized is not null) return OpenSynthesized(p, synthesized, a.Int(2));
        if (ProcView.SynthesizedDirectory(p, guestPath!) is { } listing) return OpenListing(p, listing, a.Int(2));
        int dir = guestPath!.StartsWith('/') ? Libc.AtFdCwd : p.Files.HostDirectory(a.Int(0));
        if (dir == -1) return -Errno.EBADF;
        int flags = a.Int(2);
        fixed (byte* at = path)
        {
            long fd = Libc.Check(Libc.openat(dir, at, flags | Libc.OCloexec, a.Int(3) & ~(int)p.Umask));
            if (fd >= 0 && (flags & OTrunc) != 0) Shrinking(p, (int)fd, 0, truncated: true);
            return fd < 0 ? fd : p.Files.Add((int)fd, (flags & Libc.OCloexec) != 0);
        }
    }

    /// <summary>openat under --root: openat2 with RESOLVE_IN_ROOT does the whole lookup, O_CREAT included.</summary>
    private static long OpenInRoot(LinuxProcess p, in SyscallArgs a)
    {
        long r = Guest.ReadPath(p, a.A1, out var guestPath);
        if (guestPath is null) return r;
        if (guestPath.Length == 0) return -Errno.ENOENT;
        r = Guest.AbsoluteInRoot(p, a.A0, guestPath, out var absolute, rewriteProc: false);
        if (r < 0) return r;
        int flags = a.Int(2);
        var synthesized = ProcView.Synthesized(p, absolute!);
        if (synthesized is not null) return OpenSynthesized(p, synthesized, flags);
        if (ProcView.SynthesizedDirectory(p, absolute!) is { } listing) return OpenListing(p, listing, flags);
        long fd;
        int reopened = ProcView.ReopenedDescriptor(p, absolute!);
        if (reopened >= 0)
        {
            // /proc/self/fd/N: a new open file description of the descriptor's own object, whatever it is.
            int host = p.Files.Host(reopened);
            if (host < 0) return -Errno.ENOENT;
            var magic = System.Text.Encoding.UTF8.GetBytes($"/proc/self/fd/{host}\0");
            fixed (byte* at = magic) fd = Libc.Check(Libc.openat(Libc.AtFdCwd, at, flags | Libc.OCloexec, 0));
        }
        else
        {
            string path = ProcView.Rewrite(p, absolute!);
            // A device is looked at before it is opened (opening one can act: a terminal, a tape), and
            // what was opened is looked at again, in case the name changed meanwhile.
            const int ONofollow = 0x20000;
            long probe = p.Root!.Open(path, Libc.OPath | (flags & ONofollow), 0);
            if (probe >= 0)
            {
                long refused = Jail.Device(p, (int)probe);
                Libc.close((int)probe);
                if (refused < 0) return refused;
            }
            fd = p.Root!.Open(path, flags, a.Int(3) & ~(int)p.Umask);
        }
        if (fd >= 0 && Jail.Device(p, (int)fd) is < 0 and var jailed)
        {
            Libc.close((int)fd);
            return jailed;
        }
        if (fd >= 0 && (flags & OTrunc) != 0) Shrinking(p, (int)fd, 0, truncated: true);
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & Libc.OCloexec) != 0);
    }

    /// <summary>A /proc directory whose entries the VM makes up (<see cref="ProcView.SynthesizedDirectory"/>): the guest's descriptor stands on a host directory.</summary>
    private static long OpenListing(LinuxProcess p, FileSystem.DirectoryListing listing, int flags)
    {
        if ((flags & 3) != 0) return -Errno.EISDIR;
        int fd = Libc.OpenDirectory(Libc.AtFdCwd, "/proc/self");
        if (fd < 0) return -Errno.ENOENT;
        return p.Files.Add(fd, (flags & Libc.OCloexec) != 0, listing: listing);
    }

    /// <summary>A /proc file the VM writes (<see cref="ProcView.Synthesized"/>): a memfd holding the text, read from its start.</summary>
    private static long OpenSynthesized(LinuxProcess p, string text, int flags)
    {
        if ((flags & 3) != 0) return -Errno.EACCES;
        int fd = Libc.memfd_create("isomorph-proc", Libc.MfdCloexec);
        if (fd < 0) return -Errno.ENOMEM;
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* at = bytes)
        {
            for (int done = 0; done < bytes.Length;)
            {
                long n = Libc.Check(Libc.write(fd, at + done, (nuint)(bytes.Length - done)));
                if (n <= 0)
                {
                    Libc.close(fd);
                    return n < 0 ? n : -Errno.EIO;
                }
                done += (int)n;
            }
        }
        Libc.lseek(fd, 0, 0);
        return p.Files.Add(fd, (flags & Libc.OCloexec) != 0);
    }

    [Syscall(57, "close", "d")]
    private static long Close(LinuxProcess p, in SyscallArgs a) => p.Files.Close(a.Int(0));

    [Syscall(63, "read", "dxu")]
    private static long Read(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Writable(p, a.A1, a.A2);
        if (buffer == null) return -Errno.EFAULT;
        if (FileSystem.ServedFile.Find(fd) is { } served) return Served(p, served.Read(p, fd, buffer, a.A2), a.A1);
        long ready = Blocking.WaitReady(p, fd, Blocking.PollIn);
        if (ready < 0) return ready;
        long n = Libc.Check(Libc.read(fd, buffer, (nuint)a.A2));
        if (n > 0) p.Memory.NoteWritten(a.A1, (ulong)n);
        return n;
    }

    /// <summary>What a served descriptor's read gave (<see cref="FileSystem.ServedFile"/>), noted as written.</summary>
    private static long Served(LinuxProcess p, long n, ulong buffer)
    {
        if (n > 0) p.Memory.NoteWritten(buffer, (ulong)n);
        return n;
    }

    [Syscall(64, "write", "dxu")]
    private static long Write(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Readable(p, a.A1, a.A2);
        if (buffer == null) return -Errno.EFAULT;
        if (FileSystem.ServedFile.Find(fd) is not null) return -Errno.EINVAL;
        long ready = Blocking.WaitReady(p, fd, Blocking.PollOut);
        if (ready < 0) return ready;
        return Written(p, Libc.Check(Libc.write(fd, buffer, (nuint)a.A2)));
    }

    [Syscall(67, "pread64", "dxud")]
    private static long PRead(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Writable(p, a.A1, a.A2);
        if (buffer == null) return -Errno.EFAULT;
        long n = Libc.Check(Libc.pread(fd, buffer, (nuint)a.A2, (long)a.A3));
        if (n > 0) p.Memory.NoteWritten(a.A1, (ulong)n);
        return n;
    }

    [Syscall(68, "pwrite64", "dxud")]
    private static long PWrite(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Readable(p, a.A1, a.A2);
        if (buffer == null) return -Errno.EFAULT;
        return Written(p, Libc.Check(Libc.pwrite(fd, buffer, (nuint)a.A2, (long)a.A3)));
    }

    [Syscall(65, "readv", "dxd")]
    private static long ReadV(LinuxProcess p, in SyscallArgs a) => Vector(p, a, write: false);

    [Syscall(66, "writev", "dxd")]
    private static long WriteV(LinuxProcess p, in SyscallArgs a) => Vector(p, a, write: true);

    /// <summary>readv/writev: the guest's iovec array becomes a host one after every buffer is checked.</summary>
    private static long Vector(LinuxProcess p, in SyscallArgs a, bool write)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        int count = a.Int(2);
        if (count is < 0 or > 1024) return -Errno.EINVAL;
        var host = stackalloc HostIovec[Math.Max(count, 1)];
        long checkedIovecs = Guest.Iovecs(p, a.A1, count, hostReads: write, host, out ulong* guest);
        if (checkedIovecs < 0) return checkedIovecs;
        long ready = Blocking.WaitReady(p, fd, write ? Blocking.PollOut : Blocking.PollIn);
        if (ready < 0) return ready;
        long n = Libc.Check(write ? Libc.writev(fd, host, count) : Libc.readv(fd, host, count));
        if (!write && n > 0) Guest.NoteIovecsWritten(p, guest, count);
        return write ? Written(p, n) : n;
    }

    /// <summary>A write to a pipe nobody reads also raises SIGPIPE, as the kernel does (the host's is ignored by .NET).</summary>
    private static long Written(LinuxProcess p, long result)
    {
        if (result == -Errno.EPIPE) p.SendSignal(LinuxProcess.Sigpipe);
        return result;
    }

    [Syscall(62, "lseek", "ddW")]
    private static long Seek(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd >= 0 && p.Files.Listing(a.Int(0)) is { } listing) return listing.Seek((long)a.A1, a.Int(2));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.lseek(fd, (long)a.A1, a.Int(2)));
    }

    [Syscall(23, "dup", "d")]
    private static long Dup(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        long copy = Libc.Check(Libc.fcntl(fd, FDupfdCloexec, 0));
        return copy < 0 ? copy : p.Files.Add((int)copy, false);
    }

    [Syscall(24, "dup3", "ddc")]
    private static long Dup3(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        if (a.Int(0) == a.Int(1) || (a.Int(2) & ~Libc.OCloexec) != 0) return -Errno.EINVAL;
        long copy = Libc.Check(Libc.fcntl(fd, FDupfdCloexec, 0));
        return copy < 0 ? copy : p.Files.Replace(a.Int(1), (int)copy, (a.Int(2) & Libc.OCloexec) != 0);
    }

    private const int FSetLease = 1024, FGetLease = 1025, FSetPipeSize = 1031, FGetPipeSize = 1032, FAddSeals = 1033,
        FGetSeals = 1034, FOfdGetlk = 36, FOfdSetlk = 37, FOfdSetlkw = 38;

    [Syscall(25, "fcntl", "dFx")]
    private static long Fcntl(LinuxProcess p, in SyscallArgs a)
    {
        int guestFd = a.Int(0), fd = p.Files.Host(guestFd);
        if (fd < 0) return -Errno.EBADF;
        switch (a.Int(1))
        {
            case FDupfd or FDupfdCloexec:
                if ((uint)a.Int(2) >= FileSystem.FileTable.MaxDescriptors) return -Errno.EINVAL; // Linux: not below 0, not at or above RLIMIT_NOFILE
                long copy = Libc.Check(Libc.fcntl(fd, FDupfdCloexec, 0));
                return copy < 0 ? copy : p.Files.Add((int)copy, a.Int(1) == FDupfdCloexec, a.Int(2));
            case FGetfd:
                return p.Files.CloseOnExec(guestFd) == true ? FdCloexec : 0;
            case FSetfd:
                p.Files.SetCloseOnExec(guestFd, (a.A2 & FdCloexec) != 0);
                return 0;
            case FGetfl or FSetfl or FSetPipeSize or FGetPipeSize or FSetLease or FGetLease or FAddSeals or FGetSeals:
                // Integer arguments and answers, the same on riscv64 and the host.
                return Libc.Check(Libc.fcntl(fd, a.Int(1), (long)a.A2));
            case FGetlk or FSetlk or FSetlkw or FOfdGetlk or FOfdSetlk or FOfdSetlkw:
                // struct flock has the same layout on riscv64 and the 64-bit hosts.
                byte* flock = Guest.Writable(p, a.A2, 32);
                return flock == null ? -Errno.EFAULT : Libc.Check(Libc.fcntl(fd, a.Int(1), (long)flock));
            default:
                p.WarnOnce(25_000_000 + a.Int(1), $"fcntl command {a.Int(1)} is not supported");
                return -Errno.EINVAL;
        }
    }

    private const ulong Tcgets = 0x5401, Tcsets = 0x5402, Tcsetsw = 0x5403, Tcsetsf = 0x5404, Tiocgpgrp = 0x540F,
        Tiocspgrp = 0x5410, Tiocgwinsz = 0x5413, Tiocswinsz = 0x5414, Fionread = 0x541B, Fionbio = 0x5421;
    /// <summary>The inode flags (chattr's): declared with a long, read and written as an int by every file system.</summary>
    private const ulong FsIocGetflags = 0x8008_6601, FsIocSetflags = 0x4008_6602;

    /// <summary>Terminal ioctls, whose structures (termios, winsize) are the same on riscv64 and the host; FIONREAD, FIONBIO and the inode flags.</summary>
    [Syscall(29, "ioctl", "dxx")]
    private static long Ioctl(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        if ((Libc.fcntl(fd, FGetfl, 0) & Libc.OPath) != 0) return -Errno.EBADF; // O_PATH: no operations on the file itself
        ulong request = a.A1 & 0xFFFF_FFFF;
        if (LoopAndBlockIoctl(p, fd, request, a.A2) is { } done) return done;
        ulong size = request switch
        {
            Tcgets or Tcsets or Tcsetsw or Tcsetsf => 36,
            Tiocgwinsz or Tiocswinsz => 8,
            Tiocgpgrp or Tiocspgrp or Fionread or Fionbio or FsIocGetflags or FsIocSetflags => 4,
            _ => 0,
        };
        if (size == 0)
        {
            p.WarnOnce(29_000_000 + (long)request, $"ioctl 0x{request:x} is not supported");
            return -Errno.ENOTTY;
        }
        // Terminal requests on anything else are ENOTTY before Linux looks at the argument.
        if (request is not (Fionread or Fionbio or FsIocGetflags or FsIocSetflags) && Libc.isatty(fd) == 0) return -Errno.ENOTTY;
        byte* argument = Guest.Writable(p, a.A2, size);
        if (argument == null) return -Errno.EFAULT;
        if (request is Tiocgpgrp or Tiocspgrp)
        {
            // Process groups other than the first process's exist only inside the VM, so the
            // terminal's foreground group is kept here; the host's stays the first process's.
            if (request == Tiocspgrp)
            {
                p.Table.ForegroundGroup = *(int*)argument;
                return 0;
            }
            *(int*)argument = p.Table.ForegroundGroup ?? p.ProcessGroup;
            p.Memory.NoteWritten(a.A2, 4);
            return 0;
        }
        long r = Libc.Check(Libc.ioctl(fd, request, argument));
        if (r >= 0) p.Memory.NoteWritten(a.A2, size);
        return r;
    }

    private const ulong LoopSetFd = 0x4C00, LoopClrFd = 0x4C01, LoopSetStatus = 0x4C02, LoopGetStatus = 0x4C03, LoopSetStatus64 = 0x4C04, LoopGetStatus64 = 0x4C05,
        LoopSetCapacity = 0x4C07, LoopSetDirectIo = 0x4C08, LoopSetBlockSize = 0x4C09, LoopConfigure = 0x4C0A,
        LoopCtlAdd = 0x4C80, LoopCtlRemove = 0x4C81, LoopCtlGetFree = 0x4C82,
        Blkflsbuf = 0x1261, Blksszget = 0x1268, Blkgetsize64 = 0x8008_1272;
    /// <summary>struct loop_info64: fixed-size fields, the same on riscv64 and the host.</summary>
    private const int LoopInfo64Size = 232;
    /// <summary>
    /// The old struct loop_info as riscv64 lays it out (asm-generic: a 4-byte dev_t): lo_number at 0,
    /// lo_device 4, lo_inode 8, lo_rdevice 16, lo_offset 20, lo_encrypt_type 24, lo_encrypt_key_size 28,
    /// lo_flags 32, lo_name 36, lo_encrypt_key 100, lo_init 136, reserved 152. x86-64's differs
    /// (an 8-byte dev_t), so it goes to the host as loop_info64, as Linux converts it itself.
    /// </summary>
    private const int LoopInfoSize = 160;
    /// <summary>struct loop_config: the backing descriptor, the block size, a loop_info64 and 64 reserved bytes.</summary>
    private const int LoopConfigSize = 8 + LoopInfo64Size + 64;

    /// <summary>
    /// Loop devices (/dev/loop-control and /dev/loopN) and a block device's size, as test suites
    /// and image tools use them (LTP formats a loop device for its file-system tests); null for any
    /// other request. Descriptors in the arguments (LOOP_SET_FD, LOOP_CONFIGURE) are the guest's,
    /// given to the host as its own.
    /// </summary>
    private static long? LoopAndBlockIoctl(LinuxProcess p, int fd, ulong request, ulong argument)
    {
        switch (request)
        {
            case LoopClrFd or LoopSetCapacity or Blkflsbuf:
                return Libc.Check(Libc.ioctl(fd, request, (byte*)null));
            case LoopSetDirectIo or LoopSetBlockSize or LoopCtlAdd or LoopCtlRemove or LoopCtlGetFree:
                return Libc.Check(Libc.ioctl(fd, request, (byte*)argument));
            case LoopSetFd:
            {
                int backing = p.Files.Host((long)argument);
                return backing < 0 ? -Errno.EBADF : Libc.Check(Libc.ioctl(fd, request, (byte*)backing));
            }
            case LoopSetStatus64 or LoopGetStatus64 or Blksszget or Blkgetsize64:
            {
                ulong size = request switch { Blksszget => 4, Blkgetsize64 => 8, _ => LoopInfo64Size };
                byte* at = Guest.Writable(p, argument, size);
                if (at == null) return -Errno.EFAULT;
                long r = Libc.Check(Libc.ioctl(fd, request, at));
                if (r >= 0 && request != LoopSetStatus64) p.Memory.NoteWritten(argument, size);
                return r;
            }
            case LoopSetStatus or LoopGetStatus:
                return OldLoopStatus(p, fd, request == LoopSetStatus, argument);
            case LoopConfigure:
            {
                byte* at = Guest.Readable(p, argument, LoopConfigSize);
                if (at == null) return -Errno.EFAULT;
                byte* config = stackalloc byte[LoopConfigSize];
                new ReadOnlySpan<byte>(at, LoopConfigSize).CopyTo(new Span<byte>(config, LoopConfigSize));
                int backing = p.Files.Host(*(uint*)config);
                if (backing < 0) return -Errno.EBADF;
                *(uint*)config = (uint)backing;
                return Libc.Check(Libc.ioctl(fd, request, config));
            }
            default:
                return null;
        }
    }

    /// <summary>LOOP_SET_STATUS and LOOP_GET_STATUS through their 64-bit forms, with Linux's own conversions (EOVERFLOW where a value does not fit).</summary>
    private static long OldLoopStatus(LinuxProcess p, int fd, bool set, ulong argument)
    {
        byte* old = Guest.Writable(p, argument, LoopInfoSize);
        if (old == null) return -Errno.EFAULT;
        byte* info = stackalloc byte[LoopInfo64Size];
        new Span<byte>(info, LoopInfo64Size).Clear();
        if (set)
        {
            *(ulong*)(info + 0) = *(uint*)(old + 4);
            *(ulong*)(info + 8) = *(ulong*)(old + 8);
            *(ulong*)(info + 16) = *(uint*)(old + 16);
            *(ulong*)(info + 24) = (ulong)*(int*)(old + 20);
            *(uint*)(info + 40) = *(uint*)(old + 0);
            *(uint*)(info + 44) = *(uint*)(old + 24);
            *(uint*)(info + 48) = *(uint*)(old + 28);
            *(uint*)(info + 52) = *(uint*)(old + 32);
            new ReadOnlySpan<byte>(old + 36, 64).CopyTo(new Span<byte>(info + 56, 64));
            new ReadOnlySpan<byte>(old + 100, 32).CopyTo(new Span<byte>(info + 184, 32));
            new ReadOnlySpan<byte>(old + 136, 16).CopyTo(new Span<byte>(info + 216, 16));
            return Libc.Check(Libc.ioctl(fd, LoopSetStatus64, info));
        }
        long r = Libc.Check(Libc.ioctl(fd, LoopGetStatus64, info));
        if (r < 0) return r;
        ulong device = *(ulong*)(info + 0), rdevice = *(ulong*)(info + 16), offset = *(ulong*)(info + 24);
        if (device > uint.MaxValue || rdevice > uint.MaxValue || offset > int.MaxValue) return -Errno.EOVERFLOW;
        new Span<byte>(old, LoopInfoSize).Clear();
        *(uint*)(old + 0) = *(uint*)(info + 40);
        *(uint*)(old + 4) = (uint)device;
        *(ulong*)(old + 8) = *(ulong*)(info + 8);
        *(uint*)(old + 16) = (uint)rdevice;
        *(int*)(old + 20) = (int)offset;
        *(uint*)(old + 24) = *(uint*)(info + 44);
        *(uint*)(old + 28) = *(uint*)(info + 48);
        *(uint*)(old + 32) = *(uint*)(info + 52);
        new ReadOnlySpan<byte>(info + 56, 64).CopyTo(new Span<byte>(old + 36, 64));
        new ReadOnlySpan<byte>(info + 184, 32).CopyTo(new Span<byte>(old + 100, 32));
        new ReadOnlySpan<byte>(info + 216, 16).CopyTo(new Span<byte>(old + 136, 16));
        p.Memory.NoteWritten(argument, LoopInfoSize);
        return 0;
    }

    [Syscall(59, "pipe2", "xc")]
    private static long Pipe2(LinuxProcess p, in SyscallArgs a)
    {
        int* host = stackalloc int[2];
        if (Guest.Writable(p, a.A0, 8) == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.pipe2(host, (int)a.A1 | Libc.OCloexec));
        if (r < 0) return r;
        bool cloexec = (a.A1 & (ulong)Libc.OCloexec) != 0;
        long read = p.Files.Add(host[0], cloexec);
        long write = p.Files.Add(host[1], cloexec);
        if (read < 0 || write < 0) return -Errno.EMFILE;
        Guest.Put(p, a.A0, (int)read);
        Guest.Put(p, a.A0 + 4, (int)write);
        return 0;
    }

    /// <summary>eventfd2: a host eventfd (EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK, the same on the host).</summary>
    [Syscall(19, "eventfd2", "ux")]
    private static long EventFd2(LinuxProcess p, in SyscallArgs a)
    {
        const int EfdSemaphore = 1, EfdNonblock = 0x800;
        int flags = a.Int(1);
        if ((flags & ~(Libc.OCloexec | EfdNonblock | EfdSemaphore)) != 0) return -Errno.EINVAL;
        long fd = Libc.Check(Libc.eventfd((uint)a.A0, flags | Libc.OCloexec));
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & Libc.OCloexec) != 0);
    }

    [Syscall(71, "sendfile", "ddxu")]
    private static long SendFile(LinuxProcess p, in SyscallArgs a)
    {
        int output = p.Files.Host(a.Int(0)), input = p.Files.Host(a.Int(1));
        if (output < 0 || input < 0) return -Errno.EBADF;
        if (a.A2 == 0) return Written(p, Libc.Check(Libc.sendfile(output, input, null, (nuint)a.A3)));
        if (!Guest.Get(p, a.A2, out long offset)) return -Errno.EFAULT;
        long n = Written(p, Libc.Check(Libc.sendfile(output, input, &offset, (nuint)a.A3)));
        return Guest.Put(p, a.A2, offset) ? n : -Errno.EFAULT;
    }

    [Syscall(46, "ftruncate", "dd")]
    private static long Ftruncate(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        Shrinking(p, fd, (long)a.A1, truncated: false);
        return Libc.Check(Libc.ftruncate(fd, (long)a.A1));
    }

    [Syscall(47, "fallocate", "dxdd")]
    private static long Fallocate(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        const int HostFallocate = 285; // x86-64; mode, offset and len mean the same on both
        return Libc.Check(Libc.syscall(HostFallocate, fd, (nint)a.Int(1), (nint)(long)a.A2, (nint)(long)a.A3, 0));
    }

    private const int OTrunc = 0x200;

    /// <summary>
    /// A file shrinks to <paramref name="size"/> (before ftruncate, or just after an open with
    /// O_TRUNC, <paramref name="truncated"/>): the shared mappings of it in every process of the run
    /// let go of the pages past the new end, which the host could no longer back.
    /// </summary>
    private static void Shrinking(LinuxProcess p, int hostFd, long size, bool truncated)
    {
        var file = Memory.FileIdentity.Of(hostFd);
        if (!file.Regular || (!truncated && size >= file.Size)) return;
        foreach (var process in p.Table.All())
            lock (process.MapLock) process.Memory?.Shrinking(file, size); // one process's lock at a time: no order to deadlock on
    }

    [Syscall(82, "fsync", "d")]
    [Syscall(83, "fdatasync", "d")]
    private static long Fsync(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.fsync(fd));
    }

    [Syscall(61, "getdents64", "dxu")]
    private static long GetDents64(LinuxProcess p, in SyscallArgs a)
    {
        // struct linux_dirent64 is the same on every architecture.
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        uint count = (uint)a.A2; // an unsigned int in Linux
        byte* buffer = Guest.Writable(p, a.A1, count);
        if (buffer == null) return -Errno.EFAULT;
        long n = p.Files.Listing(a.Int(0)) is { } listing
            ? listing.Read(new Span<byte>(buffer, (int)Math.Min(count, int.MaxValue)))
            : Libc.Check(Libc.getdents64(fd, buffer, count));
        if (n > 0) p.Memory.NoteWritten(a.A1, (ulong)n);
        return n;
    }
}
