using Isomorph.Linux.Host;
using Isomorph.Linux.Processes;

namespace Isomorph.Linux;

/// <summary>
/// A guest process whose execve started a host program (<see cref="HostProgram"/>): the host
/// child stands in for it. Its guest threads have ended and its descriptors are the child's now;
/// signals sent to the guest process go to the child, and the child's end is the process's end,
/// which its guest parent collects with wait4 as for any other.
/// </summary>
public sealed partial class LinuxProcess
{
    /// <summary>The host process standing in for this one, 0 when none, -1 once it has ended (guarded by <see cref="_hostChildLock"/>).</summary>
    private int _hostChild;
    private readonly Lock _hostChildLock = new();

    /// <summary>The host process id of the program this process runs, if it runs a host program.</summary>
    public int? HostChild
    {
        get
        {
            lock (_hostChildLock) return _hostChild > 0 ? _hostChild : null;
        }
    }

    /// <summary>
    /// execve of a host program at <paramref name="hostPath"/>: starts it, and on success never
    /// returns to guest code — the calling thread waits for the program and the process ends as
    /// it does. -errno when it cannot start, and then the process carries on unchanged.
    /// </summary>
    internal long ExecHost(string hostPath, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        var caller = Current;
        long pid;
        // The program's pid is known to signal senders from the moment it exists: a signal sent while
        // it starts (its first output may already have reached the sender) waits for the lock and goes to it.
        lock (SignalLock)
            lock (_hostChildLock)
            {
                pid = HostProgram.Spawn(this, hostPath, argv, envp, caller.BlockedSignals, IgnoredByGuest);
                if (pid >= 0) _hostChild = (int)pid;
            }
        if (pid < 0) return pid;
        Options.Strace?.WriteLine($"{caller.Tid} --- host program {hostPath} runs as host process {pid} ---");
        EndOtherThreads();
        Files.CloseAll(); // the program holds them now: a pipe's reader sees its end when the program closes it
        _vforkDone?.Set();
        int status = HostProgram.Wait((int)pid, () =>
        {
            lock (_hostChildLock) _hostChild = -1;
        });
        int signal = status & 0x7F;
        SetExit(signal != 0 ? new ProcessExit(0, signal) : new ProcessExit((status >> 8) & 0xFF, 0));
        StopAllThreads();
        return 0;
    }

    /// <summary>SIG_IGN in this process's dispositions (under <see cref="SignalLock"/>).</summary>
    private bool IgnoredByGuest(int signal) => SignalActions.TryGetValue(signal, out var action) && action.Handler == 1;

    /// <summary>
    /// A signal for a process that runs a host program goes to the program (true); not SIGCHLD
    /// from the process's guest children, which the program knows nothing of.
    /// </summary>
    private bool ForwardToHostChild(int signal)
    {
        lock (_hostChildLock)
        {
            if (_hostChild == 0) return false;
            if (_hostChild > 0 && signal != Sigchld) Libc.kill(_hostChild, signal);
            return true;
        }
    }
}
