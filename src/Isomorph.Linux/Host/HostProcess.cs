namespace Isomorph.Linux.Host;

/// <summary>The host process Isomorph runs in, as its own parent sees it.</summary>
public static unsafe class HostProcess
{
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
