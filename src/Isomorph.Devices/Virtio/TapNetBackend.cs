using System.Runtime.InteropServices;
using System.Text;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// A network backend on a Linux TAP device (/dev/net/tun, IFF_TAP | IFF_NO_PI): frames written
/// to the host interface reach the guest and the reverse. The interface is attached (created if
/// absent, which needs CAP_NET_ADMIN); configuring its address is the host's business.
/// </summary>
public sealed unsafe class TapNetBackend : INetBackend
{
    private const uint TunSetIff = 0x400454ca;
    private const short IffTap = 0x0002, IffNoPi = 0x1000;
    private const int ORdWr = 2, OCloExec = 0x80000, PollIn = 1, IfNameSize = 16, MaxFrame = 65536;

    private readonly int _fd;
    private readonly Thread _reader;
    private volatile bool _disposed;
    private Action<byte[]>? _received;

    public TapNetBackend(string name)
    {
        if (!OperatingSystem.IsLinux()) throw new IOException("TAP devices need Linux");
        var nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length == 0 || nameBytes.Length >= IfNameSize) throw new IOException($"TAP interface name '{name}' must have 1 to 15 characters");
        _fd = Open("/dev/net/tun", ORdWr | OCloExec);
        if (_fd < 0) throw new IOException($"cannot open /dev/net/tun: {Marshal.GetLastPInvokeErrorMessage()}");
        var ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        nameBytes.CopyTo(new Span<byte>(ifreq, IfNameSize));
        *(short*)(ifreq + IfNameSize) = IffTap | IffNoPi;
        if (Ioctl(_fd, TunSetIff, ifreq) < 0)
        {
            string error = Marshal.GetLastPInvokeErrorMessage();
            Close(_fd);
            throw new IOException($"cannot attach TAP interface {name}: {error}");
        }
        Name = name;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "tap reader " + name };
        _reader.Start();
    }

    public string Name { get; }

    public Action<byte[]>? Received
    {
        set => _received = value;
    }

    private void ReadLoop()
    {
        var buffer = new byte[MaxFrame];
        var pfd = new PollFd { Fd = _fd, Events = PollIn };
        while (!_disposed)
        {
            pfd.Revents = 0;
            if (Poll(&pfd, 1, 200) <= 0) continue;
            long n;
            fixed (byte* p = buffer) n = Read(_fd, p, (nuint)buffer.Length);
            if (n > 0) _received?.Invoke(buffer.AsSpan(0, (int)n).ToArray());
            else if (n == 0 || Marshal.GetLastPInvokeError() is not (4 or 11)) break; // EINTR, EAGAIN
        }
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (_disposed) return;
        fixed (byte* p = frame) Write(_fd, p, (nuint)frame.Length); // a full host queue drops the frame, as a wire would
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _reader.Join(TimeSpan.FromSeconds(1));
        Close(_fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events, Revents;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nuint request, void* arg);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, byte* buffer, nuint count);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint Write(int fd, byte* buffer, nuint count);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(PollFd* fds, nuint count, int timeout);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
