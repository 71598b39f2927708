using System.Diagnostics;
using Isomorph.Linux.Threads;

namespace Isomorph.Linux.Processes;

/// <summary>
/// The guest processes of one run, which all live in the one host process, each on its own host
/// thread: their process ids, who is whose parent, and the exit statuses parents collect with
/// wait4/waitid. The first process has the host's process id; its descendants get the ids after it.
/// </summary>
public sealed class ProcessTable
{
    private readonly object _sync = new();
    private readonly Dictionary<int, LinuxProcess> _processes = [];
    /// <summary>Every live thread by thread id (a process's main thread has the process id).</summary>
    private readonly Dictionary<int, GuestThread> _threads = [];
    private int _lastPid;

    public ProcessTable(int firstPid) => _lastPid = firstPid - 1;

    /// <summary>The controlling terminal's foreground process group as the guests set it (TIOCSPGRP), or null before they do.</summary>
    public int? ForegroundGroup { get; set; }

    /// <summary>The directory the run's guests are confined to (--root), or null.</summary>
    public FileSystem.GuestRoot? Root { get; init; }

    /// <summary>The futexes in MAP_SHARED mappings, which processes of the run may share (keyed by file and offset).</summary>
    public FutexTable SharedFutexes { get; } = new();

    /// <summary>The guest's clock (rdtime, at 10 MHz): one for every process of the run.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>Gives <paramref name="process"/> the next process id and lists it under its parent.</summary>
    internal int Add(LinuxProcess process, LinuxProcess? parent)
    {
        lock (_sync)
        {
            int pid = ++_lastPid;
            _processes[pid] = process;
            parent?.Children.Add(process);
            return pid;
        }
    }

    /// <summary>A fresh thread id (from the same sequence as process ids, as on Linux).</summary>
    internal int NextId()
    {
        lock (_sync) return ++_lastPid;
    }

    internal void AddThread(GuestThread thread)
    {
        lock (_sync) _threads[thread.Tid] = thread;
    }

    /// <summary>Forgets a thread id, unless it names another thread by now (a new leader after execve).</summary>
    internal void RemoveThread(GuestThread thread)
    {
        lock (_sync)
            if (_threads.TryGetValue(thread.Tid, out var t) && t == thread) _threads.Remove(thread.Tid);
    }

    /// <summary>A live thread by its thread id, or null.</summary>
    public GuestThread? FindThread(int tid)
    {
        lock (_sync) return _threads.GetValueOrDefault(tid);
    }

    /// <summary>A process that has not been reaped, or null.</summary>
    public LinuxProcess? Find(int pid)
    {
        lock (_sync) return _processes.GetValueOrDefault(pid);
    }

    /// <summary>Every live process.</summary>
    public List<LinuxProcess> All()
    {
        lock (_sync) return [.. _processes.Values.Where(p => !p.IsZombie)];
    }

    /// <summary>Every live process in the group <paramref name="pgid"/>.</summary>
    public List<LinuxProcess> Group(int pgid)
    {
        lock (_sync) return [.. _processes.Values.Where(p => p.ProcessGroup == pgid && !p.IsZombie)];
    }

    /// <summary>
    /// Records that <paramref name="process"/> has ended: it becomes a zombie its parent may reap,
    /// its own children lose their parent (and are reaped by nobody), and waiters wake.
    /// <paramref name="notifyParent"/> (the exit signal) runs in the same step, under the lock
    /// wait4 and waitid look under.
    /// </summary>
    internal void Ended(LinuxProcess process, Action<LinuxProcess> notifyParent)
    {
        lock (_sync)
        {
            process.IsZombie = true;
            if (process.Parent is { } parent) notifyParent(parent);
            _threads.Remove(process.Pid);
            foreach (var child in process.Children)
            {
                child.Parent = null;
                if (child.IsZombie) _processes.Remove(child.Pid);
                // prctl(PR_SET_PDEATHSIG): the orphan is told its parent has ended.
                else if (child.ParentDeathSignal != 0) child.SendSignal(child.ParentDeathSignal, new Signals.SignalInfo(child.ParentDeathSignal, Signals.SignalInfo.SiUser, process.Pid));
            }
            process.Children.Clear();
            if (process.Parent is null) _processes.Remove(process.Pid);
            Monitor.PulseAll(_sync);
        }
    }

    /// <summary>Wakes the waiters so they look at their pending signals.</summary>
    internal void Wake()
    {
        lock (_sync) Monitor.PulseAll(_sync);
    }

    /// <summary>
    /// wait4/waitid: the first ended child of <paramref name="parent"/> that <paramref name="selects"/>,
    /// reaped unless <paramref name="keep"/>. Null with 0 when <paramref name="noHang"/> and none has
    /// ended yet, -ECHILD when no child matches, -EINTR when <paramref name="interrupted"/> says so.
    /// </summary>
    internal (LinuxProcess? Child, long Error) Wait(LinuxProcess parent, Func<LinuxProcess, bool> selects, bool noHang, bool keep,
        Func<bool> interrupted)
    {
        lock (_sync)
        {
            while (true)
            {
                bool any = false;
                foreach (var child in parent.Children)
                {
                    if (!selects(child)) continue;
                    any = true;
                    if (!child.IsZombie) continue;
                    if (!keep)
                    {
                        parent.Children.Remove(child);
                        _processes.Remove(child.Pid);
                    }
                    return (child, 0);
                }
                if (!any) return (null, -Errno.ECHILD);
                if (noHang) return (null, 0);
                if (interrupted()) return (null, -Errno.EINTR);
                using (parent.Current.Asleep()) Monitor.Wait(_sync, 100);
            }
        }
    }
}
