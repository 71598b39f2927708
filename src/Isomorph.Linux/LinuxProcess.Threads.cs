using Isomorph.Devices.Bus;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Syscalls;
using Isomorph.Linux.Threads;
using Isomorph.Riscv;
using Isomorph.Riscv.Isa;

namespace Isomorph.Linux;

/// <summary>
/// Threads: clone with CLONE_THREAD adds a <see cref="GuestThread"/> with its own hart on its own
/// host thread, sharing this process's memory, code cache, descriptors and signal dispositions.
/// exit ends one thread, exit_group all of them; the main thread's host thread finishes the
/// process once the others have ended. Address-space changes that take permissions away reach
/// every thread's TLBs before the system call returns.
/// </summary>
public sealed unsafe partial class LinuxProcess
{
    private readonly object _threadsLock = new();
    /// <summary>The live threads (copied on change, so it can be walked without the lock).</summary>
    private volatile GuestThread[] _threads = [];

    /// <summary>The thread the process started with; its thread id is the process id.</summary>
    public GuestThread MainThread { get; private set; } = null!;

    /// <summary>The futex queues of this process's address space.</summary>
    public FutexTable Futexes { get; } = new();

    /// <summary>Serializes changes to the address space (mmap, munmap, mprotect, mremap, brk) among the threads.</summary>
    public Lock MapLock { get; } = new();

    /// <summary>The membarrier commands the process has registered for (MEMBARRIER_CMD_REGISTER_*).</summary>
    public int MembarrierRegistrations { get; set; }

    /// <summary>The live threads of the process.</summary>
    public IReadOnlyList<GuestThread> Threads => _threads;

    /// <summary>The guest thread that is making the current system call (the main thread when called from elsewhere).</summary>
    public GuestThread Current
    {
        get
        {
            var t = GuestThread.Current;
            return t is not null && t.Process == this ? t : MainThread;
        }
    }

    private void AddThread(GuestThread t)
    {
        lock (_threadsLock) _threads = [.. _threads, t];
        Table.AddThread(t);
    }

    private void RemoveThread(GuestThread t)
    {
        lock (_threadsLock)
        {
            _threads = [.. _threads.Where(x => x != t)];
            Monitor.PulseAll(_threadsLock);
        }
        Table.RemoveThread(t);
    }

    /// <summary>
    /// clone with CLONE_THREAD: a new thread that starts after the ecall with the caller's registers,
    /// a0 = 0, sp = <paramref name="stack"/> (when not 0) and tp = <paramref name="tls"/> (when given).
    /// It inherits the caller's blocked mask but no alternate signal stack. Returns it, not yet started.
    /// </summary>
    public GuestThread CreateThread(ulong stack, ulong? tls)
    {
        var caller = Current;
        var from = caller.Hart;
        var hart = new Hart(from.Bus, 0, from.Code) { PageProtection = Memory, Direct = Memory.Direct };
        hart.EnterUserMode(from.Pc);
        for (int i = 1; i < 32; i++) hart.X[i] = from.X[i];
        for (int i = 0; i < 32; i++) hart.F[i] = from.F[i];
        if (from.TryReadCsr(CsrNumber.Fcsr, out ulong fcsr)) hart.TryWriteCsr(CsrNumber.Fcsr, fcsr);
        hart.X[10] = 0;
        if (stack != 0) hart.X[2] = stack;
        if (tls is { } tp) hart.X[4] = tp;
        PrepareHart(hart);
        var t = new GuestThread(this, Table.NextId(), hart) { BlockedSignals = caller.BlockedSignals, Name = caller.Name };
        Affinity.Inherit(caller, t);
        AddThread(t);
        return t;
    }

    /// <summary>Starts a thread made by <see cref="CreateThread"/> on a host thread of its own.</summary>
    public void StartThread(GuestThread t)
    {
        var host = new Thread(() => RunThread(t), HostThreadStack) { IsBackground = true, Name = $"guest tid {t.Tid}" };
        t.HostThread = host;
        host.Start();
    }

    private void RunThread(GuestThread t)
    {
        t.Enter();
        try
        {
            RunGuest(t);
        }
        catch (Exception e)
        {
            Options.Diagnostics.WriteLine($"isomorph: internal error in guest thread {t.Tid} of process {Pid}: {e}");
            Terminate(Sigkill);
        }
        finally
        {
            ThreadEnds(t);
            t.Stopped = true;
            t.Hart.Code.Detach(t.Hart);
            RemoveThread(t);
            t.CloseWakeup();
            t.Hart.Dispose();
        }
    }

    /// <summary>exit: ends the calling thread only (the process ends with its last thread).</summary>
    public void ExitThread(int status)
    {
        var t = Current;
        t.ExitCode = status;
        t.Exiting = true;
        t.Hart.RequestStop();
    }

    /// <summary>
    /// What the kernel does as a thread ends: robust futexes it still holds are marked
    /// FUTEX_OWNER_DIED and a waiter woken; its clear-child-tid word is zeroed and woken (pthread_join).
    /// </summary>
    private void ThreadEnds(GuestThread t)
    {
        t.Exiting = true;
        if (_disposed) return;
        try
        {
            RobustFutexes.Release(this, t);
            ulong tidWord = t.ClearChildTid;
            if (tidWord != 0 && (tidWord & 3) == 0 && Memory.Check(tidWord, 4, PageFlags.Write))
            {
                Volatile.Write(ref *(int*)Memory.HostAddress(tidWord), 0);
                Memory.NoteWritten(tidWord, 4);
                Futexes.Wake(tidWord, 1);
            }
        }
        catch (Exception e)
        {
            Options.Diagnostics.WriteLine($"isomorph: internal error ending guest thread {t.Tid}: {e}");
        }
    }

    /// <summary>How long the process's end waits for a thread stuck in a host call that no wakeup reaches.</summary>
    private static readonly TimeSpan StrandedThreadGrace = TimeSpan.FromSeconds(5);

    /// <summary>True when the process ended with a thread still inside a host call: its memory is then never unmapped.</summary>
    private bool _stranded;

    /// <summary>
    /// The main thread waits here, once it has ended, for the process's other threads. Once the
    /// process is exiting they all leave what they are blocked in; one stuck in a host call that no
    /// wakeup reaches (a read that another thread's data satisfied first) is left behind after a
    /// grace period, and the address space it might still write into is kept.
    /// </summary>
    private void WaitForOtherThreads(GuestThread main)
    {
        var exiting = System.Diagnostics.Stopwatch.StartNew();
        lock (_threadsLock)
        {
            while (_threads.Any(t => t != main))
            {
                if (_exit is null) exiting.Restart();
                else if (exiting.Elapsed > StrandedThreadGrace)
                {
                    _stranded = true;
                    Options.Diagnostics.WriteLine($"isomorph: warning: process {Pid} ended with a thread blocked in the host; its memory is kept");
                    break;
                }
                Monitor.Wait(_threadsLock, 200);
            }
        }
        RemoveThread(main);
    }

    /// <summary>
    /// execve from a thread other than the main one: once the others have ended, it becomes the
    /// process's main thread and takes the process id as its thread id, as Linux's de_thread does.
    /// The old main thread's host thread still finishes the process when this one ends.
    /// </summary>
    private void BecomeLeader(GuestThread t)
    {
        Table.RemoveThread(t);
        t.Tid = Pid;
        MainThread = t;
        Table.AddThread(t);
    }

    /// <summary>exit_group, a fatal signal: every thread stops at its next instruction boundary or leaves what it is blocked in.</summary>
    private void StopAllThreads()
    {
        foreach (var t in _threads)
        {
            t.Hart.RequestStop();
            t.WakeUp();
        }
        Table.Wake();
    }

    /// <summary>
    /// execve: the other threads end, and the caller waits until none runs guest code or touches
    /// the old image any more (the main thread's host thread then waits on, to finish the process).
    /// </summary>
    private void EndOtherThreads()
    {
        var self = Current;
        foreach (var t in _threads)
        {
            if (t == self) continue;
            t.Exiting = true;
            t.Hart.RequestStop();
            t.WakeUp();
        }
        lock (_threadsLock)
        {
            while (_threads.Any(t => t != self && !t.Stopped))
                Monitor.Wait(_threadsLock, 20);
        }
    }

    /// <summary>
    /// Makes every thread forget its cached translations: the caller's at once, and the others' before
    /// this returns — each running hart serves the request at its next instruction boundary; one
    /// that is in a system call or waiting serves it before it runs guest code again.
    /// </summary>
    private void ShootDownTlbs()
    {
        var self = GuestThread.Current;
        var threads = _threads;
        foreach (var t in threads)
        {
            if (t == self) t.Hart.FlushTlb();
            else t.Hart.RequestTlbFlush();
        }
        foreach (var t in threads)
        {
            if (t == self) continue;
            var spin = new SpinWait();
            while (t.RunningGuest && t.Hart.TlbFlushPending && !t.Exiting) spin.SpinOnce();
        }
    }

    /// <summary>
    /// membarrier's expedited commands: a full fence here, and every other running thread passes an
    /// instruction boundary (its hart serializes) before this returns.
    /// </summary>
    public void SerializeThreads()
    {
        Interlocked.MemoryBarrier();
        var self = GuestThread.Current;
        var threads = _threads;
        foreach (var t in threads)
            if (t != self) t.Hart.RequestTlbFlush();
        foreach (var t in threads)
        {
            if (t == self) continue;
            var spin = new SpinWait();
            while (t.RunningGuest && t.Hart.TlbFlushPending && !t.Exiting) spin.SpinOnce();
        }
    }
}
