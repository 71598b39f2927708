using System.Diagnostics;
using Isomorph.Riscv.Execution;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// The translating engine: interprets (tier 0) and counts how often each block start runs, in the
/// dispatcher and on in-page branches inside the interpreter's loop; a start that reaches <see cref="Threshold"/> is translated to a region of IL
/// (<see cref="RegionTranslator"/>) on a background thread, so a short program never waits for the
/// JIT; once a region is there, its start runs translated. Regions are kept per physical page
/// (<see cref="DecodedPage.Translations"/>), so satp writes and sfence.vma need nothing, and every
/// reset of a page's decoded slots (a store to it, retirement, a cache clear) drops them.
/// </summary>
public sealed class TranslatingEngine : IExecutionEngine
{
    /// <summary>ISOMORPH_JIT_THRESHOLD: executions of a block start before it is translated.</summary>
    public const string ThresholdVariable = "ISOMORPH_JIT_THRESHOLD";
    /// <summary>ISOMORPH_JIT_SYNC=1: translate on the hart's thread as soon as the threshold is reached (tests).</summary>
    public const string SynchronousVariable = "ISOMORPH_JIT_SYNC";

    public static TranslatingEngine Shared { get; } = new(
        int.TryParse(Environment.GetEnvironmentVariable(ThresholdVariable), out int t) && t >= 0 ? t : 5_000,
        Environment.GetEnvironmentVariable(SynchronousVariable) != "1");

    public string Name => "jit";

    /// <summary>Executions of a block start before it is translated (0: before its first; at most 65,534).</summary>
    public int Threshold { get; }

    /// <summary>Whether regions are compiled on a background thread (else at once, on the hart's thread).</summary>
    public bool Background { get; }

    /// <summary>
    /// The translator's work, guarded by its own monitor: the translator sleeps on it when it is
    /// empty, without spinning first (a BlockingCollection's semaphore yields the core dozens of
    /// times before it sleeps, each time the queue runs dry, on a host whose other core runs the
    /// guest).
    /// </summary>
    private readonly List<TranslationRequest> _queue = [];
    private Thread? _worker;
    private readonly Lock _start = new();

    /// <summary>What the engine did so far (all harts).</summary>
    public long RegionsTranslated, RegionsAcrossPages, RegionInstructions, Dispatches, CompileTicks, TranslatedRuns, TranslatedInstructions, InterpretedInstructions, HandedToInterpreter;

    /// <summary>
    /// Of <see cref="InterpretedInstructions"/>, those run in blocks whose start had run fewer than
    /// <see cref="Threshold"/> times, and those run in blocks whose start's region was asked for and
    /// not compiled yet. (The others were handed over by regions, <see cref="HandedToInterpreter"/>,
    /// or ran where a region could not fit before the end of a chunk.)
    /// </summary>
    public long InterpretedLukewarm, InterpretedWhileQueued;

    /// <summary>Regions entered from another region's exit through the jump cache, and exits it held nothing for.</summary>
    public long JumpCacheHits, JumpCacheMisses;

    /// <summary>
    /// Regions translated from now on count their exits by kind (<see cref="Exits"/>, for --stats):
    /// an add to the hart at each exit, off unless asked for.
    /// </summary>
    public bool CountExits { get; set; }

    /// <summary>Region exits by kind (<see cref="RegionExit"/>), all harts, while <see cref="CountExits"/> was set.</summary>
    public readonly long[] Exits = new long[RegionExitCounts.Kinds];

    public TranslatingEngine(int threshold, bool background)
    {
        Threshold = Math.Clamp(threshold, 0, PageTranslations.Queued - 1);
        Background = background;
    }

    public HartStop Run(Hart hart, long maxInstructions) => Run(hart, maxInstructions, default(NoStops));

    /// <summary>
    /// Runs as <see cref="Run(Hart, long)"/> but returns (with <see cref="HartStop.Budget"/>) as soon
    /// as control reaches an address in <paramref name="stops"/> (by virtual page, a bitmap of its
    /// two-byte slots: a debugger's breakpoints, a hook's instructions), before running it. Everything
    /// runs translated meanwhile, the pages holding stops too: their regions are translated around the
    /// stops (<see cref="Region.Stops"/>; a region translated for other stops is translated again), and
    /// their interpreted blocks end before them. Regions do not chain here (the jump cache starts empty
    /// and learns nothing), so that every exit comes back to the dispatcher, which looks at the stops.
    /// </summary>
    public HartStop RunUntil(Hart hart, long maxInstructions, IReadOnlyDictionary<ulong, ulong[]> stops) =>
        Run(hart, maxInstructions, new StopsAt(stops));

    /// <summary>Where the dispatcher must stop; a struct type argument, so the plain engine pays nothing.</summary>
    private interface IStops
    {
        /// <summary>The stop slots of the virtual page holding <paramref name="pc"/>, or null.</summary>
        ulong[]? SlotsOf(ulong pc);
    }

    private readonly struct NoStops : IStops
    {
        public ulong[]? SlotsOf(ulong pc) => null;
    }

    private readonly struct StopsAt(IReadOnlyDictionary<ulong, ulong[]> pages) : IStops
    {
        public ulong[]? SlotsOf(ulong pc) => pages.TryGetValue(pc >> 12, out var slots) ? slots : null;
    }

    private HartStop Run<TStops>(Hart hart, long maxInstructions, TStops filter) where TStops : struct, IStops
    {
        long end = hart.Steps + maxInstructions;
        hart._stopAt = 0;
        // Counted here and added to the engine's totals once per run: harts on several threads
        // would otherwise write one cache line at every region entry.
        long runs = 0, translated = 0, handed = 0, lukewarm = 0, waiting = 0, dispatches = 0, start = hart.Instret, hitsBefore = hart.JumpCacheHits, missesBefore = hart.JumpCacheMisses;
        // Regions go on to the next one themselves (a tail call, when the jump cache holds it): with
        // a filter, the cache starts empty and learns nothing, so that every exit comes back here.
        bool filtered = typeof(TStops) != typeof(NoStops);
        if (filtered) hart.ForgetRegions();
        while (true)
        {
            if (hart.Instret >= hart._stopAt && hart.EndOfChunk(end, out var stop))
            {
                Tally(hart, stop, runs, dispatches, translated, hart.Instret - start - translated, handed, lukewarm, waiting, hart.JumpCacheHits - hitsBefore, hart.JumpCacheMisses - missesBefore);
                return stop;
            }
            ulong pc = hart.Pc;
            int idx = (int)(pc & 0xFFF) >> 1;
            var stops = filter.SlotsOf(pc);
            if (stops is not null && RegionTranslator.IsSet(stops, idx))
            {
                Tally(hart, HartStop.Budget, runs, dispatches, translated, hart.Instret - start - translated, handed, lukewarm, waiting, hart.JumpCacheHits - hitsBefore, hart.JumpCacheMisses - missesBefore);
                return HartStop.Budget;
            }
            var page = hart.FetchPage(pc);
            dispatches++;
            if (page is null) continue;
            var table = page.Translations;
            if (table is null || table.Generation != Volatile.Read(ref page.Generation))
            {
                table = new PageTranslations(Volatile.Read(ref page.Generation));
                page.Translations = table;
            }
            var region = table.Regions[idx];
            if (region?.FixedBase is { } fixedBase && fixedBase != (pc & ~0xFFFul)) region = null; // (never, where addresses are not translated)
            if (region is not null && region.Pages.Length > 1 && region.Stale)
            {
                // Code of another page it spans changed: translated again when hot again.
                table.Regions[idx] = null;
                table.Counts[idx] = 0;
                region = null;
            }
            // A filtered run needs regions within one page, whose stops they were translated around.
            if (region is not null && (region.Stops != stops || (filtered && region.Pages.Length > 1)))
            {
                // Translated around other stops (or none, or with some where there are none now): translated again for these.
                table.Requested ??= new object?[DecodedPage.SlotCount];
                object wanted = stops ?? PageTranslations.NoStops;
                if (table.Requested[idx] != wanted)
                {
                    table.Requested[idx] = wanted;
                    Request(hart, page, table, idx, stops, crossPages: false);
                }
                region = null;
            }
            if (region is not null)
            {
                if (hart.Instret + region.Length <= hart._stopAt)
                {
                    if (!filtered) hart.RememberRegion(pc, region);
                    hart.CurrentPageBase = pc & ~0xFFFul;
                    long before = hart.Instret;
                    // Regions run one after another (tail calls) for as long as each finds the next in the jump cache.
                    region.Run(hart);
                    runs++;
                    translated += hart.Instret - before;
                    if (hart.InterpretNext)
                    {
                        // The region stopped before an instruction off its inline paths (an access the TLB does not serve, FP it cannot do exactly): that one runs interpreted.
                        // (The last region run may be on another page than the first.)
                        hart.InterpretNext = false;
                        handed++;
                        if (hart.FetchPage(hart.Pc) is { } at) hart.InterpretOne(at, hart.Pc);
                    }
                    continue;
                }
            }
            else
            {
                ushort count = table.Counts[idx];
                if (count < Threshold) table.Counts[idx] = (ushort)(count + 1);
                else if (count != PageTranslations.Queued && table.Regions[idx] is null)
                {
                    table.Counts[idx] = PageTranslations.Queued;
                    if (Request(hart, page, table, idx, stops, !filtered)) continue; // translated at once: run it now
                }
            }
            // Interpreted because its start is lukewarm (it ran fewer than Threshold times), because
            // its translation is still on the queue, or (with a region) because the chunk ends
            // before the region would: --stats tells the first two apart.
            long interpretedFrom = hart.Instret;
            hart.InterpretBlock(page, pc, table, Threshold, stops);
            if (region is null)
            {
                long ran = hart.Instret - interpretedFrom;
                if (table.Counts[idx] != PageTranslations.Queued) lukewarm += ran;
                else
                {
                    waiting += ran;
                    if (table.Waiting?[idx] is { } plan) plan.Waited += ran;
                }
            }
        }
    }

    /// <summary>
    /// Asks for the region at slot <paramref name="idx"/> of <paramref name="page"/> around
    /// <paramref name="stops"/>: it is gathered here, on the hart's thread, from copies of the code
    /// pages it reaches (with <paramref name="crossPages"/>, those the fetch TLB maps, read without
    /// walking page tables; else the start's alone, and the next page's first parcel if the fetch
    /// TLB holds it), and compiled in the background (true: compiled at once, on this thread, and
    /// installed).
    /// </summary>
    private bool Request(Hart hart, DecodedPage page, PageTranslations table, int idx, ulong[]? stops, bool crossPages)
    {
        ulong pageBase = hart.Pc & ~0xFFFul;
        // What has run so far shapes the region; with threshold 0 nothing has (the tests' mode that
        // translates everything from its first execution), and the region is all the code
        // reachable from the start.
        CodePage? PageAt(int offset)
        {
            ulong va = pageBase + (ulong)((long)offset * 4096);
            var at = offset == 0 ? page : crossPages ? hart.PeekFetchPage(va) : null;
            if (at is null || !at.Active) return null;
            // The generation is read before the bytes (a store's slow path bumps it after they land).
            int generation = offset == 0 ? table.Generation : Volatile.Read(ref at.Generation);
            return new CodePage(at, generation, RegionTranslator.CopyCode(at, hart.PeekParcel(va + 4096)),
                Threshold > 0 ? RegionTranslator.ExecutedSlots(at) : null);
        }
        var plan = RegionTranslator.Gather(PageAt, idx, stops);
        if (plan is null) return false;
        bool direct = hart.Direct is not null;
        // A process VM does not translate addresses: its code runs where it is, and the region's pcs are constants.
        if (direct && pageBase == page.PhysicalBase) plan = plan with { FixedBase = pageBase };
        if (Background)
        {
            (table.Waiting ??= new RegionPlan?[DecodedPage.SlotCount])[idx] = plan;
            Enqueue(table, plan, direct);
            return false;
        }
        Translate(table, plan, direct);
        return table.Regions[idx] is { } region && region.Stops == stops;
    }

    /// <summary>
    /// A run's figures, kept on the hart and added to the engine's totals (seven interlocked adds,
    /// about 34 ns) once every <see cref="RunTally.Batch"/> runs that a stop request ended — the short
    /// runs of a guest function call from the library, which the adds made a third slower — and after
    /// every other run (and every run of <see cref="RunTally.LongRun"/> instructions or more, whose
    /// adds cost nothing in proportion); what a hart still holds is added when it is disposed.
    /// </summary>
    private void Tally(Hart hart, HartStop stop, long runs, long dispatches, long translated, long interpreted, long handed, long lukewarm, long waiting, long chained, long misses)
    {
        ref var t = ref hart.Tally;
        if (t.Engine != this)
        {
            FlushTally(hart);
            t.Engine = this;
        }
        t.Runs += runs;
        t.Dispatches += dispatches;
        t.Translated += translated;
        t.Interpreted += interpreted;
        t.Handed += handed;
        t.Lukewarm += lukewarm;
        t.Waiting += waiting;
        t.Chained += chained;
        t.Misses += misses;
        if (++t.Pending >= RunTally.Batch || stop != HartStop.Requested || translated + interpreted >= RunTally.LongRun) FlushTally(hart);
    }

    /// <summary>Adds what <paramref name="hart"/> holds of its runs' figures to its engine's totals.</summary>
    internal static void FlushTally(Hart hart)
    {
        ref var t = ref hart.Tally;
        if (t.Engine is { } engine && t.Pending > 0)
        {
            Interlocked.Add(ref engine.JumpCacheHits, t.Chained);
            Interlocked.Add(ref engine.JumpCacheMisses, t.Misses);
            Interlocked.Add(ref engine.Dispatches, t.Dispatches);
            Interlocked.Add(ref engine.TranslatedRuns, t.Runs + t.Chained);
            Interlocked.Add(ref engine.TranslatedInstructions, t.Translated);
            Interlocked.Add(ref engine.InterpretedInstructions, t.Interpreted);
            Interlocked.Add(ref engine.HandedToInterpreter, t.Handed);
            Interlocked.Add(ref engine.InterpretedLukewarm, t.Lukewarm);
            Interlocked.Add(ref engine.InterpretedWhileQueued, t.Waiting);
            // (only regions an engine that counts translated add to a hart's counts)
            if (engine.CountExits)
                for (int k = 0; k < RegionExitCounts.Kinds; k++)
                    if (hart.ExitCounts[k] != 0)
                    {
                        Interlocked.Add(ref engine.Exits[k], hart.ExitCounts[k]);
                        hart.ExitCounts[k] = 0;
                    }
        }
        t = new RunTally { Engine = t.Engine };
    }

    private void Enqueue(PageTranslations table, RegionPlan plan, bool direct)
    {
        if (_worker is null)
            lock (_start)
                if (_worker is null)
                {
                    _worker = new Thread(Work) { IsBackground = true, Name = "isomorph translator", Priority = ThreadPriority.BelowNormal };
                    _worker.Start();
                }
        lock (_queue)
        {
            _queue.Add(new TranslationRequest(table, plan, direct));
            if (_queue.Count == 1) Monitor.Pulse(_queue);
        }
    }

    private void Work()
    {
        while (true)
        {
            TranslationRequest work;
            lock (_queue)
            {
                while (_queue.Count == 0) Monitor.Wait(_queue);
                work = TakeMostWaited(_queue);
            }
            Interlocked.CompareExchange(ref work.Table.Waiting![work.Plan.Code[0].Idx], null, work.Plan);
            // A page reset since the request: its translations are gone and the code may be different.
            if (!work.Plan.Current) continue;
            Translate(work.Table, work.Plan, work.Direct);
        }
    }

    /// <summary>
    /// Takes from <paramref name="queue"/> the request whose start ran the most instructions
    /// interpreted while it waited (the earliest of equals), not the oldest: a hot loop asked for
    /// behind a burst of lukewarm starts would otherwise run interpreted until they are all compiled.
    /// </summary>
    internal static TranslationRequest TakeMostWaited(List<TranslationRequest> queue)
    {
        int most = 0;
        for (int i = 1; i < queue.Count; i++)
            if (queue[i].Plan.Waited > queue[most].Plan.Waited) most = i;
        var request = queue[most];
        queue.RemoveAt(most);
        return request;
    }

    private void Translate(PageTranslations table, RegionPlan plan, bool direct)
    {
        long t0 = Stopwatch.GetTimestamp();
        Region? region;
        try
        {
            region = RegionTranslator.Compile(plan, direct, CountExits);
        }
        catch (Exception e)
        {
            // A translator's bug leaves that code interpreted (and says so on stderr) rather than end the guest.
            Console.Error.WriteLine($"isomorph: translating 0x{plan.Pages[0].Page.PhysicalBase + (ulong)plan.Code[0].Idx * 2:x} failed: {e.Message}");
            return;
        }
        Interlocked.Add(ref CompileTicks, Stopwatch.GetTimestamp() - t0);
        // Read at each page's generation: installed only if no store changed them meanwhile (a reset
        // bumps the generation, so a region read from old bytes never matches).
        if (!plan.Current) return;
        table.Install(region);
        Interlocked.Increment(ref RegionsTranslated);
        if (region.Pages.Length > 1) Interlocked.Increment(ref RegionsAcrossPages);
        Interlocked.Add(ref RegionInstructions, region.Length);
    }

    /// <summary>A line for --stats.</summary>
    public string Describe() =>
        $"jit: {RegionsTranslated:N0} regions translated ({(RegionsTranslated == 0 ? 0 : RegionInstructions / RegionsTranslated)} instructions each, {RegionsAcrossPages:N0} across pages) in {Stopwatch.GetElapsedTime(0, CompileTicks).TotalMilliseconds:F0} ms (RyuJIT {Stopwatch.GetElapsedTime(0, RegionTranslator.JitTicks).TotalMilliseconds:F0} ms), " +
        $"{Dispatches:N0} dispatcher lookups, {TranslatedRuns:N0} region runs, {TranslatedInstructions:N0} instructions run translated, " +
        $"{InterpretedInstructions:N0} interpreted ({InterpretedLukewarm:N0} of them at starts run fewer than {Threshold:N0} times, {InterpretedWhileQueued:N0} while their translation was queued, {HandedToInterpreter:N0} handed over by regions), " +
        $"jump cache {JumpCacheHitRate * 100:F1}% hits ({JumpCacheHits:N0} of {JumpCacheHits + JumpCacheMisses:N0} region exits looked up)" +
        (!CountExits ? "" : "; region exits by kind: " + (Exits.All(n => n == 0) ? "none"
            : string.Join(", ", Enum.GetValues<RegionExit>().Where(k => Exits[(int)k] != 0).Select(k => $"{k} {Exits[(int)k]:N0}"))));

    /// <summary>The share of region exits looked up in the jump cache that found the next region there.</summary>
    public double JumpCacheHitRate => JumpCacheHits + JumpCacheMisses == 0 ? 0 : (double)JumpCacheHits / (JumpCacheHits + JumpCacheMisses);
}

/// <summary>A region the translator is asked for: its plan, the page table it goes to, and whether it uses direct memory.</summary>
internal readonly record struct TranslationRequest(PageTranslations Table, RegionPlan Plan, bool Direct);

/// <summary>A hart's figures of its runs under a <see cref="TranslatingEngine"/> not yet added to the engine's totals.</summary>
internal struct RunTally
{
    /// <summary>Runs ended by a stop request that are tallied on the hart before their figures go to the engine.</summary>
    public const int Batch = 64;

    /// <summary>A run of this many instructions has its figures added at once, however it ended.</summary>
    public const long LongRun = 100_000;

    public TranslatingEngine? Engine;
    public int Pending;
    public long Runs, Dispatches, Translated, Interpreted, Handed, Lukewarm, Waiting, Chained, Misses;
}
