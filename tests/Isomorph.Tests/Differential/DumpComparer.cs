using System.Globalization;
using System.Text;

namespace Isomorph.Tests.Differential;

/// <summary>One state dump: the lines labelled <c>S&lt;k&gt;</c> (end of stream k) or
/// <c>S&lt;k&gt;.&lt;j&gt;</c> (trace checkpoint after item j), merged.</summary>
public sealed class Dump
{
    public required string Label { get; init; }
    public int Stream { get; init; }
    /// <summary>Item ordinal for a trace checkpoint; null for the end-of-stream dump.</summary>
    public int? Ordinal { get; init; }
    public Dictionary<string, string> Values { get; } = new();
    public List<string> Order { get; } = new();

    public ulong Get(string name) =>
        Values.TryGetValue(name, out var v) ? ulong.Parse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0;
}

public sealed class ParsedOutput
{
    public List<Dump> Dumps { get; } = new();
    /// <summary>Lines that are not dumps (TRAP reports, emulator messages).</summary>
    public List<string> Other { get; } = new();

    public static ParsedOutput Parse(string stdout)
    {
        var p = new ParsedOutput();
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length >= 2 && TryLabel(tokens[0], out var k, out var ord) && tokens.Skip(1).All(t => t.Contains('=')))
            {
                var d = p.Dumps.Count > 0 && p.Dumps[^1].Label == tokens[0] && !p.Dumps[^1].Values.ContainsKey(tokens[1].Split('=')[0])
                    ? p.Dumps[^1]
                    : null;
                if (d == null) { d = new Dump { Label = tokens[0], Stream = k, Ordinal = ord }; p.Dumps.Add(d); }
                foreach (var t in tokens.Skip(1))
                {
                    int eq = t.IndexOf('=');
                    var name = t[..eq];
                    if (d.Values.TryAdd(name, t[(eq + 1)..])) d.Order.Add(name);
                }
            }
            else
            {
                p.Other.Add(line);
            }
        }
        return p;
    }

    private static bool TryLabel(string s, out int stream, out int? ordinal)
    {
        stream = 0; ordinal = null;
        if (s.Length < 2 || s[0] != 'S') return false;
        var parts = s[1..].Split('.');
        if (!int.TryParse(parts[0], out stream)) return false;
        if (parts.Length == 2 && int.TryParse(parts[1], out var o)) { ordinal = o; return true; }
        return parts.Length == 1;
    }
}

/// <summary>The first difference between the oracle's and the system under test's outputs.</summary>
public sealed class Mismatch
{
    /// <summary>Index into the dump lists of the first differing dump (= number of equal dumps before it).</summary>
    public required int DumpIndex { get; init; }
    public required int Stream { get; init; }
    /// <summary>The oracle's dump at DumpIndex (null when the oracle produced fewer dumps).</summary>
    public Dump? Expected { get; init; }
    public Dump? Actual { get; init; }
    /// <summary>The last dump both agree on (null if none).</summary>
    public Dump? LastEqual { get; init; }
    public List<(string Name, string? Expected, string? Actual)> Differences { get; init; } = new();
    public required string Summary { get; init; }
}

public static class DumpComparer
{
    public static Mismatch? Compare(RunResult oracle, RunResult sut, string oracleName = "QEMU", string sutName = "Isomorph")
    {
        if (!oracle.TimedOut && !sut.TimedOut && oracle.ExitCode == sut.ExitCode && oracle.Stdout == sut.Stdout)
            return null;
        var a = ParsedOutput.Parse(oracle.Stdout);
        var b = ParsedOutput.Parse(sut.Stdout);
        int n = Math.Min(a.Dumps.Count, b.Dumps.Count);
        for (int i = 0; i < n; i++)
        {
            var da = a.Dumps[i];
            var db = b.Dumps[i];
            var last = i > 0 ? a.Dumps[i - 1] : null;
            if (da.Label != db.Label)
            {
                return new Mismatch
                {
                    DumpIndex = i, Stream = Math.Min(da.Stream, db.Stream), Expected = da, Actual = db, LastEqual = last,
                    Summary = $"control flow differs: after {(last?.Label ?? "the start")} {oracleName} dumped {da.Label} but {sutName} dumped {db.Label}",
                };
            }
            var diffs = new List<(string, string?, string?)>();
            foreach (var name in da.Order.Concat(db.Order.Where(x => !da.Values.ContainsKey(x))))
            {
                da.Values.TryGetValue(name, out var va);
                db.Values.TryGetValue(name, out var vb);
                if (va != vb) diffs.Add((name, va, vb));
            }
            if (diffs.Count > 0)
            {
                var sb = new StringBuilder($"state differs at dump {da.Label}: ");
                sb.Append(string.Join(", ", diffs.Take(6).Select(d => $"{d.Item1} {oracleName}={d.Item2 ?? "(absent)"} {sutName}={d.Item3 ?? "(absent)"}")));
                if (diffs.Count > 6) sb.Append($" (+{diffs.Count - 6} more)");
                return new Mismatch
                {
                    DumpIndex = i, Stream = da.Stream, Expected = da, Actual = db, LastEqual = last, Differences = diffs,
                    Summary = sb.ToString(),
                };
            }
        }
        var lastEqual = n > 0 ? a.Dumps[n - 1] : null;
        string tail(ParsedOutput p, RunResult r) =>
            $"{r.Describe()}; other output: {(p.Other.Count == 0 ? "(none)" : Toolchain.Truncate(string.Join(" | ", p.Other), 600))}" +
            (string.IsNullOrWhiteSpace(r.Stderr) ? "" : $"; stderr: {Toolchain.Truncate(r.Stderr.Trim(), 600)}");
        if (a.Dumps.Count != b.Dumps.Count)
        {
            bool sutShort = b.Dumps.Count < a.Dumps.Count;
            var next = sutShort ? a.Dumps[n] : b.Dumps[n];
            return new Mismatch
            {
                DumpIndex = n, Stream = next.Stream, Expected = sutShort ? next : null, Actual = sutShort ? null : next, LastEqual = lastEqual,
                Summary = $"{(sutShort ? sutName : oracleName)} stopped after {(lastEqual?.Label ?? "no dump")} ({n} equal dumps) where " +
                          $"{(sutShort ? oracleName : sutName)} went on to {next.Label}. {oracleName}: {tail(a, oracle)}. {sutName}: {tail(b, sut)}",
            };
        }
        return new Mismatch
        {
            DumpIndex = n, Stream = lastEqual?.Stream ?? 0, LastEqual = lastEqual,
            Summary = $"all {n} dumps equal, but the runs differ. {oracleName}: {tail(a, oracle)}. {sutName}: {tail(b, sut)}",
        };
    }
}
