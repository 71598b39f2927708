using System.Runtime.InteropServices;

namespace Isomorph.Linux.Host;

/// <summary>Host calls behind the descriptor kinds the process VM passes through: timerfd, inotify, memfd.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)] public static partial int timerfd_create(int clock, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int timerfd_settime(int fd, int flags, byte* newValue, byte* oldValue);
    [LibraryImport(Lib, SetLastError = true)] public static partial int timerfd_gettime(int fd, byte* currentValue);
    [LibraryImport(Lib, SetLastError = true)] public static partial int inotify_init1(int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int inotify_add_watch(int fd, byte* path, uint mask);
    [LibraryImport(Lib, SetLastError = true)] public static partial int inotify_rm_watch(int fd, int wd);
    [LibraryImport(Lib, SetLastError = true)] public static partial int memfd_create(byte* name, uint flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fstat(int fd, byte* buffer);
}
