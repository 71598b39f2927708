using Isomorph.Riscv;

namespace Isomorph.Debugging;

/// <summary>A thread as the debugger shows it: a guest thread of the process VM, or a hart of a machine.</summary>
/// <param name="Id">The thread id gdb sees (positive): the guest's tid, or the hart id + 1.</param>
/// <param name="Name">The name gdb shows for it (qXfer:threads:read).</param>
/// <param name="Hart">The hart whose registers and memory view it has.</param>
public sealed record DebugThread(int Id, string Name, Hart Hart);

/// <summary>
/// What the gdb stub needs from a virtual machine beyond its harts' registers (which it reads from
/// <see cref="Hart"/> itself): its threads, memory as a stopped hart sees it, and how to end it.
/// The process VM (Isomorph.Linux) and the machines (Isomorph.Machines) implement it; running,
/// stopping and stepping go through <see cref="ExecutionControl"/>, the engine every hart runs under.
/// </summary>
public interface IDebugTarget
{
    /// <summary>The threads now; the first is the one a stop without a thread (Ctrl-C, the initial stop) is reported on.</summary>
    IReadOnlyList<DebugThread> Threads { get; }

    /// <summary>True when <paramref name="hart"/> belongs to the debugged program (called on the hart's own host thread).</summary>
    bool Owns(Hart hart);

    /// <summary>True on a machine: the target description adds the privileged CSRs and the privilege level.</summary>
    bool IsMachine { get; }

    /// <summary>Reads memory as <paramref name="hart"/> sees it (virtual addresses); false when some byte is unreadable.</summary>
    bool ReadMemory(Hart hart, ulong address, Span<byte> buffer);

    /// <summary>Writes memory as <paramref name="hart"/> sees it (ignoring write protection, as ptrace does); false when some byte is unmapped.</summary>
    bool WriteMemory(Hart hart, ulong address, ReadOnlySpan<byte> data);

    /// <summary>
    /// The program's auxiliary vector as the kernel gave it (qXfer:auxv:read: gdb finds a PIE
    /// program's load address and the dynamic linker from it), or null on a machine.
    /// </summary>
    byte[]? AuxiliaryVector { get; }

    /// <summary>Ends the debugged program (gdb's kill).</summary>
    void Kill();

    /// <summary>A target-specific <c>monitor</c> command's output, or null when the target does not know it.</summary>
    string? Monitor(Hart hart, string command);

    /// <summary>Lines describing the target-specific monitor commands, for <c>monitor help</c>.</summary>
    string MonitorHelp { get; }
}
