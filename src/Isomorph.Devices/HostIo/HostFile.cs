using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Isomorph.Devices.HostIo;

/// <summary>What a host path is, as stat(2) tells (symbolic links followed).</summary>
public enum HostFileKind { Missing, Regular, Directory, CharacterDevice, BlockDevice, Fifo, Socket, Unknown }

/// <summary>
/// Host files isomorph reads or writes by path (images, disks, console outputs, snapshots), checked
/// for their kind before they are opened: opening a FIFO blocks until its other end appears, and a
/// character device such as /dev/zero never ends, so an image or a disk must be a regular file.
/// Each refusal is one line for the user.
/// </summary>
public static unsafe partial class HostFile
{
    /// <summary>The kind of file at <paramref name="path"/>, following symbolic links (a dangling link is missing).</summary>
    public static HostFileKind Kind(string path)
    {
        if (path.Contains('\0')) return HostFileKind.Unknown;
        var buffer = stackalloc byte[StatxSize];
        if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0)
            return Marshal.GetLastPInvokeError() is Enoent or Enotdir ? HostFileKind.Missing : HostFileKind.Unknown;
        return FromMode(*(ushort*)(buffer + StatxModeOffset));
    }

    /// <summary>The kind of the file open at host descriptor <paramref name="fd"/>.</summary>
    public static HostFileKind Kind(int fd)
    {
        var buffer = stackalloc byte[StatxSize];
        return Statx(fd, "", AtEmptyPath, StatxType, buffer) == 0 ? FromMode(*(ushort*)(buffer + StatxModeOffset)) : HostFileKind.Unknown;
    }

    /// <summary>"a FIFO", "a character device", … for messages.</summary>
    public static string Describe(HostFileKind kind) => kind switch
    {
        HostFileKind.Missing => "missing",
        HostFileKind.Regular => "a regular file",
        HostFileKind.Directory => "a directory",
        HostFileKind.CharacterDevice => "a character device",
        HostFileKind.BlockDevice => "a block device",
        HostFileKind.Fifo => "a FIFO",
        HostFileKind.Socket => "a socket",
        _ => "not a file isomorph can stat",
    };

    /// <summary>
    /// One line when <paramref name="path"/> exists and is not a regular file (the <paramref name="what"/>
    /// isomorph is about to read); null for a regular file or a missing one (the caller's own message).
    /// </summary>
    public static string? NotRegular(string path, string what)
    {
        var kind = Kind(path);
        return kind is HostFileKind.Regular or HostFileKind.Missing ? null : $"{path} is {Describe(kind)}, not a regular file (the {what})";
    }

    /// <summary>
    /// Opens <paramref name="path"/> to append output to (the <paramref name="what"/>): a regular file
    /// (created if missing), a character device (a terminal, /dev/null) or a FIFO that a process
    /// reads; anything else, or a FIFO nobody reads, is refused at once rather than waited on.
    /// Null with <paramref name="error"/> set when it cannot.
    /// </summary>
    public static FileStream? OpenOutput(string path, string what, out string? error)
    {
        error = null;
        if (path.Contains('\0'))
        {
            error = $"{path.Replace('\0', '?')}: a path cannot hold a NUL byte (the {what})";
            return null;
        }
        var before = Kind(path);
        if (before is HostFileKind.Directory or HostFileKind.BlockDevice or HostFileKind.Socket)
        {
            error = $"{path} is {Describe(before)}, not a file to write to (the {what})";
            return null;
        }
        // Non-blocking, so that a FIFO without a reader fails (ENXIO) instead of waiting for one.
        int fd = Open(path, OWronly | OCreat | OAppend | ONonBlock | OCloexec, 0x1b6 /* 0666 */);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            error = errno == Enxio && before == HostFileKind.Fifo
                ? $"{path}: cannot open the {what}: no process reads this FIFO"
                : $"{path}: cannot open the {what}: {Marshal.GetPInvokeErrorMessage(errno)}";
            return null;
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var kind = Kind(fd);
        if (kind is not (HostFileKind.Regular or HostFileKind.CharacterDevice or HostFileKind.Fifo))
        {
            handle.Dispose();
            error = $"{path} is {Describe(kind)}, not a file to write to (the {what})";
            return null;
        }
        // From here writes block as on any file: a slow reader slows the writer, as a pipe does.
        Fcntl(fd, FSetfl, OWronly | OAppend);
        return new FileStream(handle, FileAccess.Write, bufferSize: 4096); // buffered as before: the machine flushes its consoles
    }

    private static HostFileKind FromMode(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => HostFileKind.Regular,
        0x4000 => HostFileKind.Directory,
        0x2000 => HostFileKind.CharacterDevice,
        0x6000 => HostFileKind.BlockDevice,
        0x1000 => HostFileKind.Fifo,
        0xC000 => HostFileKind.Socket,
        _ => HostFileKind.Unknown,
    };

    // struct statx is the same on every architecture: stx_mode is the u16 at offset 28.
    private const int StatxSize = 256, StatxModeOffset = 28, AtFdCwd = -100, AtEmptyPath = 0x1000;
    private const uint StatxType = 1;
    private const int OWronly = 1, OCreat = 0x40, OAppend = 0x400, ONonBlock = 0x800, OCloexec = 0x80000, FSetfl = 4;
    private const int Enoent = 2, Enxio = 6, Enotdir = 20;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
