using System.Diagnostics;
using System.Text;
using Isomorph.Elf;
using Isomorph.Machines.Bare;
using Isomorph.Riscv.Execution;
using Isomorph.Riscv.Translation;
using Isomorph.Tests.Differential;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Translation;

/// <summary>
/// The translator against the interpreter, its reference: the same programs under both engines
/// must end in the same architectural state (pc, x and f registers, instret, console, exit).
/// The translating engines here compile on the hart's thread, so which code runs translated does
/// not depend on timing: with threshold 0 every block runs translated from its first execution,
/// with a small threshold the first runs are interpreted and the rest translated.
/// </summary>
public sealed class TranslatorTests(ITestOutputHelper output)
{
    private static readonly TranslatingEngine Eager = new(threshold: 0, background: false);
    private static readonly TranslatingEngine Warm = new(threshold: 3, background: false);

    private sealed record Outcome(BareStop Stop, int ExitCode, string Console, long Instret, ulong Pc, ulong[] X, ulong[] F);

    private static unsafe Outcome RunBare(string elf, IExecutionEngine engine, long maxInstructions = 200_000_000)
    {
        var console = new MemoryStream();
        using var machine = new BareMachine(ElfFile.Load(elf), new BareOptions { Console = console, MaxInstructions = maxInstructions, Engine = engine });
        var result = machine.Run();
        var h = machine.Hart;
        var x = new ulong[32];
        var f = new ulong[32];
        for (int i = 0; i < 32; i++) (x[i], f[i]) = (h.X[i], h.F[i]);
        return new Outcome(result.Stop, result.ExitCode, Encoding.UTF8.GetString(console.ToArray()), h.Instret, h.Pc, x, f);
    }

    private static void AssertSame(Outcome expected, Outcome actual, string what)
    {
        Assert.True(expected.Console == actual.Console, $"{what}: console differs:\n--- interp\n{expected.Console}\n--- jit\n{actual.Console}");
        Assert.Equal((expected.Stop, expected.ExitCode), (actual.Stop, actual.ExitCode));
        Assert.Equal(expected.Instret, actual.Instret);
        Assert.Equal(expected.Pc, actual.Pc);
        Assert.Equal(expected.X, actual.X);
        Assert.Equal(expected.F, actual.F);
    }

    public static TheoryData<string> Programs() => new(GuestPrograms.TestNames().Append("samples/hello.elf").Append("bench/intloop.elf"));

    [Theory]
    [MemberData(nameof(Programs))]
    public void GuestProgramsEndAsUnderTheInterpreter(string program)
    {
        string elf = GuestPrograms.Path(program);
        // intloop runs 1.6 G instructions: a prefix of it, cut at the same instruction by both engines.
        long limit = program.StartsWith("bench/", StringComparison.Ordinal) ? 3_000_000 : 200_000_000;
        var reference = RunBare(elf, InterpreterEngine.Instance, limit);
        if (!program.StartsWith("bench/", StringComparison.Ordinal)) Assert.Equal((BareStop.Exited, 0), (reference.Stop, reference.ExitCode));
        AssertSame(reference, RunBare(elf, Eager, limit), $"{program}, translated from the first run");
        AssertSame(reference, RunBare(elf, Warm, limit), $"{program}, translated after 3 runs");
    }

    [Fact]
    public void InstructionBudgetsEndAtTheSameInstruction()
    {
        // Runs cut at odd places: inside regions, inside loops, between a trap and its handler.
        string elf = GuestPrograms.Path("jit/translation.elf");
        foreach (long limit in new long[] { 1, 17, 1_001, 54_321, 123_457, 300_001 })
            AssertSame(RunBare(elf, InterpreterEngine.Instance, limit), RunBare(elf, Eager, limit), $"limit {limit}");
    }

    [Fact]
    public void SelfModifyingCodeRetranslates()
    {
        var engine = new TranslatingEngine(threshold: 10, background: false);
        var outcome = RunBare(GuestPrograms.Path("jit/translation.elf"), engine);
        Assert.True((outcome.Stop, outcome.ExitCode) == (BareStop.Exited, 0), outcome.Console);
        output.WriteLine(engine.Describe());
        Assert.True(engine.RegionsTranslated > 10, engine.Describe());
        Assert.True(engine.TranslatedInstructions > outcome.Instret / 2, engine.Describe());
    }

    /// <summary>
    /// A loop that calls a function in its own page 200,000 times runs as one region: the
    /// callee's return goes on in the region after the call; so does one that calls a small
    /// function on the next page 200,000 times. (The decoder sends a destination x0
    /// to a sink register, and the translator once took every return for something else, and
    /// every <c>j</c> for a call: a region was entered at every return, 200,000 times here, and
    /// regions held the dead code after each <c>j</c>.)
    /// </summary>
    [Fact]
    public void ReturnsToACallOfTheRegionStayInIt()
    {
        var engine = new TranslatingEngine(threshold: 3, background: false);
        var outcome = RunBare(GuestPrograms.Path("jit/calls.elf"), engine);
        Assert.True((outcome.Stop, outcome.ExitCode) == (BareStop.Exited, 0), outcome.Console);
        output.WriteLine(engine.Describe());
        long entries = engine.TranslatedRuns + engine.JumpCacheHits;
        Assert.True(entries < 1_000, $"{entries} region entries for 400,000 calls: {engine.Describe()}");
    }

    /// <summary>
    /// With exits counted (--stats), every region run ends at exactly one counted exit: the kinds
    /// add up to the runs, here in self-modifying code, a fault inside a hot loop, calls and
    /// returns, so no exit path of a region goes uncounted or counts twice.
    /// </summary>
    [Fact]
    public void EveryRegionRunEndsAtOneCountedExit()
    {
        var engine = new TranslatingEngine(threshold: 3, background: false) { CountExits = true };
        var outcome = RunBare(GuestPrograms.Path("jit/translation.elf"), engine);
        Assert.True((outcome.Stop, outcome.ExitCode) == (BareStop.Exited, 0), outcome.Console);
        output.WriteLine(engine.Describe());
        Assert.True(engine.TranslatedRuns > 1_000, engine.Describe());
        Assert.Equal(engine.TranslatedRuns, engine.Exits.Sum());
        Assert.True(engine.Exits.Count(n => n > 0) >= 4, engine.Describe());
    }

    /// <summary>
    /// The translator takes the queued request whose start ran the most instructions interpreted
    /// while it waited, the earliest of equals: a hot loop asked for behind lukewarm starts is
    /// compiled first.
    /// </summary>
    [Fact]
    public void TheTranslatorTakesTheRequestThatWaitedHottestFirst()
    {
        var table = new PageTranslations(0);
        TranslationRequest Request(int start, long waited) =>
            new(table, new RegionPlan([(start, default, null!)], [], [], null) { Waited = waited }, true);
        var queue = new List<TranslationRequest> { Request(1, 0), Request(2, 40), Request(3, 7), Request(4, 40), Request(5, 0) };
        var order = new List<int>();
        while (queue.Count > 0) order.Add(TranslatingEngine.TakeMostWaited(queue).Plan.Code[0].Idx);
        Assert.Equal([2, 4, 3, 1, 5], order);
    }

    [Fact]
    public void BackgroundTranslationGivesTheSameResult()
    {
        var engine = new TranslatingEngine(threshold: 50, background: true);
        string elf = GuestPrograms.Path("jit/translation.elf");
        AssertSame(RunBare(elf, InterpreterEngine.Instance), RunBare(elf, engine), "background");
    }

    /// <summary>
    /// The background translator works from a copy of the code taken on the hart's thread, never
    /// from guest memory, which a guest's munmap or a process's exit may have taken away meanwhile
    /// (it once read a page that was gone and brought the host process down). Here the page's host
    /// address is one no process maps.
    /// </summary>
    [Fact]
    public unsafe void TranslationReadsACopy_NotGuestMemoryThatMayBeGone()
    {
        var code = new byte[256];
        for (int i = 0; i < 64; i++) BitConverter.GetBytes(0x00150513u).CopyTo(code, i * 4); // addi a0, a0, 1
        var page = new Isomorph.Riscv.DecodedPage(0x8000_0000, (byte*)0x10);
        var region = RegionTranslator.Translate(page, 0, code, page.Generation);
        Assert.NotNull(region);
        Assert.Equal(64, region.Length);
    }

    /// <summary>
    /// A region leaves out the code that has not run: with the bitmap of executed slots (a slot is
    /// decoded the first time it runs), a straight line of 64 instructions of which the first 20 ran
    /// becomes a region of 20; the start always joins; a page's bitmap has exactly its decoded slots.
    /// </summary>
    [Fact]
    public unsafe void ARegionLeavesOutCodeThatHasNotRun()
    {
        var code = new byte[256];
        for (int i = 0; i < 64; i++) BitConverter.GetBytes(0x00150513u).CopyTo(code, i * 4); // addi a0, a0, 1
        var page = new Isomorph.Riscv.DecodedPage(0x8000_0000, (byte*)0x10);
        var executed = RegionTranslator.ExecutedSlots(page);
        Assert.All(executed, word => Assert.Equal(0ul, word));
        Assert.Equal(1, RegionTranslator.Translate(page, 0, code, page.Generation, executed: executed)!.Length);
        var addi = default(Isomorph.Riscv.Isa.Insn);
        Isomorph.Riscv.Isa.Decoder.Decode(0x00150513u, ref addi);
        for (int i = 0; i < 20; i++) Isomorph.Riscv.DecodedPage.Publish(ref page.Slots[i * 2], in addi);
        executed = RegionTranslator.ExecutedSlots(page);
        Assert.Equal(0x5555_5555_55ul, executed[0]); // slots 0, 2, ..., 38
        Assert.Equal(20, RegionTranslator.Translate(page, 0, code, page.Generation, executed: executed)!.Length);
        Assert.Equal(64, RegionTranslator.Translate(page, 0, code, page.Generation)!.Length);
    }

    /// <summary>
    /// A region goes on into the next page by falling through, by a jump without a link (the
    /// pages the fetch TLB holds, which the engine's page source gives) and by a call of a small
    /// leaf function (straight-line code ending in a return, at most RegionTranslator.SmallLeaf
    /// instructions), not by other calls; without the next page it stops at the page's end. (What
    /// the code does there, and that a region notices another page's code change,
    /// guests/jit/translation.c checks: its loop over three pages and its byte swaps called there.)
    /// </summary>
    [Fact]
    public unsafe void ARegionGoesOnIntoOtherPagesByFallingThroughJumpingAndCallingSmallLeaves_NotByOtherCalls()
    {
        const uint addi = 0x00150513, ret = 0x00008067, jump = 0x0000106f, call = 0x000010ef; // j and jal ra, both to pc + 4096
        const uint branch = 0x00050463; // beqz a0, pc + 8
        static byte[] Page(int at, params uint[] words)
        {
            var page = new byte[4096];
            for (int i = 0; i < words.Length; i++) BitConverter.GetBytes(words[i]).CopyTo(page, at + i * 4);
            return page;
        }
        var first = new Isomorph.Riscv.DecodedPage(0x8000_0000, (byte*)0x10);
        var second = new Isomorph.Riscv.DecodedPage(0x8000_1000, (byte*)0x10);
        var leaf = Page(0, [.. Enumerable.Repeat(addi, 10), ret]);
        RegionPlan? Gather(byte[] code, int start, byte[]? next) =>
            RegionTranslator.Gather(o => o == 0 ? new CodePage(first, first.Generation, code, null)
                : o == 1 && next is not null ? new CodePage(second, second.Generation, next, null) : null, start);

        var fallsThrough = Page(4080, addi, addi, addi, addi);
        Assert.Equal(15, Gather(fallsThrough, 2040, leaf)!.Code.Length);
        Assert.Equal(2, Gather(fallsThrough, 2040, leaf)!.Pages.Length);
        Assert.Equal(4, Gather(fallsThrough, 2040, null)!.Code.Length);
        var jumps = Gather(Page(0, jump), 0, leaf)!;
        Assert.Equal(12, jumps.Code.Length);
        Assert.Equal([0, 1], jumps.Offsets);
        Assert.Equal(2048, jumps.Code[1].Idx); // the second page's slots go on from the first's
        var caller = Page(0, call, addi, addi, ret);
        var callsLeaf = Gather(caller, 0, leaf)!;
        Assert.Equal(15, callsLeaf.Code.Length); // the call, the leaf, and the code its return comes back to
        Assert.Equal([0, 1], callsLeaf.Offsets);
        var longer = Page(0, [.. Enumerable.Repeat(addi, RegionTranslator.SmallLeaf), ret]);
        var callsLonger = Gather(caller, 0, longer)!;
        Assert.Equal(4, callsLonger.Code.Length);
        Assert.Single(callsLonger.Pages);
        Assert.Equal(4, Gather(caller, 0, Page(0, addi, branch, addi, addi, ret))!.Code.Length); // not straight-line
        Assert.Equal(15, RegionTranslator.Compile(Gather(fallsThrough, 2040, leaf)!, directMemory: false).Length);
        Assert.Equal(15, RegionTranslator.Compile(callsLeaf, directMemory: false).Length);
    }

    /// <summary>Fixed-seed random instruction streams (the differential suite's), interp as the oracle and the jit as the system under test.</summary>
    [Fact]
    public void RandomStreamsAgreeWithTheInterpreter()
    {
        Toolchain.EnsureAvailable();
        var work = Path.Combine(Path.GetTempPath(), "isomorph-diff", $"jit-{Environment.ProcessId}-{DateTime.UtcNow.Ticks}");
        var engine = new DifferentialEngine(new InProcessRunner(InterpreterEngine.Instance, "interp"), new InProcessRunner(Eager, "jit"),
            new RandomStreamGenerator(new GeneratorOptions()), work);
        var result = Campaign.Run(engine, Enumerable.Range(1, 24).Select(i => (long)i).ToList());
        output.WriteLine($"{result.Streams} streams in {result.Elapsed.TotalSeconds:F1} s");
        foreach (var m in result.Mismatches) output.WriteLine(engine.Explain(m, shrink: false, out _));
        Assert.True(result.Mismatches.Count == 0 && result.HarnessErrors.Count == 0 && result.BuildErrors.Count == 0,
            $"{result.Mismatches.Count} mismatches, {result.HarnessErrors.Count} harness errors, {result.BuildErrors.Count} build errors (work dir {work})");
        try { Directory.Delete(work, true); } catch (IOException) { }
    }

    /// <summary>Runs a bare-metal ELF in this process on the given engine (the differential harness's runner interface).</summary>
    private sealed class InProcessRunner(IExecutionEngine engine, string name) : IEmulatorRunner
    {
        public string Name => name;

        public RunResult Run(string elfPath, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            var console = new MemoryStream();
            using var machine = new BareMachine(ElfFile.Load(elfPath), new BareOptions { Console = console, MaxInstructions = 100_000_000, Engine = engine });
            var result = machine.Run();
            int code = result.Stop == BareStop.Exited ? result.ExitCode : 3;
            return new RunResult(Encoding.UTF8.GetString(console.ToArray()), result.Message ?? "", code, false, clock.Elapsed);
        }
    }
}
