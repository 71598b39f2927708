using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Dart Sass's riscv64 build from npm (the Dart VM, dynamically linked, running sass.snapshot): the
/// VM reads its timers from a timerfd through epoll and aborts at start-up without one. The host's
/// build of the same version is the oracle: guests/linux/dart-sass.sh fetches both with `npm pack`.
/// </summary>
public sealed class DartSassTests
{
    private const string Version = "1.105.0";
    private static readonly Lazy<(string Guest, string Host)> Fetched = new(Fetch, LazyThreadSafetyMode.ExecutionAndPublication);

    private static (string, string) Fetch()
    {
        var script = Path.Combine(Repository.Guests, "linux", "dart-sass.sh");
        var r = Repository.Run(script, [Version], TimeSpan.FromMinutes(5));
        if (r.ExitCode != 0) throw new InvalidOperationException($"guests/linux/dart-sass.sh failed (status {r.ExitCode}):\n{r.Stderr}");
        var lines = r.Stdout.TrimEnd('\n').Split('\n');
        return (lines[^2], lines[^1]);
    }

    private static string Project => Path.Combine(Repository.Guests, "linux", "dart-sass-project");

    private static Repository.ProcessResult Guest(params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", Path.Combine(Fetched.Value.Guest, "src", "dart"),
            Path.Combine(Fetched.Value.Guest, "src", "sass.snapshot"), .. args], TimeSpan.FromSeconds(180), Project);

    private static Repository.ProcessResult Host(params string[] args) =>
        Repository.Run(Path.Combine(Fetched.Value.Host, "src", "dart"), [Path.Combine(Fetched.Value.Host, "src", "sass.snapshot"), .. args],
            TimeSpan.FromSeconds(60), Project);

    /// <summary>The VM's warnings other than prctl's (not implemented yet; Dart names its mappings and threads with it and carries on).</summary>
    private static string[] Warnings(string stderr) =>
        [.. stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains("(prctl)"))];

    [Fact]
    public void VersionIsThePackagesVersion()
    {
        var r = Guest("--version");
        Assert.Empty(Warnings(r.Stderr));
        Assert.Equal(Version + "\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void CompiledCssIsTheHostBuilds()
    {
        string[] args = ["--no-source-map", "--style=expanded", "style.scss"];
        var ours = Guest(args);
        var theirs = Host(args);
        Assert.False(ours.TimedOut, "isomorph timed out");
        Assert.Equal(0, theirs.ExitCode);
        Assert.Contains(".col-3 {\n  width: 100%;\n}", theirs.Stdout);
        Assert.Equal(theirs.Stdout, ours.Stdout);
        Assert.Equal("", theirs.Stderr);
        Assert.Empty(Warnings(ours.Stderr));
        Assert.Equal(0, ours.ExitCode);
    }
}
