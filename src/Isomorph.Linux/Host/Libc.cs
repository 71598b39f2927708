using System.Runtime.InteropServices;

namespace Isomorph.Linux.Host;

/// <summary>
/// The host C library calls the process VM is built on. Each wrapper returns the result or
/// -errno, the convention guest system calls use, so handlers can return it unchanged. Linux's
/// errno numbers and the flag values used here (open, mmap, fcntl) are the same on riscv64 and on
/// x86-64 and ARM64 hosts (all asm-generic or identical); structure layouts that differ (stat) are
/// converted by the handlers.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int ProtNone = 0, ProtRead = 1, ProtWrite = 2;
    public const int MapShared = 0x01, MapPrivate = 0x02, MapFixed = 0x10, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    public const uint MfdCloexec = 1;
    public const int MadvDontNeed = 4;
    public const int AtFdCwd = -100;
    public const int OCloexec = 0x80000, OPath = 0x200000, ONonblock = 0x800;
    public const int FDupfdCloexec = 1030;
    public const int ORdonly = 0;
    /// <summary>openat2's number, the same on every architecture (it postdates the unified numbering).</summary>
    public const long SysOpenat2 = 437;

    /// <summary>O_DIRECTORY, which ARM64 numbers differently from x86-64 and riscv64.</summary>
    public static int ODirectory => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;

    /// <summary>Opens a directory as an O_PATH descriptor (close-on-exec); -errno on failure.</summary>
    public static int OpenDirectory(int dirfd, string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* at = bytes) return (int)Check(openat(dirfd, at, OPath | ODirectory | OCloexec, 0));
    }

    /// <summary>The result of a libc call as a syscall result: -errno on failure.</summary>
    public static long Check(long result) => result == -1 ? -Marshal.GetLastPInvokeError() : result;

    [LibraryImport(Lib, SetLastError = true)] public static partial long syscall(long number, nint a0, nint a1, nint a2, nint a3, nint a4);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);
    [LibraryImport(Lib, SetLastError = true)] public static partial int munmap(nint addr, nuint length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int mprotect(nint addr, nuint length, int prot);
    [LibraryImport(Lib, SetLastError = true)] public static partial int madvise(nint addr, nuint length, int advice);
    [LibraryImport(Lib, SetLastError = true)] public static partial int msync(nint addr, nuint length, int flags);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)] public static partial nint read(int fd, byte* buffer, nuint count);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint write(int fd, byte* buffer, nuint count);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint pread(int fd, byte* buffer, nuint count, long offset);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint pwrite(int fd, byte* buffer, nuint count, long offset);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint readv(int fd, HostIovec* iov, int count);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint writev(int fd, HostIovec* iov, int count);
    [LibraryImport(Lib, SetLastError = true)] public static partial int openat(int dirfd, byte* path, int flags, int mode);
    [LibraryImport(Lib, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial long lseek(int fd, long offset, int whence);
    [LibraryImport(Lib, SetLastError = true)] public static partial int dup(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial int dup3(int fd, int newFd, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fcntl(int fd, int command, long argument);
    [LibraryImport(Lib, SetLastError = true)] public static partial int ioctl(int fd, ulong request, byte* argument);
    [LibraryImport(Lib, SetLastError = true)] public static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint readlinkat(int dirfd, byte* path, byte* buffer, nuint size);
    [LibraryImport(Lib, SetLastError = true)] public static partial int faccessat(int dirfd, byte* path, int mode, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int mkdirat(int dirfd, byte* path, uint mode);
    [LibraryImport(Lib, SetLastError = true)] public static partial int mknodat(int dirfd, byte* path, uint mode, ulong device);
    [LibraryImport(Lib, SetLastError = true)] public static partial int unlinkat(int dirfd, byte* path, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int symlinkat(byte* target, int newdirfd, byte* linkpath);
    [LibraryImport(Lib, SetLastError = true)] public static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fchmodat(int dirfd, byte* path, uint mode, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fchmod(int fd, uint mode);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fchownat(int dirfd, byte* path, uint owner, uint group, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fchown(int fd, uint owner, uint group);
    [LibraryImport(Lib, SetLastError = true)] public static partial int utimensat(int dirfd, byte* path, HostTimespec* times, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int futimens(int fd, HostTimespec* times);
    [LibraryImport(Lib, SetLastError = true)] public static partial int ftruncate(int fd, long length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fsync(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial int pipe2(int* fds, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int eventfd(uint initial, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, byte* hostEvent);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_wait(int epfd, byte* hostEvents, int maxEvents, int timeout);
    [LibraryImport(Lib, SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport(Lib, SetLastError = true)] public static partial int socketpair(int domain, int type, int protocol, int* fds);
    [LibraryImport(Lib, SetLastError = true)] public static partial int bind(int fd, byte* address, uint length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport(Lib, SetLastError = true)] public static partial int accept4(int fd, byte* address, uint* length, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int connect(int fd, byte* address, uint length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockname(int fd, byte* address, uint* length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpeername(int fd, byte* address, uint* length);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint sendto(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint recvfrom(int fd, byte* buffer, nuint length, int flags, byte* address, uint* addressLength);
    [LibraryImport(Lib, SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, byte* value, uint length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockopt(int fd, int level, int name, byte* value, uint* length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int shutdown(int fd, int how);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint sendmsg(int fd, HostMsghdr* message, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint recvmsg(int fd, HostMsghdr* message, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int statfs(byte* path, byte* buffer);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fstatfs(int fd, byte* buffer);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getrusage(int who, byte* usage);
    [LibraryImport(Lib, SetLastError = true)] public static partial int sysinfo(byte* info);
    [LibraryImport(Lib, SetLastError = true)] public static partial long times(byte* buffer);
    [LibraryImport(Lib, SetLastError = true)] public static partial int ppoll(HostPollfd* fds, nuint count, HostTimespec* timeout, void* sigmask);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint sendfile(int outFd, int inFd, long* offset, nuint count);
    [LibraryImport(Lib, SetLastError = true)] public static partial int chdir(byte* path);
    [LibraryImport(Lib, SetLastError = true)] public static partial int setpgid(int pid, int pgid);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpgid(int pid);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsid(int pid);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fchdir(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial uint umask(uint mask);
    [LibraryImport(Lib, SetLastError = true)] public static partial byte* getcwd(byte* buffer, nuint size);
    [LibraryImport(Lib, SetLastError = true)] public static partial int clock_gettime(int clock, HostTimespec* time);
    [LibraryImport(Lib, SetLastError = true)] public static partial int clock_getres(int clock, HostTimespec* time);
    [LibraryImport(Lib, SetLastError = true)] public static partial int clock_nanosleep(int clock, int flags, HostTimespec* request, HostTimespec* remaining);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getrandom(byte* buffer, nuint length, uint flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int uname(byte* buffer);
    [LibraryImport(Lib, SetLastError = true)] public static partial int prlimit(int pid, int resource, byte* newLimit, byte* oldLimit);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpid();
    [LibraryImport(Lib, SetLastError = true)] public static partial int prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5);
    [LibraryImport(Lib, SetLastError = true)] public static partial int mount(byte* source, byte* target, byte* type, ulong flags, byte* data);
    [LibraryImport(Lib, SetLastError = true)] public static partial int umount2(byte* target, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getppid();
    [LibraryImport(Lib, SetLastError = true)] public static partial uint getuid();
    [LibraryImport(Lib, SetLastError = true)] public static partial uint geteuid();
    [LibraryImport(Lib, SetLastError = true)] public static partial uint getgid();
    [LibraryImport(Lib, SetLastError = true)] public static partial uint getegid();
    [LibraryImport(Lib, SetLastError = true)] public static partial int isatty(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint getdents64(int fd, byte* buffer, nuint length);
}

[StructLayout(LayoutKind.Sequential)]
internal struct HostIovec
{
    public nint Base;
    public nuint Length;
}

[StructLayout(LayoutKind.Sequential)]
internal struct HostTimespec
{
    public long Seconds;
    public long Nanoseconds;
}

[StructLayout(LayoutKind.Sequential)]
internal struct HostPollfd
{
    public int Fd;
    public short Events;
    public short Revents;
}

/// <summary>struct msghdr on 64-bit Linux (riscv64 and the hosts alike).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HostMsghdr
{
    public byte* Name;
    public uint NameLength;
    public HostIovec* Iov;
    public nuint IovLength;
    public byte* Control;
    public nuint ControlLength;
    public int Flags;
}
