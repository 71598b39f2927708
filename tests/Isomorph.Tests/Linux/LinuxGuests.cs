using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// The riscv64 Linux test programs (guests/linux/user), built once per run static and dynamic with
/// Debian's riscv64-linux-gnu-gcc, and the oracle that runs them: Debian's qemu-riscv64.
/// </summary>
public static class LinuxGuests
{
    public const string Sysroot = "/usr/riscv64-linux-gnu";
    public static readonly string[] Linkages = ["static", "dynamic"];

    private static readonly Lazy<string> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    private static string Build()
    {
        if (!Repository.HasTool("riscv64-linux-gnu-gcc"))
            throw new InvalidOperationException("riscv64-linux-gnu-gcc is missing: run tests/run.sh, which installs gcc-riscv64-linux-gnu");
        var r = Repository.Run("make", ["-C", Path.Combine(Repository.Guests, "linux", "user"), "-j2", "all"], TimeSpan.FromMinutes(5));
        if (r.ExitCode != 0) throw new InvalidOperationException($"building the Linux guests failed:\n{r.Stdout}\n{r.Stderr}");
        return Path.Combine(Repository.GuestBuild, "linux-user");
    }

    /// <summary>The path of a built program, e.g. Program("hello", "static").</summary>
    public static string Program(string name, string linkage) => Path.Combine(Built.Value, $"{name}-{linkage}");

    /// <summary>Runs a program under <c>isomorph run</c> (a separate process, as a user would).</summary>
    public static Repository.ProcessResult Isomorph(string[] options, string program, params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", .. options, program, .. args], TimeSpan.FromSeconds(120));

    /// <summary>Runs a program under <c>isomorph run</c> with <paramref name="environment"/> added to the CLI's environment.</summary>
    public static Repository.ProcessResult Isomorph(IReadOnlyDictionary<string, string> environment, string program, params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", program, .. args], TimeSpan.FromSeconds(120), environment: environment);

    /// <summary>
    /// Runs <paramref name="program"/> under qemu-riscv64, checks that it succeeded and printed
    /// <paramref name="oracleMustPrint"/>, then under <c>isomorph run</c> with
    /// <paramref name="engine"/>, and, given <paramref name="threshold"/>, with the translator
    /// compiling every block on the hart's thread once it has run that many times (so that what
    /// runs translated does not depend on timing): the same output, nothing on stderr, status 0.
    /// </summary>
    public static void RunsAsUnderQemu(string program, string oracleMustPrint, string engine, string? threshold)
    {
        var expected = Qemu([], program);
        Assert.Equal(0, expected.ExitCode);
        Assert.Contains(oracleMustPrint, expected.Stdout);
        var environment = new Dictionary<string, string> { ["ISOMORPH_ENGINE"] = engine };
        if (threshold is not null)
        {
            environment["ISOMORPH_JIT_SYNC"] = "1";
            environment["ISOMORPH_JIT_THRESHOLD"] = threshold;
        }
        var r = Isomorph(environment, program);
        Assert.False(r.TimedOut, "isomorph timed out");
        Assert.Equal("", r.Stderr);
        Assert.Equal(expected.Stdout, r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    /// <summary>Runs a program under the oracle, <c>qemu-riscv64 -L /usr/riscv64-linux-gnu</c>.</summary>
    public static Repository.ProcessResult Qemu(string[] options, string program, params string[] args)
    {
        if (!Repository.HasTool("qemu-riscv64"))
            throw new InvalidOperationException("qemu-riscv64 is missing: run tests/run.sh, which installs qemu-user");
        return Repository.Run("qemu-riscv64", ["-L", Sysroot, .. options, program, .. args], TimeSpan.FromSeconds(120));
    }
}
