using Isomorph.Linux.Host;
using Isomorph.Linux.Loading;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Signals;
using Isomorph.Riscv.Isa;

namespace Isomorph.Linux;

/// <summary>
/// Signals: dispositions, the blocked and pending sets, the alternate stack, and delivery — a
/// riscv64 rt_sigframe pushed on the guest's stack, the handler entered with ra at the sigreturn
/// trampoline. Signals are delivered on the process's own thread: after a system call, when the
/// hart stops (another process asked it to), and at once for faults.
/// </summary>
public sealed unsafe partial class LinuxProcess
{
    public const ulong SigDfl = 0, SigIgn = 1;
    public const ulong SaSiginfo = 4, SaOnstack = 0x0800_0000, SaRestart = 0x1000_0000, SaNodefer = 0x4000_0000, SaResethand = 0x8000_0000;
    public const int SsOnstack = 1, SsDisable = 2;
    /// <summary>SIGKILL and SIGSTOP can be neither blocked nor caught.</summary>
    public const ulong Unblockable = (1ul << (Sigkill - 1)) | (1ul << (19 - 1));

    private ulong _pending;
    private readonly SignalInfo[] _pendingInfo = new SignalInfo[65];
    private ulong? _maskAfterSuspend;
    /// <summary>The system call being returned from, for SA_RESTART: where its ecall is and its first argument.</summary>
    private (ulong Pc, ulong A0, bool Restartable) _interruptedCall;

    /// <summary>Guards dispositions and the pending set, which other processes' threads touch when they send signals.</summary>
    public object SignalLock { get; } = new();

    /// <summary>Set whenever a signal becomes pending: sleeps and waits end early on it.</summary>
    public AutoResetEvent SignalArrived { get; } = new(false);

    /// <summary>
    /// A host eventfd that becomes readable whenever a signal becomes pending, so that a system call
    /// blocked in the host's ppoll (reads and writes of pipes, terminals, sockets) wakes up at once.
    /// </summary>
    public int WakeupFd { get; private set; } = Libc.eventfd(0, Libc.OCloexec | 0x800 /* EFD_NONBLOCK */);

    /// <summary>Wakes whatever this process is blocked in.</summary>
    private void WakeUp()
    {
        SignalArrived.Set();
        ulong one = 1;
        lock (SignalLock)
            if (WakeupFd >= 0) Libc.write(WakeupFd, (byte*)&one, 8);
        Table.Wake();
    }

    /// <summary>Closes the wakeup eventfd as the process ends (under the lock, so that no sender writes to a reused descriptor).</summary>
    private void CloseWakeup()
    {
        lock (SignalLock)
        {
            if (WakeupFd >= 0) Libc.close(WakeupFd);
            WakeupFd = -1;
        }
    }

    /// <summary>Empties the wakeup eventfd before looking at the pending signals again.</summary>
    public void DrainWakeup()
    {
        ulong count;
        Libc.read(WakeupFd, (byte*)&count, 8);
    }

    /// <summary>The alternate signal stack (sigaltstack): base, flags (SS_DISABLE when none), size.</summary>
    public (ulong Base, int Flags, ulong Size) AltStack { get; set; } = (0, SsDisable, 0);

    /// <summary>Where the sigreturn trampoline is mapped in the current image.</summary>
    public ulong SigreturnTrampoline { get; private set; }

    private static ulong Bit(int signal) => 1ul << (signal - 1);

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

    /// <summary>Sends <paramref name="signal"/> to this process from any thread; it is delivered on the process's own.</summary>
    public void SendSignal(int signal, SignalInfo? info = null)
    {
        if (signal is < 1 or > 64) return;
        if (signal == Sigkill)
        {
            Terminate(Sigkill);
            WakeUp();
            return;
        }
        lock (SignalLock)
        {
            var handler = SignalActions.GetValueOrDefault(signal).Handler;
            bool blocked = (BlockedSignals & Bit(signal)) != 0;
            if (!blocked && (handler == SigIgn || (handler == SigDfl && IgnoredByDefault(signal)))) return;
            _pending |= Bit(signal);
            _pendingInfo[signal] = info ?? new SignalInfo(signal, SignalInfo.SiUser);
        }
        WakeUp();
        Hart.RequestStop();
    }

    /// <summary>True when a pending signal is not blocked, so a blocking system call should end with EINTR.</summary>
    public bool HasDeliverableSignal() => _exit is not null || (Volatile.Read(ref _pending) & ~BlockedSignals) != 0;

    /// <summary>The signals pending and blocked (rt_sigpending).</summary>
    public ulong PendingSignals => Volatile.Read(ref _pending);

    /// <summary>Takes a pending signal out of <paramref name="set"/> (rt_sigtimedwait); 0 when none is.</summary>
    public int DequeueSignal(ulong set, out SignalInfo info)
    {
        lock (SignalLock)
        {
            ulong ready = _pending & set;
            info = default;
            if (ready == 0) return 0;
            int signal = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            _pending &= ~Bit(signal);
            info = _pendingInfo[signal];
            return signal;
        }
    }

    /// <summary>rt_sigsuspend: the mask while waiting; the old one comes back when the handler returns.</summary>
    public void SuspendWithMask(ulong mask)
    {
        _maskAfterSuspend = BlockedSignals;
        BlockedSignals = mask & ~Unblockable;
        while (!HasDeliverableSignal()) SignalArrived.WaitOne(200);
    }

    /// <summary>Notes the system call just made, so that a handler with SA_RESTART can have it made again.</summary>
    private void NoteSystemCall(ulong ecallPc, ulong a0, long number, long result) =>
        _interruptedCall = (ecallPc, a0, result == -Errno.EINTR && number is 63 or 64 or 65 or 66 or 95 or 260 or 56);

    /// <summary>Delivers every deliverable pending signal: runs the default action, or sets up the handler's frame.</summary>
    private void DeliverPendingSignals()
    {
        while (_exit is null)
        {
            int signal;
            SignalInfo info;
            lock (SignalLock)
            {
                ulong ready = _pending & ~BlockedSignals;
                if (ready == 0) break;
                signal = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
                _pending &= ~Bit(signal);
                info = _pendingInfo[signal];
            }
            Deliver(signal, info, fault: false);
        }
        _interruptedCall = default;
        if (_maskAfterSuspend is { } mask && _exit is null)
        {
            BlockedSignals = mask;
            _maskAfterSuspend = null;
        }
    }

    /// <summary>
    /// A synchronous fault at <paramref name="pc"/>: the handler runs if there is one and the signal
    /// is not blocked; otherwise the process dies of it, with <paramref name="why"/> on the diagnostics writer.
    /// </summary>
    private void Fault(int signal, int code, ulong address, ulong pc, string why)
    {
        var handler = SignalActions.GetValueOrDefault(signal).Handler;
        if (handler <= SigIgn || (BlockedSignals & Bit(signal)) != 0)
        {
            Kill(signal, why);
            return;
        }
        Hart.Pc = pc;
        Deliver(signal, new SignalInfo(signal, code, Address: address), fault: true);
    }

    private void Deliver(int signal, SignalInfo info, bool fault)
    {
        (ulong Handler, ulong Flags, ulong Mask) action;
        lock (SignalLock) action = SignalActions.GetValueOrDefault(signal);
        if (action.Handler == SigIgn) return;
        if (action.Handler == SigDfl)
        {
            if (!IgnoredByDefault(signal)) Terminate(signal);
            return;
        }
        var x = Hart.X;
        if (_interruptedCall.Restartable && (action.Flags & SaRestart) != 0)
        {
            Hart.Pc = _interruptedCall.Pc;
            x[10] = _interruptedCall.A0;
        }
        _interruptedCall = default;

        ulong sp = x[2];
        bool onAltStack = AltStack.Flags != SsDisable && sp - AltStack.Base <= AltStack.Size;
        if ((action.Flags & SaOnstack) != 0 && AltStack.Flags != SsDisable && !onAltStack) sp = AltStack.Base + AltStack.Size;
        ulong frame = (sp - SignalFrame.Size) & ~15ul;
        byte* at = Memory.Check(frame, SignalFrame.Size, PageFlags.Write) ? Memory.HostAddress(frame) : null;
        if (at == null)
        {
            Kill(Sigsegv, $"no room for the frame of signal {signal} at 0x{frame:x}");
            return;
        }
        new Span<byte>(at, (int)SignalFrame.Size).Clear();
        info.WriteTo(at, fault);
        *(ulong*)(at + SignalFrame.UcStack) = AltStack.Base;
        *(int*)(at + SignalFrame.UcStack + 8) = AltStack.Flags == SsDisable ? SsDisable : onAltStack ? SsOnstack : 0;
        *(ulong*)(at + SignalFrame.UcStack + 16) = AltStack.Size;
        *(ulong*)(at + SignalFrame.UcSigmask) = _maskAfterSuspend ?? BlockedSignals;
        _maskAfterSuspend = null;
        ulong* regs = (ulong*)(at + SignalFrame.Regs);
        regs[0] = Hart.Pc;
        for (int i = 1; i < 32; i++) regs[i] = x[i];
        ulong* fp = (ulong*)(at + SignalFrame.FpRegs);
        for (int i = 0; i < 32; i++) fp[i] = Hart.F[i];
        if (Hart.TryReadCsr(CsrNumber.Fcsr, out ulong fcsr)) *(uint*)(at + SignalFrame.Fcsr) = (uint)fcsr;
        Memory.NoteWritten(frame, SignalFrame.Size);

        BlockedSignals = (BlockedSignals | action.Mask | ((action.Flags & SaNodefer) != 0 ? 0 : Bit(signal))) & ~Unblockable;
        if ((action.Flags & SaResethand) != 0)
            lock (SignalLock) SignalActions.Remove(signal);
        x[1] = SigreturnTrampoline;
        x[2] = frame;
        x[10] = (ulong)signal;
        x[11] = frame;
        x[12] = frame + SignalFrame.UcontextOffset;
        Hart.Pc = action.Handler;
    }

    /// <summary>rt_sigreturn: the registers, FP state and mask saved in the frame at sp come back; the result is a0's saved value.</summary>
    public long SigReturn()
    {
        var x = Hart.X;
        ulong frame = x[2];
        byte* at = Memory.Check(frame, SignalFrame.Size, PageFlags.Read) ? Memory.HostAddress(frame) : null;
        if (at == null)
        {
            Kill(Sigsegv, $"rt_sigreturn with a bad frame at 0x{frame:x}");
            return 0;
        }
        BlockedSignals = *(ulong*)(at + SignalFrame.UcSigmask) & ~Unblockable;
        ulong* regs = (ulong*)(at + SignalFrame.Regs);
        for (int i = 1; i < 32; i++) x[i] = regs[i];
        ulong* fp = (ulong*)(at + SignalFrame.FpRegs);
        for (int i = 0; i < 32; i++) Hart.F[i] = fp[i];
        Hart.TryWriteCsr(CsrNumber.Fcsr, *(uint*)(at + SignalFrame.Fcsr));
        Hart.Pc = regs[0];
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
