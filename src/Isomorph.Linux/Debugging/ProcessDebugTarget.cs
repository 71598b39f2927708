using Isomorph.Debugging;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Threads;
using Isomorph.Riscv;

namespace Isomorph.Linux.Debugging;

/// <summary>
/// The process VM as gdb sees it (as qemu-user's stub): the first process's guest threads, by
/// thread id, over its virtual memory. Processes it forks run on without the debugger.
/// </summary>
public sealed class ProcessDebugTarget(LinuxProcess process) : IDebugTarget
{
    /// <summary>Read from the initial stack before the program runs: argc, argv, envp, then the (type, value) pairs up to AT_NULL.</summary>
    public byte[]? AuxiliaryVector { get; } = ReadAuxv(process.Memory, process.MainThread.Hart.GetX(2));

    private static byte[]? ReadAuxv(GuestAddressSpace memory, ulong sp)
    {
        ulong at = sp;
        if (!memory.TryReadUInt64(at, out ulong argc)) return null;
        at += 8 * (argc + 2); // argc, argv[], NULL
        for (int i = 0; i < 100_000; i++, at += 8)
        {
            if (!memory.TryReadUInt64(at, out ulong env)) return null;
            if (env == 0) break;
        }
        ulong start = at + 8;
        for (at = start; memory.TryReadUInt64(at, out ulong type); at += 16)
            if (type == 0) return memory.Span(start, (int)(at + 16 - start)).ToArray();
        return null;
    }

    public IReadOnlyList<DebugThread> Threads
    {
        get
        {
            if (process.Exited) return [];
            // Each thread's comm (prctl PR_SET_NAME), as /proc/PID/task/TID/comm shows it.
            var threads = process.Threads.Where(t => !t.Exiting).Select(t => new DebugThread(t.Tid, t.Name, t.Hart)).ToList();
            // The main thread first, so that stops without a thread are reported on it.
            threads.Sort((a, b) => a.Id.CompareTo(b.Id));
            return threads;
        }
    }

    public bool Owns(Hart hart) => GuestThread.Current?.Process == process;

    public bool IsMachine => false;

    public bool ReadMemory(Hart hart, ulong address, Span<byte> buffer)
    {
        var memory = process.Memory;
        if (memory is null || !memory.Check(address, (ulong)buffer.Length, PageFlags.Read)) return false;
        memory.Span(address, buffer.Length).CopyTo(buffer);
        return true;
    }

    public bool WriteMemory(Hart hart, ulong address, ReadOnlySpan<byte> data)
    {
        var memory = process.Memory;
        if (memory is null || !memory.Check(address, (ulong)data.Length, PageFlags.None)) return false;
        memory.Write(address, data);
        return true;
    }

    public void Kill() => process.Terminate(LinuxProcess.Sigkill);

    public string? Monitor(Hart hart, string command) => command switch
    {
        "maps" or "info maps" => string.Concat(process.Memory.Mappings().Select(m => $"{m.Start:x12}-{m.End:x12} {m.Flags}\n")),
        _ => null,
    };

    public string MonitorHelp => "  maps                the guest's memory mappings\n";
}
