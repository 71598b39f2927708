using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Syscalls;

namespace Isomorph.Linux;

/// <summary>
/// The descriptors the VM serves itself (<see cref="ServedFile"/>) that follow this process's state:
/// its signalfds, readable while a signal in their mask is pending, which live as long as the process.
/// </summary>
public sealed partial class LinuxProcess
{
    private SignalFdFile[] _signalFds = [];

    internal void AddSignalFd(SignalFdFile file)
    {
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

    /// <summary>Process exit: the VM's side of its served descriptors goes.</summary>
    private void CloseServedFiles()
    {
        SignalFdFile[] files;
        lock (SignalLock)
        {
            files = _signalFds;
            _signalFds = [];
        }
        foreach (var f in files) f.Dispose();
    }
}
