using Isomorph.Riscv;
using Isomorph.Riscv.Execution;
using Isomorph.Riscv.Translation;

namespace Isomorph.Debugging;

/// <summary>How a thread resumes: stays stopped, continues, or executes one instruction.</summary>
public enum ResumeAction { Stay, Continue, Step }

public enum BreakpointKind { Software, Hardware }

public enum WatchKind { Write, Read, Access }

/// <summary>A watchpoint: <paramref name="Length"/> bytes at virtual address <paramref name="Address"/>.</summary>
public readonly record struct Watchpoint(ulong Address, ulong Length, WatchKind Kind)
{
    public bool Overlaps(ulong address, ulong length) => address < Address + Length && Address < address + length;
}

/// <summary>
/// The execution engine of a debugged VM: it wraps the engine the VM would use and is the only way
/// the debugger stops, resumes and steps harts (all-stop: when one hart stops, every hart of the
/// target parks at its next <see cref="Run"/>). The machines need nothing else: they call
/// <see cref="Run"/> as they call any engine.
/// <list type="bullet">
/// <item>With nothing installed (no breakpoint, watchpoint or step) a hart runs under the wrapped
/// engine — interpreter or translator — at full speed: the cost is a few field reads per call.</item>
/// <item>With breakpoints, under the translator, everything still runs translated: regions on a
/// page holding breakpoints are translated around them, and the translator returns as control
/// reaches one, before it executes (<see cref="TranslatingEngine.RunUntil"/>). Under the
/// interpreter, a page holding breakpoints runs a page at a time (<see cref="Hart.RunInPage"/>),
/// whose loop stops at their slots; control leaving the page returns here. A step is one instruction.</item>
/// <item>With watchpoints, watched pages stay out of the hart's TLBs and direct memory
/// (<see cref="Hart.Watch"/>), so only an access to them reaches the slow path — from the
/// interpreter, or from a translated region, which leaves before such an access for the
/// interpreter to run it — and the slow path reports it here; the hart halts before the accessing
/// instruction (gdb's RISC-V target takes watchpoints as firing before the access, and steps over
/// the instruction itself). Everything else runs under the engine as it would without them.</item>
/// </list>
/// </summary>
public sealed class ExecutionControl : IExecutionEngine
{
    private readonly IExecutionEngine _inner;
    private readonly object _lock = new();
    private IDebugTarget? _target;

    // Guarded by _lock.
    private bool _halted;
    private StopEvent? _event;
    private Dictionary<Hart, ResumeAction> _actions = [];
    private ResumeAction _defaultAction = ResumeAction.Continue;
    private int _running;
    private bool _released;
    private Dictionary<Hart, int> _resumeSignals = [];
    private int _lent;

    // Copied on change, read without the lock by running harts.
    private volatile Dictionary<ulong, BreakpointKind> _breakpoints = [];
    /// <summary>The virtual pages holding a breakpoint, each with a bitmap of its breakpoints' two-byte slots (replaced with <see cref="_breakpoints"/>).</summary>
    private volatile Dictionary<ulong, ulong[]> _breakpointPages = [];
    private volatile WatchSet? _watches;
    private volatile bool _stepping;

    [ThreadStatic] private static StopEvent? t_watchHit;

    /// <param name="inner">The engine harts run under when nothing is installed.</param>
    /// <param name="startHalted">True to stop every hart before its first instruction (qemu's -g, -S).</param>
    public ExecutionControl(IExecutionEngine inner, bool startHalted)
    {
        _inner = inner;
        if (startHalted)
        {
            _halted = true;
            _event = new StopEvent(StopKind.Signal, null, StopEvent.Sigtrap);
        }
    }

    public string Name => _inner.Name;

    public IExecutionEngine Inner => _inner;

    /// <summary>The program being debugged; harts it does not own run as if no debugger were there.</summary>
    public IDebugTarget? Target => _target;

    /// <summary>
    /// Debugs <paramref name="target"/> from now on (the machine that replaced an ended one, after a
    /// reset, or a running one gdb attaches to through the API): a session that ended with the last
    /// target is forgotten, so the new one runs until gdb stops it.
    /// </summary>
    public void Attach(IDebugTarget target)
    {
        lock (_lock)
        {
            _target = target;
            if (_event?.Kind is StopKind.Exited or StopKind.Terminated)
            {
                _event = null;
                _halted = false;
                _released = false;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="pause"/> (a machine's pause, which waits for every hart to reach the
    /// machine's own park) while harts the debugger holds stopped are let go: each returns
    /// <see cref="HartStop.Requested"/> to its machine at once, and parks here again when the
    /// machine next runs it. A snapshot or a migration can so be taken of a target gdb has stopped.
    /// </summary>
    public void LendParkedHarts(Action pause)
    {
        lock (_lock)
        {
            _lent++;
            Monitor.PulseAll(_lock);
        }
        try
        {
            pause();
        }
        finally
        {
            lock (_lock) _lent--;
        }
    }

    /// <summary>What the debugger makes the harts do beyond the engine's own work, for <c>monitor engine</c>.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder(_inner.Name);
        if (_breakpoints.Count > 0) text.Append($"; {_breakpointPages.Count} page(s) holding breakpoints run interpreted");
        if (_watches is { } watches) text.Append($"; accesses to {watches.PageCount} watched page(s) take the slow path");
        if (_stepping) text.Append("; stepping");
        if (_inner is TranslatingEngine jit) text.Append('\n').Append(jit.Describe());
        return text.Append('\n').ToString();
    }

    public HartStop Run(Hart hart, long maxInstructions)
    {
        if (_target is not { } target || _released || !target.Owns(hart)) return _inner.Run(hart, maxInstructions);
        lock (_lock)
        {
            _running++;
            if (Park(hart))
            {
                _running--;
                Monitor.PulseAll(_lock);
                return HartStop.Requested; // the machine looks at its own state again, then calls back
            }
            if ((_actions.TryGetValue(hart, out var own) ? own : _defaultAction) == ResumeAction.Stay)
            {
                // Told to stay while others step: give the host thread back (a machine may run other harts on it).
                _running--;
                Monitor.PulseAll(_lock);
                Thread.Yield();
                return HartStop.Yielded;
            }
        }
        try
        {
            var watches = _watches;
            if (hart.Watch != watches) hart.Watch = watches;
            bool step = ActionOf(hart) == ResumeAction.Step;
            if (!step && _breakpoints.Count == 0 && watches is null) return _inner.Run(hart, maxInstructions);
            return RunDebugged(hart, maxInstructions, step);
        }
        finally
        {
            lock (_lock)
            {
                _running--;
                Monitor.PulseAll(_lock);
            }
        }
    }

    private ResumeAction ActionOf(Hart hart)
    {
        lock (_lock) return _actions.TryGetValue(hart, out var a) ? a : _defaultAction;
    }

    /// <summary>Waits while the target is halted; true when it waited.</summary>
    private bool Park(Hart hart)
    {
        bool parked = false;
        while (!_released && _halted)
        {
            if (_lent > 0)
            {
                // The machine pauses (a snapshot of the stopped target): its own park holds the hart meanwhile.
                if (parked) _running++;
                return true;
            }
            if (!parked)
            {
                parked = true;
                _running--;
                Monitor.PulseAll(_lock);
            }
            Monitor.Wait(_lock);
        }
        if (parked) _running++;
        return parked;
    }

    private HartStop RunDebugged(Hart hart, long maxInstructions, bool step)
    {
        long end = hart.Steps + maxInstructions;
        while (true)
        {
            if (Volatile.Read(ref _halted)) return HartStop.Requested;
            var breakpoints = _breakpoints;
            if (!step && breakpoints.TryGetValue(hart.Pc, out var kind))
            {
                Report(new StopEvent(kind == BreakpointKind.Software ? StopKind.SoftwareBreakpoint : StopKind.HardwareBreakpoint, hart));
                return HartStop.Requested;
            }
            long before = hart.Steps;
            t_watchHit = null;
            long budget = Math.Max(1, end - before);
            // Breakpoints: a page at a time, stopping before a breakpoint's slot on it; the next page is checked here.
            var pages = _breakpointPages;
            var stop = step ? hart.Run(1)
                // The translator runs everything, the pages with breakpoints too, and returns on reaching one.
                : _inner is TranslatingEngine jit ? (pages.Count == 0 ? jit.Run(hart, budget) : jit.RunUntil(hart, budget, pages))
                : pages.TryGetValue(hart.Pc >> 12, out var slots) ? hart.RunInPage(budget, slots)
                : pages.Count == 0 ? hart.Run(budget)
                : hart.RunInPage(budget);
            if (t_watchHit is { } hit)
            {
                t_watchHit = null;
                Report(hit);
                return HartStop.Requested;
            }
            if (step && hart.Steps != before)
            {
                Report(new StopEvent(StopKind.Step, hart));
                return HartStop.Requested;
            }
            if (stop != HartStop.Budget) return stop;
            if (hart.Steps >= end) return HartStop.Budget;
        }
    }

    /// <summary>Stops every hart of the target for <paramref name="stop"/>, unless a stop is being reported already.</summary>
    public void Report(StopEvent stop)
    {
        lock (_lock)
        {
            if (_halted || _released) return;
            _halted = true;
            _event = stop;
            _stepping = false;
            foreach (var t in _target?.Threads ?? []) t.Hart.RequestStop();
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// A guest signal about to act on <paramref name="hart"/> (the process VM's faults): stops the
    /// target and reports it, as qemu-user does, and waits for gdb. Returns the signal gdb resumed
    /// this thread with (C/S/vCont;C): 0 when gdb discards it.
    /// </summary>
    public int StopForSignal(Hart hart, int signal)
    {
        if (_target is not { } target || _released || !target.Owns(hart)) return signal;
        while (true)
        {
            bool reported;
            lock (_lock) reported = !_halted && !_released;
            if (reported) Report(new StopEvent(StopKind.Signal, hart, signal));
            lock (_lock)
            {
                bool ours = _event?.Hart == hart && _event.Code == signal && _event.Kind == StopKind.Signal;
                // Called from inside Run (a trap): this hart counts as parked while it waits.
                _running--;
                Monitor.PulseAll(_lock);
                while (!_released && _halted) Monitor.Wait(_lock);
                _running++;
                if (_released) return signal;
                if (ours) return _resumeSignals.GetValueOrDefault(hart);
            }
        }
    }

    /// <summary>Ctrl-C: stops the running target with SIGINT.</summary>
    public void Interrupt() => Report(new StopEvent(StopKind.Signal, null, StopEvent.Sigint));

    /// <summary>The program ended (or was killed): reported to gdb as W or X; harts no longer park.</summary>
    public void Ended(int status, int signal)
    {
        lock (_lock)
        {
            _event = signal != 0 ? new StopEvent(StopKind.Terminated, null, signal) : new StopEvent(StopKind.Exited, null, status & 0xFF);
            _halted = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Waits until the target has stopped (or ended) and every hart that was running guest code
    /// has parked (at most <paramref name="settle"/> for the stragglers); the stop, or null when
    /// <paramref name="cancel"/> ended the wait first.
    /// </summary>
    public StopEvent? WaitForStop(TimeSpan settle, Func<bool>? cancel = null)
    {
        lock (_lock)
        {
            while (_event is null)
            {
                if (cancel?.Invoke() == true) return null;
                Monitor.Wait(_lock, 50);
            }
            var deadline = DateTime.UtcNow + settle;
            while (_running > 0 && _event.Kind is not (StopKind.Exited or StopKind.Terminated))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) break;
                Monitor.Wait(_lock, left);
            }
            return _event;
        }
    }

    /// <summary>The stop being reported, or null while the target runs.</summary>
    public StopEvent? CurrentStop
    {
        get { lock (_lock) return _event; }
    }

    /// <summary>Resumes the target: each hart as <paramref name="actions"/> says, the others as <paramref name="otherwise"/>.</summary>
    public void Resume(IReadOnlyDictionary<Hart, ResumeAction> actions, ResumeAction otherwise, IReadOnlyDictionary<Hart, int>? signals = null)
    {
        lock (_lock)
        {
            _resumeSignals = signals is null ? [] : new Dictionary<Hart, int>(signals);
            if (_event?.Kind is StopKind.Exited or StopKind.Terminated) return;
            _actions = new Dictionary<Hart, ResumeAction>(actions);
            _defaultAction = otherwise;
            _stepping = otherwise == ResumeAction.Step || actions.Values.Contains(ResumeAction.Step);
            _event = null;
            _halted = false;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>A debugger connected: harts stop again when told to (after an earlier <see cref="Release"/>).</summary>
    public void BeginSession()
    {
        lock (_lock) _released = false;
    }

    /// <summary>Forgets every breakpoint and watchpoint and lets the target run on without the debugger (detach, kill, a lost connection).</summary>
    public void Release()
    {
        lock (_lock)
        {
            SetBreakpoints([]);
            _watches = null;
            _stepping = false;
            _released = true;
            _halted = false;
            Monitor.PulseAll(_lock);
        }
        foreach (var t in _target?.Threads ?? []) t.Hart.Watch = null;
    }

    public bool InsertBreakpoint(ulong address, BreakpointKind kind)
    {
        lock (_lock) SetBreakpoints(new Dictionary<ulong, BreakpointKind>(_breakpoints) { [address] = kind });
        return true;
    }

    public bool RemoveBreakpoint(ulong address)
    {
        lock (_lock)
        {
            var copy = new Dictionary<ulong, BreakpointKind>(_breakpoints);
            copy.Remove(address);
            SetBreakpoints(copy);
        }
        return true;
    }

    private void SetBreakpoints(Dictionary<ulong, BreakpointKind> breakpoints)
    {
        // The pages first: a hart that sees the new breakpoints sees their pages too. A 4-byte
        // instruction may start on the page before its last parcel; its breakpoint is its start.
        _breakpointPages = StopSlots.ByPage(breakpoints.Keys, _slotsSeen);
        _breakpoints = breakpoints;
    }

    /// <summary>Each page's last bitmap of breakpoints: gdb takes its breakpoints out at every stop and puts the same back, which must find the same bitmaps (regions are translated for them).</summary>
    private readonly Dictionary<ulong, ulong[]> _slotsSeen = [];

    public bool InsertWatchpoint(Watchpoint watchpoint)
    {
        if (watchpoint.Length == 0 || watchpoint.Address + watchpoint.Length < watchpoint.Address) return false;
        lock (_lock) _watches = new WatchSet(this, [.. _watches?.Points ?? [], watchpoint]);
        return true;
    }

    public bool RemoveWatchpoint(Watchpoint watchpoint)
    {
        lock (_lock)
        {
            var rest = (_watches?.Points ?? []).ToList();
            rest.Remove(watchpoint);
            _watches = rest.Count == 0 ? null : new WatchSet(this, [.. rest]);
        }
        return true;
    }

    /// <summary>The watchpoints as a hart's slow paths see them: the pages they touch, and the check on each access.</summary>
    private sealed class WatchSet : IAccessWatch
    {
        private readonly HashSet<ulong> _pages = [];

        public WatchSet(ExecutionControl owner, Watchpoint[] points)
        {
            Points = points;
            foreach (var p in points)
                for (ulong page = p.Address >> 12; page <= (p.Address + p.Length - 1) >> 12; page++) _pages.Add(page);
        }

        public Watchpoint[] Points { get; }

        public int PageCount => _pages.Count;

        public bool WatchesPage(ulong va) => _pages.Contains(va >> 12);

        public IEnumerable<ulong> Pages => _pages;

        public bool Accessed(Hart hart, ulong va, int size, AccessType access)
        {
            foreach (var p in Points)
            {
                if (!p.Overlaps(va, (ulong)size)) continue;
                var kind = (p.Kind, access) switch
                {
                    (WatchKind.Write, AccessType.Write) => StopKind.WriteWatchpoint,
                    (WatchKind.Read, AccessType.Read) => StopKind.ReadWatchpoint,
                    (WatchKind.Access, _) => StopKind.AccessWatchpoint,
                    _ => (StopKind?)null,
                };
                if (kind is null) continue;
                t_watchHit ??= new StopEvent(kind.Value, hart, StopEvent.Sigtrap, Math.Max(va, p.Address));
                hart.RequestStop();
                return true; // gdb expects RISC-V watchpoints to fire before the access, and steps over it
            }
            return false;
        }
    }
}
