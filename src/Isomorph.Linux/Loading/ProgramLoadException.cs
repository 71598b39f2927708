namespace Isomorph.Linux.Loading;

/// <summary>
/// A program that cannot be started (bad ELF, missing interpreter), with a one-line reason and the
/// errno a guest's execve gets for it (Linux's binfmt_elf answer: ENOEXEC, EIO, EINVAL, ...).
/// </summary>
public sealed class ProgramLoadException(string message, int errno = Errno.ENOEXEC) : Exception(message)
{
    public int Errno { get; } = errno;
}
