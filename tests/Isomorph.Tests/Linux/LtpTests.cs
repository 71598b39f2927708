using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// A fast subset of the Linux Test Project's system-call tests (bench/ltp/ci-subset.txt), run by
/// bench/ltp/run.py under `isomorph run` and under Debian's qemu-riscv64 on the same riscv64
/// binaries (guests/linux/ltp.sh cross-builds them; the whole suite is `bench/ltp/run.py`).
/// Isomorph's host process never crashes or hangs, and every test that passes under qemu-user
/// passes under Isomorph.
/// </summary>
public sealed class LtpTests
{
    public static string Subset => Path.Combine(Repository.Root, "bench", "ltp", "ci-subset.txt");

    [LtpFact]
    public void SubsetPassesWhereQemuUserPasses()
    {
        var work = Directory.CreateTempSubdirectory("isomorph-ltp-");
        try
        {
            string tsv = Path.Combine(work.FullName, "results.tsv"), report = Path.Combine(work.FullName, "ltp.md");
            var r = Repository.Run("python3", [Path.Combine(Repository.Root, "bench", "ltp", "run.py"), "--subset", Subset,
                "--timeout", "60", "--jobs", "2", "--tsv", tsv, "--report", report], TimeSpan.FromMinutes(20));
            Assert.False(r.TimedOut, "bench/ltp/run.py did not finish:\n" + r.Stdout);
            Assert.True(r.ExitCode == 0, $"bench/ltp/run.py: status {r.ExitCode} (1: a test crashed or hung isomorph)\n{r.Stdout}\n{r.Stderr}");
            var rows = File.ReadAllLines(tsv).Select(l => l.Split('\t')).ToList();
            Assert.Equal(File.ReadAllLines(Subset).Count(l => l.Split('#')[0].Trim().Length > 0), rows.Count);
            var worse = rows.Where(c => c[4] == "pass" && c[2] != "pass").Select(c => $"{c[0]} ({c[2]}, status {c[3]})").ToList();
            Assert.True(worse.Count == 0, "passing under qemu-riscv64, not under isomorph: " + string.Join(", ", worse) + "\n" + r.Stdout);
            Assert.Contains(rows, c => c[2] == "pass");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}

/// <summary>A test that needs the Linux Test Project's source: skipped, visibly, where guests/linux/ltp.sh finds none (it is not packaged by Debian).</summary>
public sealed class LtpFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        var r = Repository.Run(Path.Combine(Repository.Guests, "linux", "ltp.sh"), ["--check-source"], TimeSpan.FromMinutes(1));
        return r.ExitCode == 3 ? r.Stderr.Trim() : null;
    });

    public LtpFactAttribute()
    {
        if (Unavailable.Value is { } why) Skip = why;
    }
}
