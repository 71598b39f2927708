using Isomorph.Linux.Host;
using Isomorph.Linux.Loading;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Signals;
using Isomorph.Linux.Syscalls;
using Isomorph.Linux.Threads;
using Isomorph.Riscv.Isa;

namespace Isomorph.Linux;

/// <summary>
/// Signals: dispositions (shared by the threads), the process-wide and per-thread pending sets,
/// each thread's blocked mask and alternate stack, and delivery — a riscv64 rt_sigframe pushed on
/// the thread's stack, the handler entered with ra at the sigreturn trampoline. A process-directed
/// signal (kill, SIGCHLD, timers) goes to a thread that does not block it; a thread-directed one
/// (tgkill, faults) to its thread. Signals are delivered on the receiving thread's own host thread:
/// after a system call, when its hart stops (another thread asked it to), and at once for faults.
/// </summary>
public sealed unsafe partial class LinuxProcess
{
    public const ulong SigDfl = 0, SigIgn = 1;
    public const ulong SaSiginfo = 4, SaOnstack = 0x0800_0000, SaRestart = 0x1000_0000, SaNodefer = 0x4000_0000, SaResethand = 0x8000_0000;
    public const int SsOnstack = 1, SsDisable = 2;
    /// <summary>SIGKILL and SIGSTOP can be neither blocked nor caught.</summary>
    public const ulong Unblockable = (1ul << (Sigkill - 1)) | (1ul << (19 - 1));

    /// <summary>Process-directed signals not yet taken by a thread (guarded by <see cref="SignalLock"/>).</summary>
    private ulong _sharedPending;
    private readonly SignalInfo[] _sharedInfo = new SignalInfo[65];

    /// <summary>Guards dispositions and the pending sets, which other threads and processes touch when they send signals.</summary>
    public object SignalLock { get; } = new();

    /// <summary>The calling thread's signal event: sleeps and waits end early on it.</summary>
    public AutoResetEvent SignalArrived => Current.SignalArrived;

    /// <summary>The calling thread's wakeup eventfd, for waits in the host's ppoll.</summary>
    public int WakeupFd => Current.WakeupFd;

    /// <summary>Empties the calling thread's wakeup eventfd before looking at the pending signals again.</summary>
    public void DrainWakeup() => Current.DrainWakeup();

    /// <summary>The calling thread's alternate signal stack (sigaltstack): base, flags (SS_DISABLE when none), size.</summary>
    public (ulong Base, int Flags, ulong Size) AltStack { get => Current.AltStack; set => Current.AltStack = value; }

    /// <summary>Where the sigreturn trampoline is mapped in the current image.</summary>
    public ulong SigreturnTrampoline { get; private set; }

    private static ulong Bit(int signal) => 1ul << (signal - 1);

    /// <summary>
    /// The signals the host process was started with ignored stay ignored in the guest, as exec
    /// leaves them on Linux and qemu-user passes them on: a program started by nohup, or in the
    /// background of a shell without job control, keeps SIGHUP, or SIGINT and SIGQUIT, ignored.
    /// .NET keeps an inherited SIG_IGN where it installs its own handlers (SIGINT, SIGQUIT), so the
    /// host's disposition still tells; SIGPIPE is left out, which .NET ignores in every process.
    /// </summary>
    private void InheritIgnoredSignals()
    {
        byte* old = stackalloc byte[Host.Libc.SigactionSize];
        for (int signal = 1; signal <= 31; signal++)
        {
            if (signal is Sigkill or 19 or Sigpipe) continue; // 19: SIGSTOP, which cannot be ignored either
            if (Host.Libc.sigaction(signal, null, old) == 0 && *(nint*)old == Host.Libc.SigIgn)
                SignalActions[signal] = (SigIgn, 0, 0);
        }
    }

    private Timer? _realTimer;
    private TimeSpan _realInterval;
    private TimeSpan _realDue;
    private readonly System.Diagnostics.Stopwatch _realSet = new();

    /// <summary>ITIMER_REAL: SIGALRM after <paramref name="value"/>, then every <paramref name="interval"/>; returns the old setting.</summary>
    public (TimeSpan Interval, TimeSpan Value) SetRealTimer(TimeSpan interval, TimeSpan value)
    {
        lock (SignalLock)
        {
            var old = RealTimer();
            _realTimer?.Dispose();
            _realTimer = null;
            _realInterval = interval;
            _realDue = value;
            _realSet.Restart();
            if (value > TimeSpan.Zero)
                _realTimer = new Timer(_ => OnRealTimer(), null, value, interval > TimeSpan.Zero ? interval : Timeout.InfiniteTimeSpan);
            return old;
        }
    }

    /// <summary>The current ITIMER_REAL setting: its interval and the time left.</summary>
    public (TimeSpan Interval, TimeSpan Value) RealTimer()
    {
        lock (SignalLock)
        {
            if (_realTimer is null) return (TimeSpan.Zero, TimeSpan.Zero);
            var elapsed = _realSet.Elapsed;
            var left = _realDue - elapsed;
            if (left <= TimeSpan.Zero && _realInterval > TimeSpan.Zero)
                left = _realInterval - TimeSpan.FromTicks((elapsed - _realDue).Ticks % _realInterval.Ticks);
            return (_realInterval, left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
        }
    }

    private void OnRealTimer()
    {
        lock (SignalLock)
        {
            if (_realInterval <= TimeSpan.Zero)
            {
                _realTimer?.Dispose();
                _realTimer = null;
            }
        }
        if (_exit is null) SendSignal(14 /* SIGALRM */, new SignalInfo(14, 0x80 /* SI_KERNEL */));
    }

    /// <summary>True for signals whose default action is to do nothing (SIGCHLD, SIGCONT, SIGURG, SIGWINCH; stops, which are not emulated).</summary>
    private static bool IgnoredByDefault(int signal) => signal is Sigchld or 18 or 19 or 20 or 21 or 22 or 23 or 28;

    /// <summary>
    /// Sends <paramref name="signal"/> to this process from any thread: it becomes pending for the
    /// process, and the main thread — or else the first thread that does not block it — is woken to take it.
    /// </summary>
    public void SendSignal(int signal, SignalInfo? info = null)
    {
        if (signal is < 1 or > 64) return;
        if (ForwardToHostChild(signal)) return;
        if (signal == Sigkill)
        {
            Terminate(Sigkill);
            return;
        }
        GuestThread? target = null;
        lock (SignalLock)
        {
            var threads = _threads;
            if (threads.Length == 0) return;
            bool blockedEverywhere = threads.All(t => (t.BlockedSignals & Bit(signal)) != 0);
            if (!blockedEverywhere && Ignored(signal)) return;
            _sharedPending |= Bit(signal);
            _sharedInfo[signal] = info ?? new SignalInfo(signal, SignalInfo.SiUser);
            RefreshSignalFds();
            foreach (var t in threads)
            {
                if (t.Exiting || (t.BlockedSignals & Bit(signal)) != 0) continue;
                target = t;
                break;
            }
        }
        if (target is null) return; // every thread blocks it: it waits until one unblocks it
        target.WakeUp();
        target.Hart.RequestStop();
        Table.Wake();
    }

    /// <summary>tgkill, tkill: sends <paramref name="signal"/> to thread <paramref name="t"/> of this process.</summary>
    public void SendThreadSignal(GuestThread t, int signal, SignalInfo info)
    {
        if (signal is < 1 or > 64) return;
        if (ForwardToHostChild(signal)) return;
        if (signal == Sigkill)
        {
            Terminate(Sigkill);
            return;
        }
        lock (SignalLock)
        {
            if ((t.BlockedSignals & Bit(signal)) == 0 && Ignored(signal)) return;
            t.Pending |= Bit(signal);
            t.PendingInfo[signal] = info;
            RefreshSignalFds();
        }
        t.WakeUp();
        t.Hart.RequestStop();
        Table.Wake();
    }

    /// <summary>True when delivering <paramref name="signal"/> would do nothing (SIG_IGN, or a default action of ignoring it). Under the lock.</summary>
    private bool Ignored(int signal)
    {
        var handler = SignalActions.GetValueOrDefault(signal).Handler;
        return handler == SigIgn || (handler == SigDfl && IgnoredByDefault(signal));
    }

    /// <summary>The signals pending for thread <paramref name="t"/>: its own and the process's.</summary>
    private ulong PendingFor(GuestThread t) => Volatile.Read(ref t.Pending) | Volatile.Read(ref _sharedPending);

    /// <summary>True when some signal is pending for <paramref name="t"/>, blocked or not (a quick test before delivery).</summary>
    private bool SignalsPending(GuestThread t) => PendingFor(t) != 0;

    /// <summary>
    /// True when the calling thread has a pending signal it does not block, or must end, so a
    /// blocking system call should end with EINTR.
    /// </summary>
    public bool HasDeliverableSignal() => HasDeliverableSignal(Current);

    public bool HasDeliverableSignal(GuestThread t) => _exit is not null || t.Exiting || (PendingFor(t) & ~t.BlockedSignals) != 0;

    /// <summary>The signals pending for the calling thread (rt_sigpending reports those it blocks).</summary>
    public ulong PendingSignals => PendingFor(Current);

    /// <summary>A thread's signal masks as /proc/PID/status shows them: pending (its own, the process's), blocked, ignored and caught.</summary>
    public (ulong Pending, ulong SharedPending, ulong Blocked, ulong Ignored, ulong Caught) SignalMasks(GuestThread t)
    {
        ulong ignored = 0, caught = 0;
        lock (SignalLock)
            foreach (var (signal, action) in SignalActions)
            {
                if (action.Handler == SigIgn) ignored |= Bit(signal);
                else if (action.Handler != SigDfl) caught |= Bit(signal);
            }
        return (Volatile.Read(ref t.Pending), Volatile.Read(ref _sharedPending), t.BlockedSignals, ignored, caught);
    }

    /// <summary>Takes a pending signal out of <paramref name="set"/> (rt_sigtimedwait), the thread's own first; 0 when none is.</summary>
    public int DequeueSignal(ulong set, out SignalInfo info) => Dequeue(Current, set, out info);

    private int Dequeue(GuestThread t, ulong set, out SignalInfo info)
    {
        lock (SignalLock)
        {
            info = default;
            ulong own = t.Pending & set, ready = own | (_sharedPending & set);
            if (ready == 0) return 0;
            int signal = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            if ((own & Bit(signal)) != 0)
            {
                t.Pending &= ~Bit(signal);
                info = t.PendingInfo[signal];
            }
            else
            {
                _sharedPending &= ~Bit(signal);
                info = _sharedInfo[signal];
            }
            RefreshSignalFds();
            return signal;
        }
    }

    /// <summary>rt_sigsuspend: the mask while waiting; the old one comes back when the handler returns.</summary>
    public void SuspendWithMask(ulong mask)
    {
        var t = Current;
        t.MaskAfterSuspend = t.BlockedSignals;
        t.BlockedSignals = mask & ~Unblockable;
        using var asleep = t.Asleep();
        while (!HasDeliverableSignal(t)) t.SignalArrived.WaitOne(200);
    }

    /// <summary>Notes the system call just made, so that a handler with SA_RESTART can have it made again.</summary>
    /// <remarks>
    /// Linux restarts reads, writes, waits and opens, and a futex wait without a timeout (its
    /// -ERESTARTSYS); a futex wait with a timeout ends with EINTR (-ERESTART_RESTARTBLOCK).
    /// </remarks>
    private static void NoteSystemCall(GuestThread t, ulong ecallPc, in SyscallArgs args, long number, long result) =>
        t.InterruptedCall = (ecallPc, args.A0, result == -Errno.EINTR
            && (number is 63 or 64 or 65 or 66 or 95 or 260 or 56 || (number == 98 && args.A3 == 0 && (args.A1 & 127) is 0 or 9)));

    /// <summary>Delivers every deliverable pending signal of thread <paramref name="t"/>: runs the default action, or sets up the handler's frame.</summary>
    private void DeliverPendingSignals(GuestThread t)
    {
        while (_exit is null)
        {
            int signal = Dequeue(t, ~t.BlockedSignals, out var info);
            if (signal == 0) break;
            Deliver(t, signal, info, fault: false);
        }
        t.InterruptedCall = default;
        if (t.MaskAfterSuspend is { } mask && _exit is null)
        {
            t.BlockedSignals = mask;
            t.MaskAfterSuspend = null;
        }
    }

    /// <summary>
    /// A synchronous fault at <paramref name="pc"/>: the handler runs if there is one and the signal
    /// is not blocked; otherwise the process dies of it, with <paramref name="why"/> on the diagnostics writer.
    /// </summary>
    private void Fault(int signal, int code, ulong address, ulong pc, string why)
    {
        var t = Current;
        if (Options.SignalStop is { } stop)
        {
            t.Hart.Pc = pc;
            if (stop(t.Hart, signal) == 0) return; // the debugger discarded it: the instruction runs again
        }
        ulong handler;
        lock (SignalLock) handler = SignalActions.GetValueOrDefault(signal).Handler;
        if (handler <= SigIgn || (t.BlockedSignals & Bit(signal)) != 0)
        {
            Kill(signal, why);
            return;
        }
        t.Hart.Pc = pc;
        Deliver(t, signal, new SignalInfo(signal, code, Address: address), fault: true);
    }

    private void Deliver(GuestThread t, int signal, SignalInfo info, bool fault)
    {
        (ulong Handler, ulong Flags, ulong Mask) action;
        lock (SignalLock) action = SignalActions.GetValueOrDefault(signal);
        if (action.Handler == SigIgn) return;
        if (action.Handler == SigDfl)
        {
            if (!IgnoredByDefault(signal)) Terminate(signal);
            return;
        }
        var x = t.Hart.X;
        if (t.InterruptedCall.Restartable && (action.Flags & SaRestart) != 0)
        {
            t.Hart.Pc = t.InterruptedCall.Pc;
            x[10] = t.InterruptedCall.A0;
        }
        t.InterruptedCall = default;

        ulong sp = x[2];
        bool onAltStack = t.AltStack.Flags != SsDisable && sp - t.AltStack.Base <= t.AltStack.Size;
        if ((action.Flags & SaOnstack) != 0 && t.AltStack.Flags != SsDisable && !onAltStack) sp = t.AltStack.Base + t.AltStack.Size;
        ulong frame = (sp - SignalFrame.Size) & ~15ul;
        byte* at = Memory.Check(frame, SignalFrame.Size, PageFlags.Write) ? Memory.HostAddress(frame) : null;
        if (at == null)
        {
            Kill(Sigsegv, $"no room for the frame of signal {signal} at 0x{frame:x}");
            return;
        }
        new Span<byte>(at, (int)SignalFrame.Size).Clear();
        info.WriteTo(at, fault);
        *(ulong*)(at + SignalFrame.UcStack) = t.AltStack.Base;
        *(int*)(at + SignalFrame.UcStack + 8) = t.AltStack.Flags == SsDisable ? SsDisable : onAltStack ? SsOnstack : 0;
        *(ulong*)(at + SignalFrame.UcStack + 16) = t.AltStack.Size;
        *(ulong*)(at + SignalFrame.UcSigmask) = t.MaskAfterSuspend ?? t.BlockedSignals;
        t.MaskAfterSuspend = null;
        ulong* regs = (ulong*)(at + SignalFrame.Regs);
        regs[0] = t.Hart.Pc;
        for (int i = 1; i < 32; i++) regs[i] = x[i];
        ulong* fp = (ulong*)(at + SignalFrame.FpRegs);
        for (int i = 0; i < 32; i++) fp[i] = t.Hart.F[i];
        if (t.Hart.TryReadCsr(CsrNumber.Fcsr, out ulong fcsr)) *(uint*)(at + SignalFrame.Fcsr) = (uint)fcsr;
        Memory.NoteWritten(frame, SignalFrame.Size);

        t.BlockedSignals = (t.BlockedSignals | action.Mask | ((action.Flags & SaNodefer) != 0 ? 0 : Bit(signal))) & ~Unblockable;
        if ((action.Flags & SaResethand) != 0) // the handler goes back to SIG_DFL; flags and mask stay, as Linux keeps them
            lock (SignalLock) SignalActions[signal] = (SigDfl, action.Flags, action.Mask);
        x[1] = SigreturnTrampoline;
        x[2] = frame;
        x[10] = (ulong)signal;
        x[11] = frame;
        x[12] = frame + SignalFrame.UcontextOffset;
        t.Hart.Pc = action.Handler;
    }

    /// <summary>rt_sigreturn: the registers, FP state and mask saved in the frame at sp come back; the result is a0's saved value.</summary>
    public long SigReturn()
    {
        var t = Current;
        var x = t.Hart.X;
        ulong frame = x[2];
        byte* at = Memory.Check(frame, SignalFrame.Size, PageFlags.Read) ? Memory.HostAddress(frame) : null;
        if (at == null)
        {
            Kill(Sigsegv, $"rt_sigreturn with a bad frame at 0x{frame:x}");
            return 0;
        }
        t.BlockedSignals = *(ulong*)(at + SignalFrame.UcSigmask) & ~Unblockable;
        ulong* regs = (ulong*)(at + SignalFrame.Regs);
        for (int i = 1; i < 32; i++) x[i] = regs[i];
        ulong* fp = (ulong*)(at + SignalFrame.FpRegs);
        for (int i = 0; i < 32; i++) t.Hart.F[i] = fp[i];
        t.Hart.TryWriteCsr(CsrNumber.Fcsr, *(uint*)(at + SignalFrame.Fcsr));
        t.Hart.Pc = regs[0];
        return (long)x[10];
    }

    /// <summary>Maps the sigreturn trampoline into a new image: one read-execute page below the mmap area.</summary>
    private static ulong MapTrampoline(GuestAddressSpace memory, ulong top)
    {
        ulong page = memory.FindFree(GuestAddressSpace.PageSize, top);
        if (page == 0 || memory.Map(page, GuestAddressSpace.PageSize, PageFlags.Read | PageFlags.Write) != 0)
            throw new ProgramLoadException("no room for the signal trampoline");
        var code = new byte[SignalFrame.Trampoline.Length * 4];
        Buffer.BlockCopy(SignalFrame.Trampoline, 0, code, 0, code.Length);
        memory.Write(page, code);
        memory.Protect(page, GuestAddressSpace.PageSize, PageFlags.Read | PageFlags.Execute);
        return page;
    }
}
