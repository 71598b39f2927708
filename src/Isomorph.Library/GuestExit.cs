namespace Isomorph;

/// <summary>Why a guest program stopped.</summary>
public enum GuestEnd
{
    /// <summary>It exited (exit or exit_group, or returned from main): <see cref="GuestExit.ExitStatus"/> says with what.</summary>
    Exited,
    /// <summary>A signal ended it (its own fault, abort, a kill): <see cref="GuestExit.Signal"/> says which.</summary>
    Killed,
    /// <summary>It ran <see cref="LinuxProgram.MaxInstructions"/> instructions (it ends with SIGXCPU).</summary>
    InstructionLimit,
    /// <summary>It made a system call outside <see cref="LinuxProgram.AllowedSystemCalls"/> (it ends with SIGSYS).</summary>
    SystemCallRefused,
    /// <summary>It ran past <see cref="LinuxProgram.Timeout"/> (it was killed).</summary>
    TimedOut,
    /// <summary>The run's cancellation token was cancelled (it was killed).</summary>
    Cancelled,
}

/// <summary>How a guest program ended.</summary>
/// <param name="Reason">Why it stopped.</param>
/// <param name="ExitStatus">Its exit status (0-255) when it exited; 0 otherwise.</param>
/// <param name="Signal">The signal that ended it, or 0 when it exited.</param>
/// <param name="Instructions">The instructions its first process ran.</param>
public readonly record struct GuestExit(GuestEnd Reason, int ExitStatus, int Signal, long Instructions)
{
    /// <summary>True when it exited with status 0.</summary>
    public bool Succeeded => Reason == GuestEnd.Exited && ExitStatus == 0;

    /// <summary>The status a shell would report: the exit status, or 128 + the signal.</summary>
    public int ShellStatus => Signal != 0 ? 128 + Signal : ExitStatus;
}
