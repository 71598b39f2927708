using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv;

/// <summary>Why <see cref="Hart.Run"/> returned.</summary>
public enum HartStop
{
    /// <summary>The instruction budget given to <see cref="Hart.Run"/> is spent.</summary>
    Budget,
    /// <summary>Someone called <see cref="Hart.RequestStop"/> (a device, the machine, another thread).</summary>
    Requested,
    /// <summary>The hart executed WFI and no enabled interrupt is pending.</summary>
    WaitingForInterrupt,
    /// <summary>The hart executed PAUSE (it spins, waiting for another hart) and <see cref="Hart.YieldOnPause"/> is set.</summary>
    Yielded,
}

public sealed unsafe partial class Hart
{
    /// <summary>How many instructions run between checks for interrupts.</summary>
    public const long InterruptCheckInterval = 1 << 14;

    private struct FetchEntry
    {
        public ulong Tag;
        public DecodedPage? Page;
        /// <summary>The leaf level of the translation (see <see cref="_leafLevel"/>).</summary>
        public byte Level;
    }

    private const int FetchTlbSize = 256;
    private readonly FetchEntry[] _fetchTlb = new FetchEntry[FetchTlbSize];

    /// <summary>Instructions retired.</summary>
    public long Instret;

    /// <summary>Synchronous exceptions taken (their instructions did not retire).</summary>
    public long ExceptionsTaken;

    /// <summary>What <see cref="Run"/>'s budget counts: instructions retired plus exceptions taken, so trap loops end too.</summary>
    public long Steps => Instret + ExceptionsTaken;

    /// <summary>The Instret at which the run loop next checks for stops and interrupts (0: at once).</summary>
    internal long _stopAt;
    private volatile bool _stopRequested;
    private bool _yielded;

    /// <summary>
    /// When set, PAUSE (Zihintpause, the spin-wait hint) and WFI end <see cref="Run"/> with
    /// <see cref="HartStop.Yielded"/> (or <see cref="HartStop.WaitingForInterrupt"/>): a machine
    /// that multiplexes several harts on one host thread sets it so that a hart spinning on a lock,
    /// or looping on a WFI that does not wait, hands the thread to the others.
    /// </summary>
    public bool YieldOnPause { get; set; }

    /// <summary>Ends the current <see cref="Run"/> after this instruction with <see cref="HartStop.Yielded"/>.</summary>
    internal void Yield() => _yielded = true;

    /// <summary>True after WFI until an interrupt becomes pending.</summary>
    public bool WaitingForInterrupt { get; internal set; }

    /// <summary>The page being executed, and the virtual address it is mapped at.</summary>
    internal DecodedPage? CurrentPage;
    internal ulong CurrentPageBase;

    /// <summary>The address of the instruction in slot <paramref name="idx"/> of the current page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong PcOf(int idx) => CurrentPageBase + (ulong)(uint)idx * 2;

    /// <summary>Continues at <paramref name="target"/>: in-page targets stay in the run loop's fast path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int JumpTo(ulong target)
    {
        ulong offset = target - CurrentPageBase;
        if (offset < 4096) return (int)(offset >> 1);
        Pc = target;
        return Exit;
    }

    /// <summary>Continues after the current instruction, leaving the run loop (after state that interrupts depend on changed).</summary>
    public int ExitAfter(ref Insn insn, int idx)
    {
        Pc = PcOf(idx + insn.Slots);
        _stopAt = 0;
        return Exit;
    }

    /// <summary>
    /// Asks the run loop to return at the next instruction boundary (thread-safe); asked while the
    /// hart is not running, the next <see cref="Run"/> returns at once.
    /// </summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _stopAt = 0;
    }

    /// <summary>Ends the current chunk early so the run loop re-checks interrupts.</summary>
    public void RequestInterruptCheck() => _stopAt = 0;

    private const int FlushWrites = 1, FlushAll = 2;
    private int _pendingFlush;

    /// <summary>Asks the hart to forget its write TLB at its next instruction boundary (thread-safe).</summary>
    public void RequestWriteTlbFlush()
    {
        Interlocked.Or(ref _pendingFlush, FlushWrites);
        _stopAt = 0;
    }

    /// <summary>Asks the hart to forget all its TLBs at its next instruction boundary (thread-safe), as a remote sfence.vma does.</summary>
    public void RequestTlbFlush()
    {
        Interlocked.Or(ref _pendingFlush, FlushAll);
        _stopAt = 0;
    }

    /// <summary>True while a requested TLB flush has not been served yet (thread-safe).</summary>
    public bool TlbFlushPending => Volatile.Read(ref _pendingFlush) != 0;

    private void ServeFlushRequests()
    {
        int requested = Interlocked.Exchange(ref _pendingFlush, 0);
        if ((requested & FlushAll) != 0) FlushTlb();
        else if ((requested & FlushWrites) != 0) FlushWriteTlb();
    }

    /// <summary>
    /// Runs until <paramref name="maxInstructions"/> more instructions have retired or trapped, a
    /// stop is requested, or the hart waits for an interrupt.
    /// </summary>
    public HartStop Run(long maxInstructions)
    {
        long end = Steps + maxInstructions;
        _stopAt = 0; // a stop requested while the hart was not running is kept for this call, not forgotten
        while (true)
        {
            // The checks run when the chunk is spent or something cut it short (_stopAt = 0: a stop,
            // flush or interrupt-check request, an exception, a CSR write, xRET, WFI, PAUSE). A jump
            // off the page in the middle of a chunk only needs the next page.
            if (Instret >= _stopAt && EndOfChunk(end, out var stop)) return stop;

            ulong pc = Pc;
            var page = FetchPage(pc);
            if (page is null) continue; // the fetch trapped; Pc is at the handler
            CurrentPage = page;
            ulong pageBase = pc & ~0xFFFul;
            CurrentPageBase = pageBase;
            ref Insn slots = ref MemoryMarshal.GetArrayDataReference(page.Slots);
            int idx = (int)(pc & 0xFFF) >> 1;
            do
            {
                ref Insn insn = ref Unsafe.Add(ref slots, idx);
                idx = insn.Exec(this, ref insn, idx);
            }
            while (++Instret < _stopAt && (uint)idx < (uint)DecodedPage.SlotCount);
            if (idx >= 0) Pc = pageBase + (ulong)idx * 2;
        }
    }

    /// <summary>
    /// The checks between chunks of a run: stop and yield requests, TLB flush requests, interrupts,
    /// WFI and the budget. True (with the reason) when the run ends; otherwise the next chunk is set.
    /// </summary>
    internal bool EndOfChunk(long end, out HartStop stop)
    {
        stop = default;
        if (_stopRequested)
        {
            _stopRequested = false;
            stop = HartStop.Requested;
            return true;
        }
        if (_yielded)
        {
            _yielded = false;
            stop = HartStop.Yielded;
            return true;
        }
        if (Volatile.Read(ref _pendingFlush) != 0) ServeFlushRequests();
        if (CheckInterrupts()) WaitingForInterrupt = false;
        if (WaitingForInterrupt)
        {
            stop = HartStop.WaitingForInterrupt;
            return true;
        }
        long left = end - Steps;
        if (left <= 0)
        {
            stop = HartStop.Budget;
            return true;
        }
        _stopAt = Instret + Math.Min(left, InterruptCheckInterval);
        return false;
    }

    /// <summary>The decoded page holding <paramref name="pc"/>, through the fetch TLB; null when the fetch trapped (Pc is at the handler).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal DecodedPage? FetchPage(ulong pc)
    {
        ulong vpn = pc >> 12;
        ref FetchEntry fe = ref _fetchTlb[vpn & (FetchTlbSize - 1)];
        if (fe.Tag == (vpn | _tlbContext)) return fe.Page;
        var page = FetchPageSlow(pc);
        if (page is null) return null;
        fe.Tag = vpn | _tlbContext;
        fe.Page = page;
        fe.Level = _leafLevel; // FetchPageSlow's translation
        return page;
    }

    /// <summary>The translator's jump cache: regions by the virtual pc and context they were entered at; cleared with the fetch TLB.</summary>
    internal readonly Translation.JumpCache Jumps = new();

    /// <summary>Remembers that <paramref name="region"/> runs at <paramref name="pc"/> in the current context (see <see cref="Translation.JumpCache"/>).</summary>
    internal void RememberRegion(ulong pc, Translation.Region region)
    {
        // By the leaf it is fetched through (the dispatcher has just fetched its page), so that a
        // flush of that leaf forgets it.
        ulong vpn = pc >> 12;
        ref FetchEntry fe = ref _fetchTlb[vpn & (FetchTlbSize - 1)];
        if (fe.Tag == (vpn | _tlbContext)) Jumps.Remember(pc, _tlbContext, region, fe.Level);
    }

    /// <summary>Empties the jump cache (it costs nothing: <see cref="Translation.JumpCache.Clear"/>).</summary>
    internal void ForgetRegions() => Jumps.Clear();

    /// <summary>Region exits that found the region to run next in the jump cache, and those whose next pc it did not hold (for --stats).</summary>
    internal long JumpCacheHits, JumpCacheMisses;

    /// <summary>Region exits by kind, counted by regions translated with <see cref="Translation.TranslatingEngine.CountExits"/> (for --stats).</summary>
    internal Translation.RegionExitCounts ExitCounts;

    /// <summary>This hart's figures of its runs under a translating engine, not yet in the engine's totals.</summary>
    internal Translation.RunTally Tally;

    /// <summary>
    /// Adds the figures of this hart's last runs, which a translating engine keeps on the hart for a
    /// while (short runs, as guest function calls make), to the engine's totals: at the end of a
    /// machine's run, before statistics are read. Only the hart's own thread, or one that owns it now.
    /// </summary>
    public void SettleStatistics() => Translation.TranslatingEngine.FlushTally(this);

    /// <summary>
    /// The 16-bit parcel at <paramref name="va"/> when the fetch TLB already holds its page
    /// (executable, in the current context), else -1. Never walks page tables or traps: translated
    /// code checks with it that the second half of an instruction straddling into the next page
    /// is still what it was translated from.
    /// </summary>
    internal int PeekParcel(ulong va)
    {
        ulong vpn = va >> 12;
        ref FetchEntry fe = ref _fetchTlb[vpn & (FetchTlbSize - 1)];
        if (fe.Tag != (vpn | _tlbContext) || fe.Page is not { } page) return -1;
        return Unsafe.ReadUnaligned<ushort>(page.Host + (va & 0xFFF));
    }

    /// <summary>
    /// The code page the fetch TLB maps <paramref name="va"/> to (executable, in the current
    /// context), or null when it holds no such entry. Never walks page tables or traps: the
    /// translator's way to follow code into another page without touching the guest's state.
    /// </summary>
    internal DecodedPage? PeekFetchPage(ulong va)
    {
        ulong vpn = va >> 12;
        ref FetchEntry fe = ref _fetchTlb[vpn & (FetchTlbSize - 1)];
        return fe.Tag == (vpn | _tlbContext) ? fe.Page : null;
    }

    /// <summary>Set by translated code that left before an instruction for the interpreter to run (an access the TLB does not serve, FP the host cannot do exactly).</summary>
    internal bool InterpretNext;

    /// <summary>Interprets the one instruction at <paramref name="pc"/> on <paramref name="page"/>, as the run loop would.</summary>
    internal void InterpretOne(DecodedPage page, ulong pc)
    {
        CurrentPage = page;
        ulong pageBase = pc & ~0xFFFul;
        CurrentPageBase = pageBase;
        int idx = (int)(pc & 0xFFF) >> 1;
        ref Insn insn = ref page.Slots[idx];
        idx = insn.Exec(this, ref insn, idx);
        Instret++;
        if (idx >= 0) Pc = pageBase + (ulong)idx * 2;
    }

    /// <summary>
    /// Interprets from <paramref name="pc"/> on <paramref name="page"/> (the translator's tier 0)
    /// until the chunk or the page ends, an instruction leaves the page or traps, or a branch back
    /// (a loop) reaches a block start that has a region in <paramref name="table"/> or has run
    /// <paramref name="threshold"/> times; the loop starts reached on the way are counted. Only
    /// backward targets are looked at, so straight-line code and forward branches cost what they
    /// cost in <see cref="Run"/>: hot code is found at its loops and, by the engine, at page entries.
    /// With <paramref name="stops"/> (a bitmap of the page's slots), it also ends before a slot set there.
    /// </summary>
    internal void InterpretBlock(DecodedPage page, ulong pc, Translation.PageTranslations table, int threshold, ulong[]? stops = null)
    {
        if (stops is null) InterpretBlock(page, pc, table, threshold, default(NoSlots));
        else InterpretBlock(page, pc, table, threshold, new SlotStops(stops));
    }

    /// <summary>Where an interpreted block must end before an instruction: nowhere, or at the set slots of a bitmap (a struct type argument, so the plain case tests nothing).</summary>
    private interface IStopSlots
    {
        bool At(int idx);
    }

    private readonly struct NoSlots : IStopSlots
    {
        public bool At(int idx) => false;
    }

    private readonly struct SlotStops(ulong[] bits) : IStopSlots
    {
        public bool At(int idx) => (bits[idx >> 6] & (1ul << idx)) != 0;
    }

    private void InterpretBlock<TStops>(DecodedPage page, ulong pc, Translation.PageTranslations table, int threshold, TStops stops) where TStops : struct, IStopSlots
    {
        CurrentPage = page;
        ulong pageBase = pc & ~0xFFFul;
        CurrentPageBase = pageBase;
        ref Insn slots = ref MemoryMarshal.GetArrayDataReference(page.Slots);
        ref Translation.Region? regions = ref MemoryMarshal.GetArrayDataReference(table.Regions);
        ref ushort counts = ref MemoryMarshal.GetArrayDataReference(table.Counts);
        int idx = (int)(pc & 0xFFF) >> 1;
        while (true)
        {
            ref Insn insn = ref Unsafe.Add(ref slots, idx);
            int next = insn.Exec(this, ref insn, idx);
            if (++Instret >= _stopAt || (uint)next >= (uint)DecodedPage.SlotCount || stops.At(next))
            {
                idx = next;
                break;
            }
            if (next <= idx)
            {
                ref ushort count = ref Unsafe.Add(ref counts, next);
                if (Unsafe.Add(ref regions, next) is not null || count >= threshold)
                {
                    idx = next;
                    break;
                }
                count++;
            }
            idx = next;
        }
        if (idx >= 0) Pc = pageBase + (ulong)idx * 2;
    }

    /// <summary>
    /// Interprets from <see cref="Pc"/> without leaving its page, for a debugger: returns when an
    /// instruction leaves the page (a jump, a trap, the page's end), the chunk or
    /// <paramref name="maxInstructions"/> ends, a stop is requested, or control reaches a slot set in
    /// <paramref name="stopSlots"/> (a bitmap of the page's 2048 two-byte slots: its breakpoints),
    /// which is then not executed. The caller checks the next page before running it.
    /// </summary>
    public HartStop RunInPage(long maxInstructions, ulong[]? stopSlots = null)
    {
        long end = Steps + maxInstructions;
        _stopAt = 0;
        if (EndOfChunk(end, out var stop)) return stop;
        ulong pc = Pc;
        var page = FetchPage(pc);
        if (page is null) return HartStop.Budget; // the fetch trapped; Pc is at the handler
        CurrentPage = page;
        ulong pageBase = pc & ~0xFFFul;
        CurrentPageBase = pageBase;
        ref Insn slots = ref MemoryMarshal.GetArrayDataReference(page.Slots);
        int idx = (int)(pc & 0xFFF) >> 1;
        do
        {
            ref Insn insn = ref Unsafe.Add(ref slots, idx);
            idx = insn.Exec(this, ref insn, idx);
        }
        while (++Instret < _stopAt && (uint)idx < (uint)DecodedPage.SlotCount && (stopSlots is null || (stopSlots[idx >> 6] & (1ul << idx)) == 0));
        if (idx >= 0) Pc = pageBase + (ulong)idx * 2;
        if (_stopRequested)
        {
            _stopRequested = false;
            return HartStop.Requested;
        }
        return HartStop.Budget;
    }

    /// <summary>Runs exactly one instruction (for tracing and tests); false when it trapped.</summary>
    public HartStop Step() => Run(1);

    /// <summary>Translates the page of <paramref name="pc"/> for execution; null when a trap was taken.</summary>
    private DecodedPage? FetchPageSlow(ulong pc)
    {
        if (!Translate(pc, AccessType.Execute, out ulong pa, out _))
        {
            ExceptionsTaken++;
            _stopAt = 0;
            TakePendingTrap(pc);
            return null;
        }
        var page = Code.GetPage(pa, this);
        if (page is null)
        {
            ExceptionsTaken++;
            _stopAt = 0;
            TakeTrap((ulong)ExceptionCause.InstructionAccessFault, pc, pc);
            return null;
        }
        return page;
    }

    /// <summary>Reads a 16-bit instruction parcel through the MMU (for instructions that straddle pages).</summary>
    internal bool FetchParcel(ulong va, out ushort parcel)
    {
        parcel = 0;
        if (!Translate(va, AccessType.Execute, out ulong pa, out _)) return false;
        if (Bus.FindRam(pa) is not { } ram || !ram.Contains(pa, 2))
        {
            SetPending(ExceptionCause.InstructionAccessFault, va);
            return false;
        }
        parcel = Unsafe.ReadUnaligned<ushort>(ram.HostAddress(pa));
        return true;
    }

    /// <summary>Forgets cached translations for instruction fetch.</summary>
    private void FlushFetchTlb()
    {
        for (int i = 0; i < FetchTlbSize; i++) _fetchTlb[i] = new FetchEntry { Tag = ulong.MaxValue };
        Jumps.Reset();
    }

    /// <summary>Forgets the fetch translations of page <paramref name="vpn"/> (see <see cref="FlushTlbPage"/>).</summary>
    private void FlushFetchTlbPage(ulong vpn)
    {
        for (int i = 0; i < FetchTlbSize; i++)
            if (Covers(_fetchTlb[i].Tag, _fetchTlb[i].Level, vpn)) _fetchTlb[i] = new FetchEntry { Tag = ulong.MaxValue };
        Jumps.ForgetPage(vpn);
    }

    /// <summary>The instruction at <paramref name="va"/> (for traces), or null when it cannot be fetched.</summary>
    public uint? PeekInstruction(ulong va)
    {
        var saved = (PendingCause, PendingTval);
        try
        {
            if (!FetchParcel(va, out ushort low)) return null;
            if (!Decoder.IsWide(low)) return low;
            if (!FetchParcel(va + 2, out ushort high)) return null;
            return low | (uint)high << 16;
        }
        finally
        {
            (PendingCause, PendingTval) = saved;
        }
    }
}
