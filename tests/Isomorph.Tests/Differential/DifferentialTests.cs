using System.Text;
using Xunit.Abstractions;

namespace Isomorph.Tests.Differential;

/// <summary>
/// Differential tests: random RV64GC+Zba/Zbb/Zbs instruction streams run on Isomorph and on QEMU 7.2
/// (the oracle); every stream's final x/f/fcsr/data-area state must match.
/// <para>Environment:</para>
/// <list type="bullet">
/// <item>ISOMORPH_DIFF_SEED=n [ISOMORPH_DIFF_COUNT=c]: <see cref="Reproduce"/> runs programs n..n+c-1 and
/// shrinks every mismatch (see difftest.sh).</item>
/// <item>ISOMORPH_DIFF_PROGRAMS: programs per campaign test (default 60, i.e. 1,500 streams each).</item>
/// <item>ISOMORPH_DIFF_BUDGET: seconds per campaign test before it stops launching programs (default 100).</item>
/// <item>ISOMORPH_DIFF_SUT=qemu: compare QEMU with itself; ISOMORPH_DIFF_CLI: path of the CLI.</item>
/// <item>ISOMORPH_DIFF_DISABLE=g1,g2: leave instruction groups out (e.g. misaligned).</item>
/// <item>ISOMORPH_DIFF_JOBS: parallel programs (default: processor count).</item>
/// </list>
/// </summary>
[Trait("Category", "Differential")]
public sealed class DifferentialTests
{
    private readonly ITestOutputHelper _out;
    public DifferentialTests(ITestOutputHelper output) => _out = output;

    private static int Programs =>
        int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_PROGRAMS"), out var n) && n > 0 ? n : 60;

    private static TimeSpan Budget =>
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_BUDGET"), out var s) && s > 0 ? s : 100);

    [Fact]
    public void FixedSeeds() => RunCampaign("fixed seeds", Enumerable.Range(1, Programs).Select(i => (long)i).ToList());

    [Fact]
    public void FreshSeeds()
    {
        long baseSeed = 1_000_000_000L + DateTime.UtcNow.Ticks / TimeSpan.TicksPerMillisecond % 1_000_000_000_000L;
        _out.WriteLine($"fresh base seed {baseSeed}: programs {baseSeed}..{baseSeed + Programs - 1} " +
                       $"(reproduce one with ISOMORPH_DIFF_SEED=<seed>)");
        RunCampaign($"fresh seeds from {baseSeed}", Enumerable.Range(0, Programs).Select(i => baseSeed + i).ToList());
    }

    /// <summary>
    /// The fixed seeds' programs again with every stream in VS-mode (the hypervisor extension: V set,
    /// hgatp and vsatp Bare, vsstatus.FS dirty): the same instructions through the virtualized CSRs
    /// (fcsr under both FS), the V-mode translation context and traps from VS into M-mode.
    /// </summary>
    [Fact]
    public void FixedSeeds_InVsMode() =>
        RunCampaign("fixed seeds in VS-mode", Enumerable.Range(1, Programs / 2).Select(i => (long)i).ToList(), virtualSupervisor: true);

    /// <summary>Reproduces and shrinks programs ISOMORPH_DIFF_SEED .. +ISOMORPH_DIFF_COUNT-1; does
    /// nothing (and says so) when ISOMORPH_DIFF_SEED is not set.</summary>
    [Fact]
    public void Reproduce()
    {
        var seedText = Environment.GetEnvironmentVariable("ISOMORPH_DIFF_SEED");
        if (string.IsNullOrWhiteSpace(seedText))
        {
            _out.WriteLine("ISOMORPH_DIFF_SEED not set: nothing to reproduce.");
            return;
        }
        long seed = long.Parse(seedText.Trim());
        int count = int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_COUNT"), out var c) && c > 0 ? c : 1;
        var engine = DifferentialEngine.CreateDefault();
        EnsureSut(engine);
        var seeds = Enumerable.Range(0, count).Select(i => seed + i).ToList();
        var result = Campaign.Run(engine, seeds, budget: TimeSpan.FromHours(1));
        var report = new StringBuilder();
        report.AppendLine($"{engine.Oracle.Name} vs {engine.Sut.Name}: seeds {seed}..{seed + count - 1}, {result.Streams} streams, " +
                          $"{result.Elapsed.TotalSeconds:F1}s, generator {engine.Generator.Options}, work dir {engine.WorkDir}");
        report.Append(Summarize(engine, result, shrinkLimit: int.MaxValue, headlines: true));
        var text = report.ToString();
        var path = Path.Combine(engine.WorkDir, "report.txt");
        File.WriteAllText(path, text);
        _out.WriteLine(text);
        Console.WriteLine(text);
        Console.WriteLine($"report written to {path}");
        Assert.True(result.Mismatches.Count == 0 && result.HarnessErrors.Count == 0 && result.BuildErrors.Count == 0,
            $"seeds {seed}..{seed + count - 1} differ; report in {path}\n{Toolchain.Truncate(text, 20000)}");
    }

    /// <summary>The harness itself, without Isomorph: QEMU agrees with itself, and a QEMU running a
    /// deliberately mutated program (every fmin.d turned into fmax.d) is caught and shrunk to an fmin.d.</summary>
    [Fact]
    public void HarnessDetectsAndShrinksPlantedBug()
    {
        Toolchain.EnsureAvailable();
        var work = Path.Combine(Path.GetTempPath(), "isomorph-diff", $"selfcheck-{Environment.ProcessId}-{DateTime.UtcNow.Ticks}");
        var gen = new RandomStreamGenerator(new GeneratorOptions { StreamsPerProgram = 8 });

        var same = new DifferentialEngine(new QemuOracle(), new QemuOracle(), gen, work);
        var r = Campaign.Run(same, [11, 12]);
        Assert.True(r.Mismatches.Count == 0 && r.HarnessErrors.Count == 0 && r.BuildErrors.Count == 0,
            "QEMU disagrees with itself or the generator is broken: " + Summarize(same, r, 1, false));

        var mutant = new DifferentialEngine(new QemuOracle(), new MutatedProgramRunner("fmin.d", "fmax.d"), gen, work);
        ProgramOutcome? found = null;
        foreach (long seed in new long[] { 21, 22, 23, 24, 25 })
        {
            var o = mutant.RunProgram(seed);
            Assert.Null(o.HarnessError);
            if (o.Mismatch != null) { found = o; break; }
        }
        Assert.True(found != null, "a program with fmin.d → fmax.d planted was not detected");
        var stream = found!.Program.Streams[found.Mismatch!.Stream];
        var red = mutant.Shrink(found.Program, stream);
        _out.WriteLine(mutant.Explain(found, shrink: false, out _));
        _out.WriteLine(red.Text);
        Assert.True(red.Culprit.Count > 0 && red.Culprit.Any(i => i.Lines.Any(l => l.StartsWith("fmin.d", StringComparison.Ordinal))),
            "shrinking did not point at fmin.d: " + red.Headline + "\n" + red.Text);
        try { Directory.Delete(work, true); } catch (IOException) { }
    }

    /// <summary>The trap group against the oracle alone: streams made only of trap items (no branches, so
    /// every item runs) must log exactly one trap per item, with the mcause the spec requires, and skip it.</summary>
    [Fact]
    public void TrapItemsTrapAsSpecifiedOnOracle()
    {
        Toolchain.EnsureAvailable();
        var work = Path.Combine(Path.GetTempPath(), "isomorph-diff", $"trapcheck-{Environment.ProcessId}-{DateTime.UtcNow.Ticks}");
        var gen = new RandomStreamGenerator(new GeneratorOptions
        {
            StreamsPerProgram = 40, MinInstructions = 8, MaxInstructions = ProgramWriter.MaxLoggedTraps,
            Disabled = RandomStreamGenerator.Groups.Where(g => g != "trap").ToHashSet(),
        });
        var errors = new List<string>();
        foreach (long seed in new long[] { 5, 6 })
        {
            var program = gen.Generate(seed);
            var elf = Toolchain.Build(ProgramWriter.Write(program), Path.Combine(work, $"seed-{seed}"), "prog");
            var run = new QemuOracle().Run(elf, TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0 && !run.TimedOut, $"QEMU did not run {elf} cleanly: {run.Describe()}\n{Toolchain.Truncate(run.Stdout, 3000)}");
            var dumps = ParsedOutput.Parse(run.Stdout).Dumps;
            Assert.True(program.Streams.Count == dumps.Count,
                $"{dumps.Count} dumps for {program.Streams.Count} streams: {string.Join(",", dumps.Select(d => d.Label))}\n{Toolchain.Truncate(run.Stdout, 3000)}");
            foreach (var (stream, dump) in program.Streams.Zip(dumps))
            {
                var expected = stream.Items.Where(i => i.ExpectedCause != null).Select(i => i.ExpectedCause!.Value).ToList();
                var logged = Enumerable.Range(0, (int)dump.Get("tn")).Select(i => (int)dump.Get($"t{i:x}c")).ToList();
                if (!expected.SequenceEqual(logged))
                    errors.Add($"seed {seed} stream {stream.Index}: expected causes [{string.Join(",", expected)}], QEMU logged [{string.Join(",", logged)}]\n" +
                               DifferentialEngine.Listing(stream));
            }
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        try { Directory.Delete(work, true); } catch (IOException) { }
    }

    [Fact]
    public void GeneratorIsReproducible()
    {
        var g = new RandomStreamGenerator();
        Assert.Equal(ProgramWriter.Write(g.Generate(77)), ProgramWriter.Write(g.Generate(77)));
        Assert.NotEqual(ProgramWriter.Write(g.Generate(77)), ProgramWriter.Write(g.Generate(78)));
        // a stream regenerated on its own equals the one inside its program
        Assert.Equal(EngineListing(g.Generate(77).Streams[5]), EngineListing(g.GenerateStream(77, 5)));
    }

    private static string EngineListing(RandomStream s) => DifferentialEngine.Listing(s);

    // ------------------------------------------------------------------

    private static void EnsureSut(DifferentialEngine engine)
    {
        if (engine.Sut is IsomorphCliRunner cli && !File.Exists(cli.Command))
            throw new InvalidOperationException(
                $"the Isomorph CLI was not found at {cli.Command} (set ISOMORPH_DIFF_CLI, or ISOMORPH_DIFF_SUT=qemu to check the harness alone)");
    }

    private void RunCampaign(string what, IReadOnlyList<long> seeds, bool virtualSupervisor = false)
    {
        var engine = DifferentialEngine.CreateDefault(virtualSupervisor: virtualSupervisor);
        EnsureSut(engine);
        _out.WriteLine($"{what}: {engine.Oracle.Name} ({QemuOracle.Version()}) vs {engine.Sut.Name}; generator {engine.Generator.Options}; " +
                       $"{seeds.Count} programs, {Campaign.DefaultParallelism} in parallel; work dir {engine.WorkDir}");
        var result = Campaign.Run(engine, seeds, budget: Budget);
        _out.WriteLine($"ran {result.Programs} programs / {result.Streams} streams in {result.Elapsed.TotalSeconds:F1}s " +
                       $"(oracle {result.OracleTime.TotalSeconds:F1}s, {engine.Sut.Name} {result.SutTime.TotalSeconds:F1}s, summed over programs)");
        if (result.Programs < seeds.Count)
            _out.WriteLine($"time budget {Budget.TotalSeconds}s reached: {seeds.Count - result.Programs} programs not run");
        bool ok = result.Mismatches.Count == 0 && result.HarnessErrors.Count == 0 && result.BuildErrors.Count == 0;
        if (ok)
        {
            if (result.Programs == 0) Assert.Fail("no program ran (time budget too small?)");
            try { Directory.Delete(engine.WorkDir, true); } catch (IOException) { }
            return;
        }
        var text = Summarize(engine, result, shrinkLimit: 1, headlines: false);
        _out.WriteLine(text);
        Assert.Fail($"{what}: {result.Mismatches.Count} of {result.Programs} programs differ " +
                    $"({result.HarnessErrors.Count} harness errors, {result.BuildErrors.Count} build errors)\n{Toolchain.Truncate(text, 20000)}");
    }

    /// <summary>Detailed report of the first mismatches (shrunk), one line for the others.</summary>
    private static string Summarize(DifferentialEngine engine, CampaignResult result, int shrinkLimit, bool headlines)
    {
        var sb = new StringBuilder();
        foreach (var (seed, err) in result.BuildErrors.Take(5))
            sb.AppendLine($"BUILD ERROR seed {seed}: {err}");
        foreach (var h in result.HarnessErrors.Take(5))
            sb.AppendLine($"HARNESS ERROR seed {h.Seed}: {h.HarnessError}");
        int i = 0;
        var heads = new List<string>();
        foreach (var m in result.Mismatches)
        {
            if (i++ < shrinkLimit)
            {
                sb.AppendLine(engine.Explain(m, shrink: true, out var red));
                heads.Add($"seed {m.Seed} stream {m.Mismatch!.Stream}: {red?.Headline ?? m.Mismatch.Summary}");
            }
            else
            {
                sb.AppendLine($"also differs: seed {m.Seed} stream {m.Mismatch!.Stream}: {Toolchain.Truncate(m.Mismatch.Summary, 300)}");
            }
        }
        if (headlines && heads.Count > 0)
        {
            sb.AppendLine("==== culprits (shrunk):");
            foreach (var h in heads) sb.AppendLine("  " + Toolchain.Truncate(h, 400));
        }
        return sb.ToString();
    }
}
