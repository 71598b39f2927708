using System.Collections.Concurrent;
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

    private readonly BlockingCollection<(DecodedPage Page, PageTranslations Table, int Start, byte[] Code, bool Direct)> _queue = new();
    private Thread? _worker;
    private readonly Lock _start = new();

    /// <summary>What the engine did so far (all harts).</summary>
    public long RegionsTranslated, Dispatches, CompileTicks, TranslatedRuns, TranslatedInstructions, InterpretedInstructions, HandedToInterpreter;

    /// <summary>Regions entered from another region's exit through the jump cache, and exits it held nothing for.</summary>
    public long JumpCacheHits, JumpCacheMisses;

    public TranslatingEngine(int threshold, bool background)
    {
        Threshold = Math.Clamp(threshold, 0, PageTranslations.Queued - 1);
        Background = background;
    }

    public HartStop Run(Hart hart, long maxInstructions) => Run(hart, maxInstructions, default(AnyPage));

    /// <summary>
    /// Runs as <see cref="Run(Hart, long)"/> but returns (with <see cref="HartStop.Budget"/>) as soon
    /// as control reaches a virtual page in <paramref name="avoid"/>, before running anything there:
    /// a debugger runs those pages itself (its breakpoints are on them) and the rest translated.
    /// Regions and interpreted blocks never leave their page, so nothing on an avoided page runs here.
    /// </summary>
    public HartStop RunOutside(Hart hart, long maxInstructions, IReadOnlyDictionary<ulong, ulong[]> avoid) =>
        Run(hart, maxInstructions, new AvoidPages(avoid));

    /// <summary>Which pages the dispatcher may run; a struct type argument, so the unfiltered engine pays nothing.</summary>
    private interface IPageFilter
    {
        bool Allows(ulong pc);
    }

    private readonly struct AnyPage : IPageFilter
    {
        public bool Allows(ulong pc) => true;
    }

    private readonly struct AvoidPages(IReadOnlyDictionary<ulong, ulong[]> pages) : IPageFilter
    {
        public bool Allows(ulong pc) => !pages.ContainsKey(pc >> 12);
    }

    private HartStop Run<TFilter>(Hart hart, long maxInstructions, TFilter filter) where TFilter : struct, IPageFilter
    {
        long end = hart.Steps + maxInstructions;
        hart._stopAt = 0;
        // Counted here and added to the engine's totals once per run: harts on several threads
        // would otherwise write one cache line at every region entry.
        long runs = 0, translated = 0, handed = 0, dispatches = 0, start = hart.Instret, hitsBefore = hart.JumpCacheHits, missesBefore = hart.JumpCacheMisses;
        // Regions go on to the next one themselves (a tail call, when the jump cache holds it): with
        // a filter, the cache starts empty and learns nothing, so that every exit comes back here.
        bool filtered = typeof(TFilter) != typeof(AnyPage);
        if (filtered) hart.ForgetRegions();
        while (true)
        {
            if (hart.Instret >= hart._stopAt && hart.EndOfChunk(end, out var stop))
            {
                AddTotals(runs, dispatches, translated, hart.Instret - start - translated, handed, hart.JumpCacheHits - hitsBefore, hart.JumpCacheMisses - missesBefore);
                return stop;
            }
            ulong pc = hart.Pc;
            if (!filter.Allows(pc))
            {
                AddTotals(runs, dispatches, translated, hart.Instret - start - translated, handed, hart.JumpCacheHits - hitsBefore, hart.JumpCacheMisses - missesBefore);
                return HartStop.Budget;
            }
            var page = hart.FetchPage(pc);
            dispatches++;
            if (page is null) continue;
            int idx = (int)(pc & 0xFFF) >> 1;
            var table = page.Translations;
            if (table is null || table.Generation != Volatile.Read(ref page.Generation))
            {
                table = new PageTranslations(Volatile.Read(ref page.Generation));
                page.Translations = table;
            }
            if (table.Regions[idx] is { } region)
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
                else if (count != PageTranslations.Queued)
                {
                    table.Counts[idx] = PageTranslations.Queued;
                    // The code to translate is copied here, on the hart's thread, with the next page's first parcel if the fetch TLB holds it.
                    var code = RegionTranslator.CopyCode(page, hart.PeekParcel((pc | 0xFFF) + 1));
                    bool direct = hart.Direct is not null;
                    if (Background) Enqueue(page, table, idx, code, direct);
                    else
                    {
                        Translate(page, table, idx, code, direct);
                        continue; // run it now
                    }
                }
            }
            hart.InterpretBlock(page, pc, table, Threshold);
        }
    }

    private void AddTotals(long runs, long dispatches, long translated, long interpreted, long handed, long chained, long misses)
    {
        runs += chained;
        Interlocked.Add(ref JumpCacheHits, chained);
        Interlocked.Add(ref JumpCacheMisses, misses);
        Interlocked.Add(ref Dispatches, dispatches);
        Interlocked.Add(ref TranslatedRuns, runs);
        Interlocked.Add(ref TranslatedInstructions, translated);
        Interlocked.Add(ref InterpretedInstructions, interpreted);
        Interlocked.Add(ref HandedToInterpreter, handed);
    }

    private void Enqueue(DecodedPage page, PageTranslations table, int start, byte[] code, bool direct)
    {
        if (_worker is null)
            lock (_start)
                if (_worker is null)
                {
                    _worker = new Thread(Work) { IsBackground = true, Name = "isomorph translator", Priority = ThreadPriority.BelowNormal };
                    _worker.Start();
                }
        _queue.Add((page, table, start, code, direct));
    }

    private void Work()
    {
        foreach (var (page, table, start, code, direct) in _queue.GetConsumingEnumerable())
        {
            // A page reset since the request: its translations are gone and the code may be different.
            if (table.Generation != Volatile.Read(ref page.Generation)) continue;
            Translate(page, table, start, code, direct);
        }
    }

    private void Translate(DecodedPage page, PageTranslations table, int start, byte[] code, bool direct)
    {
        long t0 = Stopwatch.GetTimestamp();
        Region? region;
        try
        {
            region = RegionTranslator.Translate(page, start, code, table.Generation, direct);
        }
        catch (Exception e) when (e is InvalidProgramException or InvalidOperationException or NotSupportedException)
        {
            Console.Error.WriteLine($"isomorph: translating 0x{page.PhysicalBase + (ulong)start * 2:x} failed: {e.Message}");
            return;
        }
        Interlocked.Add(ref CompileTicks, Stopwatch.GetTimestamp() - t0);
        if (region is null) return;
        // Read at table.Generation: installed only if no store changed the page meanwhile (a reset
        // bumps the generation before the new bytes land, so a region read from old bytes never matches).
        if (!page.Active || table.Generation != Volatile.Read(ref page.Generation)) return;
        table.Install(region);
        Interlocked.Increment(ref RegionsTranslated);
    }

    /// <summary>A line for --stats.</summary>
    public string Describe() =>
        $"jit: {RegionsTranslated:N0} regions translated in {Stopwatch.GetElapsedTime(0, CompileTicks).TotalMilliseconds:F0} ms (RyuJIT {Stopwatch.GetElapsedTime(0, RegionTranslator.JitTicks).TotalMilliseconds:F0} ms), " +
        $"{Dispatches:N0} dispatcher lookups, {TranslatedRuns:N0} region runs, {TranslatedInstructions:N0} instructions run translated, " +
        $"{InterpretedInstructions:N0} interpreted ({HandedToInterpreter:N0} of them handed over by regions), " +
        $"jump cache {JumpCacheHitRate * 100:F1}% hits ({JumpCacheHits:N0} of {JumpCacheHits + JumpCacheMisses:N0} region exits looked up)";

    /// <summary>The share of region exits looked up in the jump cache that found the next region there.</summary>
    public double JumpCacheHitRate => JumpCacheHits + JumpCacheMisses == 0 ? 0 : (double)JumpCacheHits / (JumpCacheHits + JumpCacheMisses);
}
