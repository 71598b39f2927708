using System.Diagnostics;

namespace Isomorph.Tests.Support;

/// <summary>Paths in the repository and helpers to run external tools (the oracles and toolchains).</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Isomorph.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Isomorph.slnx) above " + AppContext.BaseDirectory);
    }

    public static string Guests => Path.Combine(Root, "guests");
    public static string GuestBuild => Path.Combine(Guests, "build");

    /// <summary>The CLI assembly built beside the tests (the test project references Isomorph.Cli).</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "isomorph.dll");

    public static bool HasTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, name)));

    public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, bool TimedOut);

    public static ProcessResult Run(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null, string? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
        }
        return new ProcessResult(exited ? p.ExitCode : -1, stdout.Result, stderr.Result, !exited);
    }

    /// <summary>Runs the isomorph CLI (as a separate process, as a user would).</summary>
    public static ProcessResult Isomorph(params string[] args) =>
        Run("dotnet", [CliDll, .. args], TimeSpan.FromSeconds(120));
}
