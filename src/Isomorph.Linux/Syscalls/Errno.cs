namespace Isomorph.Linux;

/// <summary>Linux errno values (asm-generic, as on riscv64). System calls return them negated.</summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EFAULT = 14, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EMFILE = 24,
        ENOTTY = 25, ESPIPE = 29, EPIPE = 32, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ELIBBAD = 80, ENOBUFS = 105,
        ETIMEDOUT = 110, EOVERFLOW = 75, ENOMSG = 42;
    public const int EMSGSIZE = 90, EAFNOSUPPORT = 97, ECONNREFUSED = 111;

    private static readonly Dictionary<long, string> Names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR", [EIO] = "EIO", [E2BIG] = "E2BIG", [ENOEXEC] = "ENOEXEC", [EBADF] = "EBADF",
        [ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EFAULT] = "EFAULT",
        [EEXIST] = "EEXIST", [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR", [EINVAL] = "EINVAL", [EMFILE] = "EMFILE",
        [ENOTTY] = "ENOTTY", [ESPIPE] = "ESPIPE", [EPIPE] = "EPIPE", [ERANGE] = "ERANGE", [ENAMETOOLONG] = "ENAMETOOLONG",
        [ENOSYS] = "ENOSYS", [ENOTEMPTY] = "ENOTEMPTY", [ELOOP] = "ELOOP", [ELIBBAD] = "ELIBBAD", [ENOBUFS] = "ENOBUFS", [ETIMEDOUT] = "ETIMEDOUT",
        [EOVERFLOW] = "EOVERFLOW", [EMSGSIZE] = "EMSGSIZE", [EAFNOSUPPORT] = "EAFNOSUPPORT", [ECONNREFUSED] = "ECONNREFUSED", [ENOMSG] = "ENOMSG",
    };

    /// <summary>"ENOENT" for 2, "errno 99" for numbers without a name here.</summary>
    public static string Name(long errno) => Names.TryGetValue(errno, out var n) ? n : $"errno {errno}";
}
