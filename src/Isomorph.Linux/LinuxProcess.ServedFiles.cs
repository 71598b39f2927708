using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Syscalls;

namespace Isomorph.Linux;

/// <summary>
/// The descriptors the VM serves itself (<see cref="ServedFile"/>): those this process made, whose
/// VM side lives as long as it does; its signalfds, readable while a signal in their mask is pending;
/// and the pidfds naming it, which become readable when it ends.
/// </summary>
public sealed partial class LinuxProcess
{
    private readonly List<ServedFile> _served = [];
    private SignalFdFile[] _signalFds = [];
    private readonly List<PidFdFile> _pidFds = [];

    /// <summary>Keeps <paramref name="file"/> until this process ends.</summary>
    internal void Own(ServedFile file)
    {
        lock (_served) _served.Add(file);
    }

    internal void AddSignalFd(SignalFdFile file)
    {
        Own(file);
        lock (SignalLock)
        {
            _signalFds = [.. _signalFds, file];
            RefreshSignalFds();
        }
    }

    /// <summary>Brings every signalfd's readiness up to date with the pending sets (the signal lock is taken; it is reentrant).</summary>
    internal void RefreshSignalFds()
    {
        if (_signalFds.Length == 0) return;
        lock (SignalLock)
        {
            ulong pending = _sharedPending;
            foreach (var t in _threads) pending |= t.Pending;
            foreach (var f in _signalFds) f.Refresh(pending);
        }
    }

    /// <summary>Makes <paramref name="file"/> readable when this process ends (at once if it has).</summary>
    internal void WatchEnd(PidFdFile file)
    {
        lock (_pidFds)
        {
            if (!IsZombie)
            {
                _pidFds.Add(file);
                return;
            }
        }
        file.Ended();
    }

    /// <summary>The process has ended: its pidfds poll readable.</summary>
    private void NotifyPidFds()
    {
        PidFdFile[] files;
        lock (_pidFds)
        {
            files = [.. _pidFds];
            _pidFds.Clear();
        }
        foreach (var f in files) f.Ended();
    }

    /// <summary>Process exit: the VM's side of the served descriptors it made goes.</summary>
    private void CloseServedFiles()
    {
        lock (SignalLock) _signalFds = [];
        ServedFile[] files;
        lock (_served)
        {
            files = [.. _served];
            _served.Clear();
        }
        foreach (var f in files) f.Dispose();
    }
}
