using System.Runtime.InteropServices;

namespace Isomorph.Linux.Host;

/// <summary>
/// Starting host programs (posix_spawn and its attributes and file actions), waiting for them
/// and signalling them: what a guest's execve of a host executable is built on
/// (<see cref="Processes.HostProgram"/>). glibc's posix_spawn_file_actions_t and posix_spawnattr_t
/// are opaque here, in buffers larger than either (80 and 336 bytes on x86-64 and ARM64).
/// </summary>
internal static unsafe partial class Libc
{
    public const int SpawnOpaqueSize = 512;
    public const short PosixSpawnSetSigdef = 0x04, PosixSpawnSetSigmask = 0x08;
    /// <summary>sigset_t: 1024 bits in glibc, of which the kernel's 64 come first, bit n-1 for signal n.</summary>
    public const int SigsetSize = 128;
    /// <summary>glibc's struct sigaction on x86-64 and ARM64: handler, 128-byte mask, flags, restorer.</summary>
    public const int SigactionSize = 152;
    public const nint SigIgn = 1;

    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_init(void* actions);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_destroy(void* actions);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_addclose(void* actions, int fd);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_addfchdir_np(void* actions, int fd);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_addclosefrom_np(void* actions, int from);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_init(void* attributes);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_destroy(void* attributes);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setflags(void* attributes, short flags);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigmask(void* attributes, byte* mask);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigdefault(void* attributes, byte* signals);
    /// <summary>Returns 0 or an errno (not -1), as POSIX defines it.</summary>
    [LibraryImport(Lib)] public static partial int posix_spawn(int* pid, byte* path, void* actions, void* attributes, byte** argv, byte** envp);
    [LibraryImport(Lib, SetLastError = true)] public static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(Lib, SetLastError = true)] public static partial int waitid(int idType, int id, byte* info, int options);
    [LibraryImport(Lib, SetLastError = true)] public static partial int kill(int pid, int signal);
    [LibraryImport(Lib, SetLastError = true)] public static partial int sigaction(int signal, byte* action, byte* old);
    [LibraryImport(Lib, SetLastError = true)] public static partial int sigprocmask(int how, byte* set, byte* old);
}
