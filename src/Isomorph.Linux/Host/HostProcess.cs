namespace Isomorph.Linux.Host;

/// <summary>The host process Isomorph runs in, as its own parent sees it.</summary>
public static unsafe class HostProcess
{
    /// <summary>
    /// Keeps duplicates of this process's standard input, output and error while a guest that
    /// inherited them runs (its descriptors are the host's own: its exit, or its own close, closes
    /// them). Disposing it puts back each of 0, 1 and 2 that is closed by then, so that the host
    /// process still has its standard streams after the guest.
    /// </summary>
    public static IDisposable KeepStandardDescriptors() => new StandardDescriptors();

    private sealed class StandardDescriptors : IDisposable
    {
        private readonly int[] _saved = [.. Enumerable.Range(0, 3).Select(fd => Libc.fcntl(fd, Libc.FDupfdCloexec, 3))];

        public void Dispose()
        {
            const int FGetfd = 1;
            for (int fd = 0; fd < 3; fd++)
            {
                if (_saved[fd] < 0) continue;
                if (Libc.fcntl(fd, FGetfd, 0) < 0) Libc.dup3(_saved[fd], fd, 0);
                Libc.close(_saved[fd]);
                _saved[fd] = -1;
            }
        }
    }

    /// <summary>
    /// Ends the host process by <paramref name="signal"/>, as the guest process it ran was ended, so
    /// that a parent shell or a binfmt_misc caller sees the same wait status as for a native program
    /// (qemu-user does the same). Without a core dump: it would be the emulator's, not the guest's.
    /// Returns only if the signal did not end the process (the shell status 128 + signal then).
    /// </summary>
    public static int DieOf(int signal)
    {
        const int RlimitCore = 4;
        byte* zero = stackalloc byte[16];
        new Span<byte>(zero, 16).Clear();
        Libc.prlimit(0, RlimitCore, zero, null);
        byte* action = stackalloc byte[Libc.SigactionSize];
        new Span<byte>(action, Libc.SigactionSize).Clear(); // SIG_DFL, no flags, nothing masked
        Libc.sigaction(signal, action, null);
        byte* unblock = stackalloc byte[Libc.SigsetSize];
        new Span<byte>(unblock, Libc.SigsetSize).Clear();
        *(ulong*)unblock = 1ul << (signal - 1);
        Libc.sigprocmask(1 /* SIG_UNBLOCK */, unblock, null);
        Libc.kill(Libc.getpid(), signal);
        Thread.Sleep(100); // delivered by now, unless the signal's default is to be ignored
        return 128 + signal;
    }
}
