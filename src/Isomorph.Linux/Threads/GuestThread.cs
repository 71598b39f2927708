using Isomorph.Linux.Host;
using Isomorph.Linux.Signals;
using Isomorph.Riscv;

namespace Isomorph.Linux.Threads;

/// <summary>
/// One guest thread (a Linux task): its hart, thread id and the per-thread kernel state — the
/// blocked mask and thread-directed pending signals, the alternate signal stack, the tid words
/// of set_tid_address and the robust futex list. A process (<see cref="LinuxProcess"/>) has one or
/// more; each runs on its own host thread, truly in parallel, over the process's shared memory.
/// </summary>
public sealed unsafe class GuestThread
{
    [ThreadStatic] private static GuestThread? t_current;

    /// <summary>The guest thread the calling host thread runs, or null on a host thread that runs none.</summary>
    public static GuestThread? Current => t_current;

    public GuestThread(LinuxProcess process, int tid, Hart hart)
    {
        Process = process;
        Tid = tid;
        Hart = hart;
        Waiter = new FutexWaiter(this);
    }

    public LinuxProcess Process { get; }
    public int Tid { get; internal set; }
    public Hart Hart { get; internal set; }

    /// <summary>In a system call (which may sleep): /proc's task state reads S then, R when running guest code.</summary>
    public volatile bool InSystemCall;

    /// <summary>
    /// Asleep in a system call: in a wait that a wake, a signal or a timeout ends ('S' in /proc;
    /// a thread in any other part of a system call is running, 'R', as on Linux).
    /// </summary>
    public bool Sleeping => Volatile.Read(ref _sleeping) != 0;

    private int _sleeping;

    /// <summary>Marks the thread asleep until the scope ends: <c>using (t.Asleep()) wait…</c>.</summary>
    public SleepScope Asleep()
    {
        Interlocked.Increment(ref _sleeping);
        return new SleepScope(this);
    }

    public readonly ref struct SleepScope(GuestThread thread)
    {
        public void Dispose() => Interlocked.Decrement(ref thread._sleeping);
    }

    /// <summary>The signals this thread blocks (rt_sigprocmask).</summary>
    public ulong BlockedSignals;
    /// <summary>Signals sent to this thread alone (tgkill, faults), with what was said about each.</summary>
    internal ulong Pending;
    internal readonly SignalInfo[] PendingInfo = new SignalInfo[65];
    /// <summary>The mask rt_sigsuspend replaced, restored once its handler has run.</summary>
    internal ulong? MaskAfterSuspend;
    /// <summary>The system call being returned from, for SA_RESTART: where its ecall is and its first argument.</summary>
    internal (ulong Pc, ulong A0, bool Restartable) InterruptedCall;

    /// <summary>Set whenever a signal for this thread arrives or a futex wakes it: sleeps and waits end early on it.</summary>
    public AutoResetEvent SignalArrived { get; } = new(false);

    /// <summary>
    /// A host eventfd that becomes readable whenever a signal for this thread arrives, so that a
    /// system call blocked in the host's ppoll (pipes, terminals, sockets) wakes up at once.
    /// </summary>
    public int WakeupFd { get; private set; } = Libc.eventfd(0, Libc.OCloexec | 0x800 /* EFD_NONBLOCK */);
    private readonly object _wakeupLock = new();

    /// <summary>The alternate signal stack (sigaltstack): base, flags (SS_DISABLE when none), size.</summary>
    public (ulong Base, int Flags, ulong Size) AltStack { get; set; } = (0, LinuxProcess.SsDisable, 0);

    /// <summary>The thread's name (comm: prctl PR_SET_NAME/PR_GET_NAME), at most 15 bytes: the program's file name after execve, its creator's for a new thread.</summary>
    public string Name { get; set; } = "";

    /// <summary>set_tid_address / CLONE_CHILD_CLEARTID: the word zeroed and futex-woken when the thread ends.</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>set_robust_list: the head of the thread's list of robust futexes, and its length.</summary>
    public ulong RobustList { get; set; }
    public ulong RobustListLength { get; set; }

    /// <summary>True once the thread called exit (not exit_group), or was told to end (exit_group, execve elsewhere).</summary>
    internal volatile bool Exiting;
    /// <summary>True once the thread has left its run loop and done what the kernel does at a thread's end.</summary>
    internal volatile bool Stopped;
    internal int ExitCode;

    /// <summary>The host thread that runs this guest thread.</summary>
    internal Thread? HostThread;

    /// <summary>True while the hart runs guest instructions (not in a system call or a wait), for TLB shootdowns.</summary>
    internal volatile bool RunningGuest;

    /// <summary>The futex wait this thread is in, if any (reused: a thread waits on one futex at a time).</summary>
    internal readonly FutexWaiter Waiter;

    /// <summary>Makes this the calling host thread's guest thread.</summary>
    internal void Enter()
    {
        t_current = this;
        if (t_hostTid == 0) t_hostTid = (int)Libc.syscall(186 /* x86-64 gettid */, 0, 0, 0, 0, 0);
        HostTid = t_hostTid;
    }

    /// <summary>The calling host thread's id, asked of the kernel once per thread.</summary>
    [ThreadStatic] private static int t_hostTid;

    /// <summary>The host thread's id (its credentials are the guest thread's); 0 before it first ran.</summary>
    public int HostTid { get; private set; }

    /// <summary>Wakes whatever this thread is blocked in (a sleep, a futex, a host ppoll).</summary>
    public void WakeUp()
    {
        SignalArrived.Set();
        ulong one = 1;
        lock (_wakeupLock)
            if (WakeupFd >= 0) Libc.write(WakeupFd, (byte*)&one, 8);
    }

    /// <summary>Empties the wakeup eventfd before looking at the pending signals again.</summary>
    public void DrainWakeup()
    {
        ulong count;
        Libc.read(WakeupFd, (byte*)&count, 8);
    }

    /// <summary>Closes the wakeup eventfd as the thread ends (under the lock, so no waker writes to a reused descriptor).</summary>
    internal void CloseWakeup()
    {
        lock (_wakeupLock)
        {
            if (WakeupFd >= 0) Libc.close(WakeupFd);
            WakeupFd = -1;
        }
    }

    public override string ToString() => $"thread {Tid} of process {Process.Pid}";
}
