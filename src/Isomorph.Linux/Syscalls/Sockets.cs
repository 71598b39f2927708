using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// Sockets through the host's: AF_INET, AF_INET6 and AF_UNIX. Socket addresses, option levels and
/// names, flags and struct msghdr are the same on riscv64 and the 64-bit hosts, so buffers pass
/// through once checked; only descriptors are translated. Calls that wait do so interruptibly.
/// Control messages (struct cmsghdr, also alike) go through a host copy: SCM_RIGHTS carries host
/// descriptors, which become guest ones in the receiver's table (so a host process at the other end
/// gives and gets real descriptors), and SCM_CREDENTIALS names the host process for a guest's own pid.
/// </summary>
internal static unsafe partial class Sockets
{
    private const int SockNonblock = 0x800, SockCloexec = 0x80000;
    private const int MsgDontwait = 0x40, MsgCtrunc = 0x08, MsgCmsgCloexec = 0x4000_0000;
    private const int SoAcceptconn = 30;
    private const int SolSocket = 1, ScmRights = 1, ScmCredentials = 2, CmsgHeader = 16;
    /// <summary>The largest control buffer passed on (Linux's optmem_max is 20 KiB by default).</summary>
    private const ulong MaxControl = 64 << 10;
    private const int MaxAddress = 128, MaxOption = 1024, MaxIov = 1024;

    [Syscall(198, "socket", "DTd")]
    private static long Socket(LinuxProcess p, in SyscallArgs a)
    {
        int type = a.Int(1);
        long refused = Jail.SocketFamily(p, a.Int(0));
        if (refused < 0) return refused;
        long fd = Libc.Check(Libc.socket(a.Int(0), type | SockCloexec, a.Int(2)));
        return fd < 0 ? fd : p.Files.Add((int)fd, (type & SockCloexec) != 0);
    }

    [Syscall(199, "socketpair", "DTdx")]
    private static long SocketPair(LinuxProcess p, in SyscallArgs a)
    {
        long refused = Jail.SocketFamily(p, a.Int(0));
        if (refused < 0) return refused;
        if (Guest.Writable(p, a.A3, 8) == null) return -Errno.EFAULT;
        int type = a.Int(1);
        int* host = stackalloc int[2];
        long r = Libc.Check(Libc.socketpair(a.Int(0), type | SockCloexec, a.Int(2), host));
        if (r < 0) return r;
        bool cloexec = (type & SockCloexec) != 0;
        long first = p.Files.Add(host[0], cloexec), second = p.Files.Add(host[1], cloexec);
        if (first < 0 || second < 0) return -Errno.EMFILE;
        Guest.Put(p, a.A3, (int)first);
        Guest.Put(p, a.A3 + 4, (int)second);
        return 0;
    }

    [Syscall(200, "bind", "dxu")]
    private static long Bind(LinuxProcess p, in SyscallArgs a) => WithAddress(p, a, &Libc.bind, binding: true);

    [Syscall(203, "connect", "dxu")]
    private static long Connect(LinuxProcess p, in SyscallArgs a) => WithAddress(p, a, &Libc.connect, binding: false);

    private static long WithAddress(LinuxProcess p, in SyscallArgs a, delegate*<int, byte*, uint, int> call, bool binding)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        if (a.A2 > MaxAddress) return -Errno.EINVAL;
        byte* address = Guest.Readable(p, a.A1, a.A2);
        if (address == null) return -Errno.EFAULT;
        uint length = (uint)a.A2;
        byte* confined = stackalloc byte[UnixAddressSize];
        long r = ConfineAddress(p, ref address, ref length, confined, out int directory, binding);
        if (r < 0) return r;
        r = Libc.Check(call(fd, address, length));
        if (directory >= 0) Libc.close(directory);
        return r;
    }

    private const int AfUnix = 1, UnixAddressSize = 110;

    /// <summary>
    /// Under --root, an AF_UNIX address that names a file is looked up inside the root: its
    /// directory is opened there, and the host gets /proc/self/fd/N/NAME, which reaches that
    /// directory without another lookup (so connect and bind cannot reach a socket outside the
    /// root). Abstract names are refused (<see cref="Jail.UnixAddress"/>); other addresses pass unchanged. 0 or -errno; the caller
    /// closes <paramref name="directory"/> unless it is -1.
    /// </summary>
    private static long ConfineAddress(LinuxProcess p, ref byte* address, ref uint length, byte* buffer, out int directory, bool binding = false)
    {
        directory = -1;
        long refused = Jail.UnixAddress(p, address, length, binding);
        if (refused < 0) return refused;
        if (p.Root is not { } root || address == null || length <= 2 || *(ushort*)address != AfUnix || address[2] == 0) return 0;
        var path = new ReadOnlySpan<byte>(address + 2, (int)Math.Min(length - 2, UnixAddressSize - 2));
        int nul = path.IndexOf((byte)0);
        string guestPath = System.Text.Encoding.UTF8.GetString(nul < 0 ? path : path[..nul]);
        long r = Guest.AbsoluteInRoot(p, unchecked((ulong)Libc.AtFdCwd), guestPath, out var absolute);
        if (r < 0) return r;
        r = root.OpenParent(absolute!, out directory, out string name, out _);
        if (r < 0) return r;
        var host = System.Text.Encoding.UTF8.GetBytes($"/proc/self/fd/{directory}/{name}");
        if (host.Length > UnixAddressSize - 3)
        {
            Libc.close(directory);
            directory = -1;
            return -Errno.ENAMETOOLONG;
        }
        new Span<byte>(buffer, UnixAddressSize).Clear();
        *(ushort*)buffer = AfUnix;
        host.CopyTo(new Span<byte>(buffer + 2, host.Length));
        address = buffer;
        length = (uint)(2 + host.Length + 1);
        return 0;
    }

    [Syscall(201, "listen", "dd")]
    private static long Listen(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.listen(fd, a.Int(1)));
    }

    [Syscall(202, "accept", "dxx")]
    private static long Accept(LinuxProcess p, in SyscallArgs a) => Accept4(p, a with { A3 = 0 });

    [Syscall(242, "accept4", "dxxx")]
    private static long Accept4(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        int flags = a.Int(3);
        // Only a listening socket waits; on any other the host answers at once (EINVAL, EOPNOTSUPP), as Linux does.
        int listening = 0;
        uint size = sizeof(int);
        if (Libc.getsockopt(fd, SolSocket, SoAcceptconn, (byte*)&listening, &size) == 0 && listening != 0)
        {
            long ready = Blocking.WaitReady(p, fd, Blocking.PollIn);
            if (ready < 0) return ready;
        }
        long r = AddressOut(p, a.A1, a.A2, (address, length) => Libc.accept4(fd, address, length, (flags & SockNonblock) | SockCloexec));
        return r < 0 ? r : p.Files.Add((int)r, (flags & SockCloexec) != 0);
    }

    [Syscall(204, "getsockname", "dxx")]
    private static long GetSockName(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : AddressOut(p, a.A1, a.A2, (address, length) => Libc.getsockname(fd, address, length));
    }

    [Syscall(205, "getpeername", "dxx")]
    private static long GetPeerName(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : AddressOut(p, a.A1, a.A2, (address, length) => Libc.getpeername(fd, address, length));
    }

    private delegate long AddressCall(byte* address, uint* length);

    /// <summary>A call that returns a socket address in a guest buffer whose size is at <paramref name="lengthAddress"/> (value-result).</summary>
    private static long AddressOut(LinuxProcess p, ulong address, ulong lengthAddress, AddressCall call)
    {
        if (address == 0) return Libc.Check(call(null, null));
        if (!Guest.Get(p, lengthAddress, out uint length)) return -Errno.EFAULT;
        if (length > int.MaxValue) return -Errno.EINVAL;
        byte* buffer = Guest.Writable(p, address, length);
        if (buffer == null || Guest.Writable(p, lengthAddress, 4) == null) return -Errno.EFAULT;
        uint actual = length;
        long r = Libc.Check(call(buffer, &actual));
        if (r < 0) return r;
        p.Memory.NoteWritten(address, Math.Min(length, actual));
        Guest.Put(p, lengthAddress, actual);
        return r;
    }

    [Syscall(206, "sendto", "dxudxu")]
    private static long SendTo(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Readable(p, a.A1, a.A2);
        byte* address = a.A4 == 0 ? null : Guest.Readable(p, a.A4, a.A5);
        if (buffer == null || (a.A4 != 0 && address == null)) return -Errno.EFAULT;
        if (a.A5 > MaxAddress) return -Errno.EINVAL;
        uint length = (uint)a.A5;
        byte* confined = stackalloc byte[UnixAddressSize];
        long r = ConfineAddress(p, ref address, ref length, confined, out int directory);
        if (r < 0) return r;
        try
        {
            if ((a.Int(3) & MsgDontwait) == 0)
            {
                long ready = Blocking.WaitReady(p, fd, Blocking.PollOut);
                if (ready < 0) return ready;
            }
            return Written(p, Libc.Check(Libc.sendto(fd, buffer, (nuint)a.A2, a.Int(3), address, length)), a.Int(3));
        }
        finally
        {
            if (directory >= 0) Libc.close(directory);
        }
    }

    [Syscall(207, "recvfrom", "dxudxx")]
    private static long RecvFrom(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Writable(p, a.A1, a.A2);
        if (buffer == null) return -Errno.EFAULT;
        if ((a.Int(3) & MsgDontwait) == 0)
        {
            long ready = Blocking.WaitReady(p, fd, Blocking.PollIn);
            if (ready < 0) return ready;
        }
        nuint size = (nuint)a.A2;
        int flags = a.Int(3);
        long n = AddressOut(p, a.A4, a.A5, (address, length) => Libc.recvfrom(fd, buffer, size, flags, address, length));
        if (n > 0) p.Memory.NoteWritten(a.A1, (ulong)n);
        return n;
    }

    [Syscall(208, "setsockopt", "dddxu")]
    private static long SetSockOpt(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        if (a.A4 > MaxOption) return -Errno.EINVAL;
        byte* value = Guest.Readable(p, a.A3, a.A4);
        if (value == null && a.A4 > 0) return -Errno.EFAULT;
        return Libc.Check(Libc.setsockopt(fd, a.Int(1), a.Int(2), value, (uint)a.A4));
    }

    [Syscall(209, "getsockopt", "dddxx")]
    private static long GetSockOpt(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        // Unlike an address, the length is always read, and a zero-length value is never touched (any pointer will do, as on Linux).
        if (!Guest.Get(p, a.A4, out uint length)) return -Errno.EFAULT;
        if (length > int.MaxValue) return -Errno.EINVAL;
        byte* spare = stackalloc byte[1];
        byte* value = length == 0 ? spare : Guest.Writable(p, a.A3, length);
        if (value == null) return -Errno.EFAULT;
        uint actual = length;
        long r = Libc.Check(Libc.getsockopt(fd, a.Int(1), a.Int(2), value, &actual));
        if (r < 0) return r;
        if (length > 0) p.Memory.NoteWritten(a.A3, Math.Min(length, actual));
        return Guest.Put(p, a.A4, actual) ? r : -Errno.EFAULT;
    }

    [Syscall(210, "shutdown", "dd")]
    private static long Shutdown(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.shutdown(fd, a.Int(1)));
    }

    [Syscall(211, "sendmsg", "dxd")]
    private static long SendMsg(LinuxProcess p, in SyscallArgs a) => Message(p, a, send: true);

    [Syscall(212, "recvmsg", "dxd")]
    private static long RecvMsg(LinuxProcess p, in SyscallArgs a) => Message(p, a, send: false);

    /// <summary>sendmsg/recvmsg: the guest's msghdr and iovecs become host ones pointing at the checked guest buffers.</summary>
    private static long Message(LinuxProcess p, in SyscallArgs a, bool send)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        var guest = (HostMsghdr*)(send ? Guest.Readable(p, a.A1, 56) : Guest.Writable(p, a.A1, 56));
        if (guest == null) return -Errno.EFAULT;
        var message = *guest;
        ulong nameAddress = (ulong)message.Name, controlAddress = (ulong)message.Control, iovAddress = (ulong)message.Iov;
        if (message.IovLength > MaxIov) return -Errno.EMSGSIZE;
        if (message.NameLength > MaxAddress) return -Errno.EINVAL;
        if (message.ControlLength > MaxControl) return -Errno.ENOBUFS;
        message.Name = nameAddress == 0 ? null : send ? Guest.Readable(p, nameAddress, message.NameLength) : Guest.Writable(p, nameAddress, message.NameLength);
        // A sender's control length must be backed by readable memory even when the pointer is NULL (Linux copies it in: EFAULT).
        bool hasControl = controlAddress != 0 || (send && message.ControlLength > 0);
        byte* guestControl = !hasControl ? null
            : send ? Guest.Readable(p, controlAddress, message.ControlLength) : Guest.Writable(p, controlAddress, message.ControlLength);
        if ((nameAddress != 0 && message.Name == null) || (hasControl && guestControl == null)) return -Errno.EFAULT;
        if (guestControl == null) message.ControlLength = 0;
        // The control data goes through a host copy, where descriptors are the host's.
        var control = new byte[message.ControlLength];
        fixed (byte* hostControl = control)
        {
            message.Control = control.Length == 0 ? null : hostControl;
            if (send && control.Length > 0)
            {
                new ReadOnlySpan<byte>(guestControl, control.Length).CopyTo(control);
                long translated = ToHost(p, hostControl, control.Length);
                if (translated < 0) return translated;
            }
            var host = stackalloc HostIovec[Math.Max(1, (int)message.IovLength)];
            long checkedIovecs = Guest.Iovecs(p, iovAddress, (int)message.IovLength, hostReads: send, host, out ulong* iov);
            if (checkedIovecs < 0) return checkedIovecs;
            message.Iov = host;
            int flags = a.Int(2);
            if ((flags & MsgDontwait) == 0)
            {
                long ready = Blocking.WaitReady(p, fd, send ? Blocking.PollOut : Blocking.PollIn);
                if (ready < 0) return ready;
            }
            int nameDirectory = -1;
            byte* confinedName = stackalloc byte[UnixAddressSize];
            if (send)
            {
                byte* name = message.Name;
                uint nameLength = message.NameLength;
                long confined = ConfineAddress(p, ref name, ref nameLength, confinedName, out nameDirectory);
                if (confined < 0) return confined;
                message.Name = name;
                message.NameLength = nameLength;
            }
            // Received host descriptors are always close-on-exec on the host; the guest's flag is its own.
            long n = Libc.Check(send ? Libc.sendmsg(fd, &message, flags) : Libc.recvmsg(fd, &message, flags | MsgCmsgCloexec));
            if (nameDirectory >= 0) Libc.close(nameDirectory);
            if (send) return Written(p, n, flags);
            if (n < 0) return n;
            Guest.NoteIovecsWritten(p, iov, (int)message.IovLength);
            if (message.ControlLength > 0 && ToGuest(p, hostControl, (int)message.ControlLength, (flags & MsgCmsgCloexec) != 0))
                message.Flags |= MsgCtrunc;
            // The lengths and flags the kernel updates go back into the guest's msghdr.
            guest->NameLength = message.NameLength;
            guest->ControlLength = message.ControlLength;
            guest->Flags = message.Flags;
            p.Memory.NoteWritten(a.A1, 56);
            if (nameAddress != 0) p.Memory.NoteWritten(nameAddress, message.NameLength);
            if (guestControl != null)
            {
                new ReadOnlySpan<byte>(hostControl, (int)message.ControlLength).CopyTo(new Span<byte>(guestControl, (int)message.ControlLength));
                p.Memory.NoteWritten(controlAddress, message.ControlLength);
            }
            return n;
        }
    }

    /// <summary>The control messages in [control, control + length) as struct cmsghdr walks them: (header offset, data length, level, type).</summary>
    private static IEnumerable<(int At, int DataLength, int Level, int Type)> ControlMessages(byte[] control, int length)
    {
        for (int at = 0; at + CmsgHeader <= length;)
        {
            ulong size = BitConverter.ToUInt64(control, at);
            if (size < CmsgHeader || size > (ulong)(length - at)) yield break;
            yield return (at, (int)size - CmsgHeader, BitConverter.ToInt32(control, at + 8), BitConverter.ToInt32(control, at + 12));
            at += (int)((size + 7) & ~7ul);
        }
    }

    /// <summary>sendmsg: guest descriptors in SCM_RIGHTS become host ones, a guest's own pid in SCM_CREDENTIALS the host's. 0 or -errno.</summary>
    private static long ToHost(LinuxProcess p, byte* control, int length)
    {
        var copy = new Span<byte>(control, length).ToArray();
        foreach (var (at, dataLength, level, type) in ControlMessages(copy, length))
        {
            if (level != SolSocket) continue;
            if (type == ScmRights)
            {
                for (int i = 0; i + 4 <= dataLength; i += 4)
                {
                    int* slot = (int*)(control + at + CmsgHeader + i);
                    int host = p.Files.Host(*slot);
                    if (host < 0) return -Errno.EBADF;
                    *slot = host;
                }
            }
            else if (type == ScmCredentials && dataLength >= 12)
            {
                int* pid = (int*)(control + at + CmsgHeader);
                if (*pid == p.Pid) *pid = Libc.getpid();
            }
        }
        return 0;
    }

    /// <summary>
    /// recvmsg: host descriptors in SCM_RIGHTS join the guest's table (close-on-exec for
    /// MSG_CMSG_CLOEXEC). True when the table was full and some were dropped (the caller reports MSG_CTRUNC).
    /// </summary>
    private static bool ToGuest(LinuxProcess p, byte* control, int length, bool closeOnExec)
    {
        bool truncated = false;
        var copy = new Span<byte>(control, length).ToArray();
        foreach (var (at, dataLength, level, type) in ControlMessages(copy, length))
        {
            if (level != SolSocket || type != ScmRights) continue;
            for (int i = 0; i + 4 <= dataLength; i += 4)
            {
                int* slot = (int*)(control + at + CmsgHeader + i);
                long guest = p.Files.Add(*slot, closeOnExec);
                if (guest < 0) truncated = true; // Add closed the host descriptor
                *slot = (int)guest;
            }
        }
        return truncated;
    }

    /// <summary>A send to a socket whose peer has gone raises SIGPIPE, unless MSG_NOSIGNAL (the host's is ignored by .NET).</summary>
    private static long Written(LinuxProcess p, long result, int flags)
    {
        const int MsgNosignal = 0x4000;
        if (result == -Errno.EPIPE && (flags & MsgNosignal) == 0) p.SendSignal(LinuxProcess.Sigpipe);
        return result;
    }
}
