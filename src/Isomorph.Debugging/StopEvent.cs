using Isomorph.Riscv;

namespace Isomorph.Debugging;

public enum StopKind
{
    /// <summary>Stopped with a signal: the initial stop, Ctrl-C (SIGINT), a guest's fault.</summary>
    Signal,
    SoftwareBreakpoint,
    HardwareBreakpoint,
    /// <summary>A single-step finished.</summary>
    Step,
    WriteWatchpoint,
    ReadWatchpoint,
    AccessWatchpoint,
    /// <summary>The program ended with an exit status (<see cref="StopEvent.Code"/>).</summary>
    Exited,
    /// <summary>The program was killed by a signal (<see cref="StopEvent.Code"/>).</summary>
    Terminated,
}

/// <summary>Why the target stopped, on which hart (null: the first thread), and the address a watchpoint saw.</summary>
public sealed record StopEvent(StopKind Kind, Hart? Hart, int Code = 5, ulong Address = 0)
{
    public const int Sigint = 2, Sigtrap = 5;
}
