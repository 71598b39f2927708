using Isomorph.Linux;
using Isomorph.Linux.Syscalls;

namespace Isomorph;

/// <summary>
/// A system call the guest made, as a <see cref="SystemCallHandler"/> sees it: its riscv64 number
/// (a7), its six arguments (a0-a5) and the process's memory.
/// </summary>
public readonly struct SystemCall
{
    private readonly SyscallArgs _args;

    internal SystemCall(LinuxProcess process, long number, in SyscallArgs args)
    {
        Process = process;
        Number = number;
        _args = args;
    }

    internal LinuxProcess Process { get; }

    /// <summary>The system call's number (riscv64's, from a7).</summary>
    public long Number { get; }

    /// <summary>Argument <paramref name="index"/> (0-5: a0-a5).</summary>
    public ulong this[int index] => (uint)index < 6 ? _args[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The calling process's memory.</summary>
    public GuestMemory Memory => new(Process.Memory);

    /// <summary>The calling process's id, as the guest sees it.</summary>
    public int ProcessId => Process.Pid;

    /// <summary>
    /// Pauses the run once this call returns (<see cref="LinuxSession.RunUntilPaused"/> then
    /// returns): the guest is ready for <see cref="LinuxSession.Call(string, ReadOnlySpan{ulong})"/>.
    /// </summary>
    public void Pause() => Process.RequestPause();
}

/// <summary>
/// Serves a system call: returns its result (a0), or a negative errno (-38 for ENOSYS). A
/// <see cref="GuestMemoryException"/> that escapes it answers EFAULT.
/// </summary>
public delegate long SystemCallHandler(SystemCall call);
