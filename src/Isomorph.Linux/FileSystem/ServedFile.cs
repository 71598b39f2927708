using Isomorph.Linux.Host;

namespace Isomorph.Linux.FileSystem;

/// <summary>
/// A descriptor whose contents the VM serves itself (signalfd, pidfd) rather than the host kernel.
/// The guest's host descriptor is one end of a host socketpair, so that poll, select and epoll see
/// it like any other descriptor: the VM keeps one byte in it while the object is readable, and none
/// otherwise. read() on it comes to <see cref="Read"/>; write() fails with EINVAL, as on Linux. The object is found again from any host
/// descriptor of that end by the socket's inode, whatever dup, fork or SCM_RIGHTS made of it.
/// </summary>
internal abstract unsafe class ServedFile : IDisposable
{
    private const int MsgDontwait = 0x40;

    private static readonly Dictionary<(ulong Device, ulong Inode), ServedFile> Registry = [];
    private static readonly Lock RegistryLock = new();
    private static volatile int _count;

    /// <summary>The VM's own descriptors: a duplicate of the guest's end (to take the byte back) and the other end (to put it).</summary>
    private int _guestEnd = -1, _vmEnd = -1;
    private (ulong, ulong) _key;
    private bool _readable;
    private readonly Lock _sync = new();

    /// <summary>Opens the socketpair; the guest's end (close-on-exec on the host, non-blocking when asked) or -errno.</summary>
    protected long Open(bool nonblocking)
    {
        const int AfUnix = 1, SockStream = 1, SockNonblock = 0x800;
        int* fds = stackalloc int[2];
        long r = Libc.Check(Libc.socketpair(AfUnix, SockStream | Libc.OCloexec, 0, fds));
        if (r < 0) return r;
        _vmEnd = fds[1];
        _guestEnd = Libc.fcntl(fds[0], Libc.FDupfdCloexec, 0);
        if (_guestEnd < 0 || !Identify(fds[0], out _key))
        {
            Libc.close(fds[0]);
            Dispose();
            return -Errno.EMFILE;
        }
        if (nonblocking) Libc.fcntl(fds[0], 4 /* F_SETFL */, SockNonblock);
        lock (RegistryLock)
        {
            Registry[_key] = this;
            _count = Registry.Count;
        }
        return fds[0];
    }

    /// <summary>The served object behind host descriptor <paramref name="hostFd"/>, or null (one fstat, and only once any exists).</summary>
    public static ServedFile? Find(int hostFd)
    {
        if (_count == 0 || !Identify(hostFd, out var key)) return null;
        lock (RegistryLock) return Registry.GetValueOrDefault(key);
    }

    private static bool Identify(int hostFd, out (ulong, ulong) key)
    {
        // struct stat starts with st_dev and st_ino, 64 bits each, on x86-64 and ARM64 alike.
        byte* stat = stackalloc byte[256];
        key = default;
        if (Libc.fstat(hostFd, stat) != 0) return false;
        key = (*(ulong*)stat, *(ulong*)(stat + 8));
        return true;
    }

    /// <summary>Makes the guest's descriptor poll readable or not.</summary>
    protected void SetReadable(bool readable)
    {
        lock (_sync)
        {
            if (readable == _readable || _vmEnd < 0) return;
            byte b = 1;
            if (readable) Libc.sendto(_vmEnd, &b, 1, MsgDontwait, null, 0);
            else Libc.recvfrom(_guestEnd, &b, 1, MsgDontwait, null, null);
            _readable = readable;
        }
    }

    /// <summary>read() on the descriptor: <paramref name="hostFd"/> is the guest's host descriptor, <paramref name="buffer"/> checked writable.</summary>
    public abstract long Read(LinuxProcess p, int hostFd, byte* buffer, ulong count);

    /// <summary>True when the guest's descriptor is non-blocking (O_NONBLOCK on its open file description).</summary>
    protected static bool NonBlocking(int hostFd) => (Libc.fcntl(hostFd, 3 /* F_GETFL */, 0) & 0x800) != 0;

    public void Dispose()
    {
        lock (RegistryLock)
        {
            if (Registry.GetValueOrDefault(_key) == this) Registry.Remove(_key);
            _count = Registry.Count;
        }
        lock (_sync)
        {
            if (_guestEnd >= 0) Libc.close(_guestEnd);
            if (_vmEnd >= 0) Libc.close(_vmEnd);
            _guestEnd = _vmEnd = -1;
        }
    }
}
