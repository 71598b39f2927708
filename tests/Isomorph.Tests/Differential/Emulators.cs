using System.Diagnostics;
using System.Text;

namespace Isomorph.Tests.Differential;

/// <summary>Outcome of running one ELF.</summary>
public sealed record RunResult(string Stdout, string Stderr, int ExitCode, bool TimedOut, TimeSpan Elapsed)
{
    public string Describe() => TimedOut ? $"timed out after {Elapsed.TotalSeconds:F1}s" : $"exit code {ExitCode}";
}

/// <summary>Something that runs a bare-metal RV64 ELF with an HTIF console (QEMU, Isomorph...).</summary>
public interface IEmulatorRunner
{
    string Name { get; }
    RunResult Run(string elfPath, TimeSpan timeout);
}

public static class ProcessUtil
{
    public static RunResult Run(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.Append(e.Data).Append('\n'); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.Append(e.Data).Append('\n'); };
        try
        {
            p.Start();
        }
        catch (Exception e)
        {
            return new RunResult("", $"cannot start {file}: {e.Message}", -1, false, sw.Elapsed);
        }
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool exited = p.WaitForExit((int)timeout.TotalMilliseconds);
        if (!exited)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
        }
        else
        {
            p.WaitForExit(); // drain async output
        }
        string o, e2;
        lock (stdout) o = stdout.ToString();
        lock (stderr) e2 = stderr.ToString();
        return new RunResult(o, e2, exited ? p.ExitCode : -1, !exited, sw.Elapsed);
    }

    /// <summary>Full path of an executable found on PATH, or null.</summary>
    public static string? Which(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var full = Path.Combine(dir, name);
            if (File.Exists(full)) return full;
        }
        return null;
    }
}

/// <summary>The oracle: Debian's QEMU 7.2, <c>-M spike -bios none -kernel FILE</c>.</summary>
public sealed class QemuOracle : IEmulatorRunner
{
    public const string Executable = "qemu-system-riscv64";
    private readonly string[] _extra;

    /// <param name="extraArgs">Extra QEMU arguments (e.g. "-cpu", "rv64,priv_spec=v1.10.0" to get a
    /// deliberately different "system under test" for checking the harness).</param>
    public QemuOracle(params string[] extraArgs) => _extra = extraArgs;

    public string Name => _extra.Length == 0 ? "QEMU" : "QEMU(" + string.Join(" ", _extra) + ")";

    /// <summary>
    /// Runs QEMU with its console going to a file: QEMU's HTIF writes the console without blocking,
    /// so through a busy pipe it can drop characters; a regular file never refuses a write.
    /// </summary>
    public RunResult Run(string elfPath, TimeSpan timeout)
    {
        string console = elfPath + $".qemu-console-{Environment.CurrentManagedThreadId}-{Guid.NewGuid():N}.txt";
        try
        {
            var r = ProcessUtil.Run(Executable, ["-M", "spike", "-display", "none", "-bios", "none", "-kernel", elfPath,
                "-monitor", "none", "-serial", "file:" + console, .. _extra], timeout);
            string text = File.Exists(console) ? File.ReadAllText(console) : "";
            return r with { Stdout = text + r.Stdout };
        }
        finally
        {
            File.Delete(console);
        }
    }

    public static string? Version()
    {
        var r = ProcessUtil.Run(Executable, ["--version"], TimeSpan.FromSeconds(20));
        return r.ExitCode == 0 ? r.Stdout.Split('\n')[0].Trim() : null;
    }
}

/// <summary>
/// The system under test through its command line: <c>&lt;repo&gt;/isomorph bare FILE.elf</c>
/// (HTIF console on stdout, exit status = tohost exit code). Behind <see cref="IEmulatorRunner"/> so an
/// in-process runner can replace it.
/// </summary>
public sealed class IsomorphCliRunner : IEmulatorRunner
{
    public IsomorphCliRunner(string? command = null) => Command = command ?? DefaultCommand();
    public string Command { get; }
    public string Name => "Isomorph";

    private readonly object _warmLock = new();
    private string? _dll;
    private bool _warmed;

    /// <summary>The first run goes through the script alone (it builds the CLI when the sources are
    /// newer); after that the built <c>artifacts/cli/isomorph.dll</c> is run with <c>dotnet</c> directly,
    /// so parallel runs never start concurrent rebuilds. ISOMORPH_DIFF_DIRECT=0 always uses the script.</summary>
    public RunResult Run(string elfPath, TimeSpan timeout)
    {
        lock (_warmLock)
        {
            if (!_warmed)
            {
                var first = ProcessUtil.Run(Command, ["bare", elfPath], timeout + TimeSpan.FromMinutes(5), Path.GetDirectoryName(Command));
                _warmed = true;
                var dll = Path.Combine(Path.GetDirectoryName(Command)!, "artifacts", "cli", "isomorph.dll");
                if (Environment.GetEnvironmentVariable("ISOMORPH_DIFF_DIRECT") != "0" && File.Exists(dll)) _dll = dll;
                return first;
            }
        }
        return _dll != null
            ? ProcessUtil.Run("dotnet", [_dll, "bare", elfPath], timeout, Path.GetDirectoryName(Command))
            : ProcessUtil.Run(Command, ["bare", elfPath], timeout, Path.GetDirectoryName(Command));
    }

    /// <summary>ISOMORPH_DIFF_CLI if set, else the <c>isomorph</c> script at the repository root.</summary>
    public static string DefaultCommand()
    {
        var env = Environment.GetEnvironmentVariable("ISOMORPH_DIFF_CLI");
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
        return Path.Combine(RepoRoot(), "isomorph");
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Isomorph.slnx"))) return d.FullName;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Isomorph.slnx"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (Isomorph.slnx) above " + AppContext.BaseDirectory);
    }
}

/// <summary>Picks the system under test: ISOMORPH_DIFF_SUT=qemu compares QEMU with itself (a self-check of
/// the harness); anything else (default) is the Isomorph CLI.</summary>
public static class Runners
{
    /// <summary>ISOMORPH_DIFF_SUT: unset = Isomorph CLI; "qemu" = QEMU itself (harness self-check: must
    /// always match); "qemu:ARGS" = QEMU with extra space-separated arguments, e.g.
    /// "qemu:-cpu rv64,priv_spec=v1.10.0" (old fmin/fmax NaN rules) to see a mismatch being shrunk.</summary>
    public static IEmulatorRunner SystemUnderTest()
    {
        var sut = Environment.GetEnvironmentVariable("ISOMORPH_DIFF_SUT");
        if (sut != null && sut.StartsWith("qemu", StringComparison.OrdinalIgnoreCase))
        {
            var extra = sut.Length > 5 ? sut[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            return new QemuOracle(extra);
        }
        return new IsomorphCliRunner();
    }
}

/// <summary>A "system under test" for checking the harness: rebuilds the program with a textual
/// mutation of its source (kept next to the ELF) and runs that on QEMU.</summary>
public sealed class MutatedProgramRunner : IEmulatorRunner
{
    private readonly string _from, _to;
    private readonly QemuOracle _qemu = new();
    public MutatedProgramRunner(string from, string to) { _from = from; _to = to; }
    public string Name => $"QEMU[{_from}→{_to}]";

    public RunResult Run(string elfPath, TimeSpan timeout)
    {
        var src = Path.ChangeExtension(elfPath, ".S");
        var mutated = File.ReadAllText(src).Replace("  " + _from + " ", "  " + _to + " ", StringComparison.Ordinal);
        var dir = Path.GetDirectoryName(elfPath)!;
        var elf = Toolchain.Build(mutated, dir, Path.GetFileNameWithoutExtension(elfPath) + "-mutant");
        return _qemu.Run(elf, timeout);
    }
}
