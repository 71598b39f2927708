using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Isomorph.Tests.Differential;

public sealed class ProgramOutcome
{
    public required long Seed { get; init; }
    public required DiffProgram Program { get; init; }
    public required string Elf { get; init; }
    public required RunResult Oracle { get; init; }
    public required RunResult Sut { get; init; }
    public Mismatch? Mismatch { get; init; }
    /// <summary>Set when the oracle itself misbehaved (generator/harness bug, not an emulator mismatch).</summary>
    public string? HarnessError { get; init; }
}

/// <summary>A shrunk mismatch: the instructions that make the difference and a small program showing it.</summary>
public sealed class Reduction
{
    public required string Text { get; init; }
    /// <summary>One-line description (first culprit instruction and first differing value).</summary>
    public required string Headline { get; init; }
    public IReadOnlyList<StreamItem> Culprit { get; init; } = [];
    public string? ReproducerElf { get; init; }
}

/// <summary>Generates programs, runs them on the oracle and the system under test, compares, shrinks.</summary>
public sealed class DifferentialEngine
{
    public DifferentialEngine(IEmulatorRunner oracle, IEmulatorRunner sut, RandomStreamGenerator generator, string workDir)
    {
        Oracle = oracle;
        Sut = sut;
        Generator = generator;
        WorkDir = workDir;
        Directory.CreateDirectory(workDir);
    }

    public IEmulatorRunner Oracle { get; }
    public IEmulatorRunner Sut { get; }
    public RandomStreamGenerator Generator { get; }
    public string WorkDir { get; }
    public TimeSpan OracleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan SutTimeout { get; init; } = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_TIMEOUT"), out var t) && t > 0 ? t : 60);
    /// <summary>Run every stream in VS-mode (the hypervisor extension) instead of M-mode.</summary>
    public bool VirtualSupervisor { get; init; }
    /// <summary>Delete the files of programs that matched.</summary>
    public bool KeepPassingFiles { get; init; }

    public static DifferentialEngine CreateDefault(string? workDir = null, bool virtualSupervisor = false)
    {
        Toolchain.EnsureAvailable();
        workDir ??= Path.Combine(Path.GetTempPath(), "isomorph-diff", $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
        return new DifferentialEngine(new QemuOracle(), Runners.SystemUnderTest(),
            new RandomStreamGenerator(GeneratorOptions.FromEnvironment() with { VirtualSupervisor = virtualSupervisor }), workDir)
        {
            VirtualSupervisor = virtualSupervisor,
        };
    }

    public ProgramOutcome RunProgram(long seed)
    {
        var program = Generator.Generate(seed);
        var dir = Path.Combine(WorkDir, $"seed-{seed}");
        var elf = Toolchain.Build(ProgramWriter.Write(program, virtualSupervisor: VirtualSupervisor), dir, "prog");
        var (o, s, m) = RunBoth(elf);
        string? harness = null;
        if (o.TimedOut || o.ExitCode != 0 || ParsedOutput.Parse(o.Stdout).Dumps.Count != program.Streams.Count * 1)
            harness = $"the oracle did not run the program cleanly ({o.Describe()}); output tail:\n{Tail(o.Stdout, 1500)}\n{Tail(o.Stderr, 500)}";
        if (m == null && harness == null && !KeepPassingFiles)
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        return new ProgramOutcome { Seed = seed, Program = program, Elf = elf, Oracle = o, Sut = s, Mismatch = m, HarnessError = harness };
    }

    public (RunResult Oracle, RunResult Sut, Mismatch? Mismatch) RunBoth(string elf)
    {
        var o = Oracle.Run(elf, OracleTimeout);
        var s = Sut.Run(elf, SutTimeout);
        return (o, s, DumpComparer.Compare(o, s, Oracle.Name, Sut.Name));
    }

    private static string Tail(string s, int n) => s.Length <= n ? s : "..." + s[^n..];

    // ------------------------------------------------------------------ reporting & shrinking

    /// <summary>Full report for a mismatching program: the first differing stream, its source and
    /// disassembly, and the shrunk reproducer.</summary>
    public string Explain(ProgramOutcome outcome, bool shrink, out Reduction? reduction)
    {
        reduction = null;
        var m = outcome.Mismatch!;
        var sb = new StringBuilder();
        sb.AppendLine($"MISMATCH in program seed {outcome.Seed} (reproduce: ISOMORPH_DIFF_SEED={outcome.Seed}), stream {m.Stream}");
        sb.AppendLine($"  generator: {Generator.Options}; files: {Path.GetDirectoryName(outcome.Elf)}");
        sb.AppendLine("  " + m.Summary);
        foreach (var (name, e, a) in m.Differences.Take(40))
            sb.AppendLine($"    {name,-6} {Oracle.Name}={e ?? "(absent)"}  {Sut.Name}={a ?? "(absent)"}");
        if (m.Stream >= 0 && m.Stream < outcome.Program.Streams.Count)
        {
            var stream = outcome.Program.Streams[m.Stream];
            sb.AppendLine($"  stream {m.Stream} source ({stream.Items.Count} items, rvc auto-compression {(stream.AutoCompress ? "on" : "off")}):");
            sb.Append(Listing(stream));
            sb.AppendLine("  disassembly:");
            foreach (var line in Toolchain.Disassemble(outcome.Elf, $"stream{m.Stream}_begin", $"stream{m.Stream}_end").Split('\n'))
                sb.AppendLine("    " + line);
            if (shrink)
            {
                try
                {
                    var red = Shrink(outcome.Program, stream);
                    reduction = red;
                    sb.AppendLine("  ---- shrunk:");
                    sb.Append(red.Text);
                }
                catch (Exception ex)
                {
                    sb.AppendLine($"  (shrinking failed: {ex.Message})");
                }
            }
        }
        return sb.ToString();
    }

    public static string Listing(RandomStream s, IEnumerable<StreamItem>? only = null)
    {
        var sb = new StringBuilder();
        var set = only?.ToHashSet();
        foreach (var it in s.Items)
        {
            if (set != null && !set.Contains(it)) continue;
            string target = it.TargetOrdinal is int t ? (t >= s.Items.Count ? "  -> end" : $"  -> #{t}") : "";
            string trap = it.TrapAt is int ta ? $"  (expected trap at `{it.Lines[ta]}`, cause {it.ExpectedCause})" : "";
            sb.AppendLine($"    #{it.Ordinal,-4} [{it.Group}] {string.Join("; ", it.Lines)}{target}{trap}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Narrows a differing stream down: runs it alone in trace mode (a state dump after every item) to
    /// find the first item after which the states differ, then builds a stream that starts from the
    /// (agreed) state just before that item and contains only the culprit item(s). Falls back to the
    /// shortest differing prefix of the original stream when the one-item stream does not reproduce.
    /// </summary>
    public Reduction Shrink(DiffProgram program, RandomStream stream)
    {
        var dir = Path.Combine(WorkDir, $"shrink-{program.Seed}-{stream.Index}");
        var sb = new StringBuilder();

        // 1. the stream alone
        var alone = Toolchain.Build(ProgramWriter.Write(program.DataTemplate, [stream], trace: false, VirtualSupervisor), dir, "alone");
        var (_, _, mAlone) = RunBoth(alone);
        if (mAlone == null)
        {
            sb.AppendLine("    the stream alone does NOT differ (state leaks between streams in the emulator?); shrinking on the whole program prefix.");
        }

        // 2. trace
        var traceElf = Toolchain.Build(ProgramWriter.Write(program.DataTemplate, [stream], trace: true), dir, "trace");
        var (to, ts, mt) = RunBoth(traceElf);
        if (mt == null)
        {
            sb.AppendLine("    the trace run shows no difference (the checkpoints perturb the difference away).");
            return PrefixFallback(program, stream, dir, sb);
        }
        int culpritFrom = mt.LastEqual?.Ordinal is int lo ? lo + 1 : 0;
        int culpritTo = new[] { mt.Expected?.Ordinal, mt.Actual?.Ordinal }.Where(x => x != null).Select(x => x!.Value).DefaultIfEmpty(culpritFrom).Max();
        if (mt.Expected == null && mt.Actual == null) culpritTo = culpritFrom;
        if (mt.Expected is { Ordinal: null } || mt.Actual is { Ordinal: null })
            culpritTo = stream.Items.Count - 1; // reached the end dump
        var culprit = stream.Items.Where(it => it.Ordinal >= culpritFrom && it.Ordinal <= culpritTo).ToList();
        sb.AppendLine($"    trace: first difference {mt.Summary}");
        sb.AppendLine($"    culprit item(s) #{culpritFrom}..#{culpritTo}:");
        sb.Append(Listing(stream, culprit));

        // 3. one-step reproducer from the agreed state before the culprit
        RandomStream repro;
        if (mt.LastEqual is { } pre)
        {
            var x = new ulong[32];
            var f = new ulong[32];
            for (int i = 1; i < 32; i++) x[i] = pre.Get($"x{i}");
            for (int i = 0; i < 32; i++) f[i] = pre.Get($"f{i}");
            var patches = pre.Values.Where(kv => kv.Key.StartsWith('m'))
                .Select(kv => (Convert.ToInt32(kv.Key[1..], 16), Convert.ToUInt64(kv.Value, 16))).ToList();
            repro = stream.With(items: culprit, x: x, f: f, fcsr: pre.Get("fcsr"), patches: patches, index: 0);
        }
        else
        {
            repro = stream.With(items: culprit, index: 0);
        }
        var reproElf = Toolchain.Build(ProgramWriter.Write(program.DataTemplate, [repro], trace: false, VirtualSupervisor), dir, "repro");
        var (ro, rs, rm) = RunBoth(reproElf);
        if (rm != null)
        {
            sb.AppendLine($"    minimal reproducer ({culprit.Count} item(s) from the pre-state), {rm.Summary}");
            sb.Append(DescribeStep(repro, culprit, rm, ro, rs));
            sb.AppendLine($"    reproducer: {reproElf} (source {Path.ChangeExtension(reproElf, ".S")})");
            sb.AppendLine("    disassembly:");
            foreach (var line in Toolchain.Disassemble(reproElf, "stream0_begin", "stream0_end").Split('\n'))
                sb.AppendLine("      " + line);
            return new Reduction
            {
                Text = sb.ToString(), Culprit = culprit, ReproducerElf = reproElf,
                Headline = Headline(culprit, rm),
            };
        }
        sb.AppendLine("    the culprit item(s) alone from the pre-state do not differ; falling back to prefixes.");
        return PrefixFallback(program, stream, dir, sb, culpritTo);
    }

    private string Headline(IReadOnlyList<StreamItem> culprit, Mismatch m)
    {
        var instr = string.Join("; ", culprit.SelectMany(c => c.Lines));
        var d = m.Differences.FirstOrDefault();
        return d.Name != null ? $"{instr}  =>  {d.Name}: {Oracle.Name}={d.Expected} {Sut.Name}={d.Actual}" : $"{instr}  =>  {m.Summary}";
    }

    private static readonly Regex RegRef = new(@"\b([xf])(\d{1,2})\b", RegexOptions.Compiled);

    /// <summary>Operand values before the step, and both results.</summary>
    private string DescribeStep(RandomStream repro, IReadOnlyList<StreamItem> items, Mismatch m, RunResult o, RunResult s)
    {
        var sb = new StringBuilder();
        var regs = items.SelectMany(i => i.Lines).SelectMany(l => RegRef.Matches(l).Select(x => x.Value)).Distinct().ToList();
        sb.AppendLine("      inputs: " + string.Join(" ", regs.Select(r =>
        {
            int n = int.Parse(r[1..]);
            ulong v = r[0] == 'x' ? (n == 0 ? 0 : n == 2 ? 0 : repro.X[n]) : repro.F[n];
            return r is "x2" or "x8" ? $"{r}=(data pointer)" : $"{r}={ProgramWriter.ToHex16(v)}";
        })) + $" fcsr={ProgramWriter.ToHex16(repro.Fcsr)} (frm={(repro.Fcsr >> 5) & 7})");
        var a = ParsedOutput.Parse(o.Stdout).Dumps.FirstOrDefault();
        var b = ParsedOutput.Parse(s.Stdout).Dumps.FirstOrDefault();
        var names = regs.Concat(m.Differences.Select(d => d.Name)).Append("fcsr").Distinct();
        foreach (var name in names)
        {
            string? va = null, vb = null;
            a?.Values.TryGetValue(name, out va);
            b?.Values.TryGetValue(name, out vb);
            if (va == null && vb == null) continue;
            sb.AppendLine($"      after: {name,-5} {Oracle.Name}={va ?? "(absent)"}  {Sut.Name}={vb ?? "(absent)"}{(va != vb ? "   <-- differs" : "")}");
        }
        foreach (var d in m.Differences.Where(d => d.Name.StartsWith('m')))
            sb.AppendLine($"      after: mem {d.Name} {Oracle.Name}={d.Expected ?? "(template)"} {Sut.Name}={d.Actual ?? "(template)"}");
        return sb.ToString();
    }

    /// <summary>Shortest prefix (of at most <paramref name="upTo"/>+1 items) whose end state differs, by
    /// bisection assuming monotonicity, then verified.</summary>
    private Reduction PrefixFallback(DiffProgram program, RandomStream stream, string dir, StringBuilder sb, int? upTo = null)
    {
        var items = stream.Items;
        bool Differs(int count, out Mismatch? mm, out string elf)
        {
            var s = stream.With(items: items.Take(count).ToList());
            elf = Toolchain.Build(ProgramWriter.Write(program.DataTemplate, [s], false, VirtualSupervisor), dir, $"prefix{count}");
            var (_, _, m) = RunBoth(elf);
            mm = m;
            return m != null;
        }
        int hi = upTo is int u ? Math.Min(items.Count, u + 1) : items.Count;
        if (!Differs(hi, out var mhi, out var elfHi))
        {
            if (hi == items.Count)
            {
                sb.AppendLine("    no prefix of the stream alone differs; the difference needs the preceding streams.");
                return new Reduction { Text = sb.ToString(), Headline = "not reducible (needs preceding streams)" };
            }
            hi = items.Count;
            if (!Differs(hi, out mhi, out elfHi))
            {
                sb.AppendLine("    no prefix of the stream alone differs; the difference needs the preceding streams.");
                return new Reduction { Text = sb.ToString(), Headline = "not reducible (needs preceding streams)" };
            }
        }
        int lo = 0; // prefix lo does not differ (empty prefix assumed equal)
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (Differs(mid, out var mm, out var e)) { hi = mid; mhi = mm; elfHi = e; }
            else lo = mid;
        }
        var prefix = items.Take(hi).ToList();
        sb.AppendLine($"    shortest differing prefix: {hi} item(s); {mhi!.Summary}");
        sb.AppendLine("    last item of the prefix (likely culprit):");
        sb.Append(Listing(stream, [prefix[^1]]));
        sb.AppendLine($"    reproducer: {elfHi} (source {Path.ChangeExtension(elfHi, ".S")})");
        return new Reduction
        {
            Text = sb.ToString(), Culprit = [prefix[^1]], ReproducerElf = elfHi,
            Headline = Headline([prefix[^1]], mhi),
        };
    }
}

/// <summary>Runs many programs in parallel and collects the outcome.</summary>
public sealed class CampaignResult
{
    public List<ProgramOutcome> Mismatches { get; } = new();
    public List<ProgramOutcome> HarnessErrors { get; } = new();
    public List<(long Seed, string Error)> BuildErrors { get; } = new();
    public int Programs { get; set; }
    public int Streams { get; set; }
    public TimeSpan Elapsed { get; set; }
    public TimeSpan OracleTime { get; set; }
    public TimeSpan SutTime { get; set; }
}

public static class Campaign
{
    public static int DefaultParallelism =>
        int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_JOBS"), out var j) && j > 0 ? j : Math.Max(1, Environment.ProcessorCount);

    public static CampaignResult Run(DifferentialEngine engine, IReadOnlyList<long> seeds, int? parallelism = null, TimeSpan? budget = null)
    {
        var result = new CampaignResult();
        var sw = Stopwatch.StartNew();
        long oracleTicks = 0, sutTicks = 0;
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = parallelism ?? DefaultParallelism }, (seed, state) =>
        {
            if (budget is { } b && sw.Elapsed > b) { state.Stop(); return; }
            try
            {
                var o = engine.RunProgram(seed);
                lock (result)
                {
                    result.Programs++;
                    result.Streams += o.Program.Streams.Count;
                    oracleTicks += o.Oracle.Elapsed.Ticks;
                    sutTicks += o.Sut.Elapsed.Ticks;
                    if (o.HarnessError != null) result.HarnessErrors.Add(o);
                    else if (o.Mismatch != null) result.Mismatches.Add(o);
                }
            }
            catch (Exception e)
            {
                lock (result) result.BuildErrors.Add((seed, e.Message));
            }
        });
        result.Elapsed = sw.Elapsed;
        result.OracleTime = TimeSpan.FromTicks(oracleTicks);
        result.SutTime = TimeSpan.FromTicks(sutTicks);
        result.Mismatches.Sort((a, b) => a.Seed.CompareTo(b.Seed));
        result.HarnessErrors.Sort((a, b) => a.Seed.CompareTo(b.Seed));
        return result;
    }
}
