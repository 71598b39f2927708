using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Isomorph.Devices.HostIo;

/// <summary>
/// Paths where isomorph listens on a Unix stream socket (--serial unix:PATH, --api-sock PATH): a
/// stale socket file left by a process that died is replaced; a socket another process listens
/// on, or a path that is not a socket, is refused with one line for the user.
/// </summary>
public static partial class UnixSocketPath
{
    /// <summary>sun_path holds 108 bytes with the terminating NUL.</summary>
    public const int MaxBytes = 107;

    /// <summary>Binds and listens at <paramref name="path"/>; null with <paramref name="error"/> set when it cannot.</summary>
    public static Socket? Listen(string path, string what, out string? error)
    {
        error = null;
        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxBytes)
        {
            error = $"{path}: a Unix socket path has at most {MaxBytes} bytes (the {what})";
            return null;
        }
        if (File.Exists(path) || Directory.Exists(path))
        {
            if (!IsSocket(path))
            {
                error = $"{path} exists and is not a socket (the {what})";
                return null;
            }
            if (IsListenedOn(path))
            {
                error = $"{path}: another process listens on this socket (the {what})";
                return null;
            }
            try
            {
                File.Delete(path); // stale: nobody listens
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"{path}: cannot replace the stale socket: {e.Message}";
                return null;
            }
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(4);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            error = $"{path}: cannot listen on a Unix socket here: {e.Message}";
            return null;
        }
    }

    /// <summary>Removes the socket file this process bound (at exit), if it is still there.</summary>
    public static void Remove(string path)
    {
        try
        {
            if (IsSocket(path)) File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static bool IsListenedOn(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private const int ONonBlock = 0x800, OCloexec = 0x80000, Enxio = 6;

    /// <summary>
    /// True when <paramref name="path"/> is a socket: open(2) of a socket fails with ENXIO, while
    /// files, directories and (non-blocking) FIFOs open.
    /// </summary>
    public static bool IsSocket(string path)
    {
        int fd = Open(path, ONonBlock | OCloexec);
        if (fd >= 0)
        {
            Close(fd);
            return false;
        }
        return Marshal.GetLastPInvokeError() == Enxio;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
