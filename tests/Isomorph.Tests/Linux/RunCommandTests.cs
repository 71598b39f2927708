using System.Text.RegularExpressions;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// <c>isomorph run</c> on the project's riscv64 Linux programs, static and dynamic: the output and
/// exit status must match Debian's qemu-riscv64 (the oracle) and the values known in advance.
/// </summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-linux");

    public void Dispose() => _temp.Delete(recursive: true);

    public static TheoryData<string, string> ProgramsAndLinkages()
    {
        var data = new TheoryData<string, string>();
        foreach (var program in new[] { "hello", "files", "memory", "timeenv", "signals", "sysmisc", "sockets", "sysv" })
            foreach (var linkage in LinuxGuests.Linkages)
                data.Add(program, linkage);
        return data;
    }

    private string[] ArgumentsFor(string program, string runner) => program switch
    {
        "hello" => ["one", "two words", ""],
        "files" => [Path.Combine(_temp.FullName, $"files-{runner}")],
        "sysmisc" => [Path.Combine(_temp.FullName, $"sysmisc-{runner}")],
        "sockets" => [_temp.CreateSubdirectory($"sockets-{runner}").FullName],
        "timeenv" => ["alpha", "-beta", "--gamma=1"],
        "memory" => ["locked"],
        _ => [],
    };

    [Theory]
    [MemberData(nameof(ProgramsAndLinkages))]
    public void MatchesQemu(string program, string linkage)
    {
        var path = LinuxGuests.Program(program, linkage);
        var ours = LinuxGuests.Isomorph(["-E", "ISOMORPH_GREETING=hi there"], path, ArgumentsFor(program, "isomorph"));
        var oracle = LinuxGuests.Qemu(["-E", "ISOMORPH_GREETING=hi there"], path, ArgumentsFor(program, "qemu"));
        Assert.False(ours.TimedOut, "isomorph timed out");
        Assert.Equal(0, oracle.ExitCode);
        Assert.Equal(oracle.Stdout, ours.Stdout);
        Assert.Equal(oracle.ExitCode, ours.ExitCode);
        Assert.Equal("", ours.Stderr);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void HelloPrintsItsArgumentsAndExitStatus(string linkage)
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("hello", linkage), "x", "-l");
        Assert.Equal("hello from riscv64 Linux, argc=3\nargv[1]=x\nargv[2]=-l\n", r.Stdout);
        Assert.Equal(42, r.ExitCode);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void TimeAndEnvironmentReportKnownValues(string linkage)
    {
        var r = LinuxGuests.Isomorph(["--env", "ISOMORPH_GREETING=hi"], LinuxGuests.Program("timeenv", linkage), "a b");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("machine riscv64, system Linux\n", r.Stdout);
        Assert.Contains("AT_PAGESZ 4096\n", r.Stdout);
        Assert.Contains("AT_HWCAP 0x112d\n", r.Stdout); // I, M, A, F, D, C
        Assert.Contains("AT_CLKTCK 100\n", r.Stdout);
        Assert.Contains($"exe name timeenv-{linkage}\n", r.Stdout);
        Assert.Contains("arg 1: [a b]\n", r.Stdout);
        Assert.Contains("ISOMORPH_GREETING=hi\n", r.Stdout);
        Assert.EndsWith("timeenv: ok\n", r.Stdout);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void ABadPointerIsSigsegvForTheGuestNotACrash(string linkage)
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("segv", linkage));
        Assert.Equal("about to fault\n", r.Stdout);
        Assert.Equal(128 + 11, r.ExitCode);
        Assert.Contains("SIGSEGV", r.Stderr);
        Assert.Contains("0x1000", r.Stderr);
    }

    /// <summary>`isomorph run --stats --engine jit` of protect (static), which must exit 0, with <paramref name="environment"/>.</summary>
    private static Repository.ProcessResult RunProtectWithStats(Dictionary<string, string> environment)
    {
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", "--stats", "--engine", "jit", LinuxGuests.Program("protect", "static")],
            TimeSpan.FromSeconds(120), environment: environment);
        Assert.Equal(0, r.ExitCode);
        return r;
    }

    /// <summary>A figure of --stats: digits with thousands separators.</summary>
    private static long N(Group g) => long.Parse(g.Value.Replace(",", ""));

    /// <summary>
    /// --stats gives the translator's figures: regions, compile time, instructions run each way and
    /// the jump cache's hit rate, consistent with each other (every block translated from its first
    /// execution, so that the run chains regions whatever the timing).
    /// </summary>
    [Fact]
    public void StatsGiveTheTranslatorsFiguresAndJumpCacheHitRate()
    {
        var r = RunProtectWithStats(new() { ["ISOMORPH_JIT_SYNC"] = "1", ["ISOMORPH_JIT_THRESHOLD"] = "0" });
        var m = Regex.Match(r.Stderr,
            @"jit: ([\d,]+) regions translated .* ([\d,]+) region runs, .*jump cache ([\d.]+)% hits \(([\d,]+) of ([\d,]+) region exits looked up\)");
        Assert.True(m.Success, r.Stderr);
        long regions = N(m.Groups[1]), runs = N(m.Groups[2]), hits = N(m.Groups[4]), lookups = N(m.Groups[5]);
        Assert.True(regions > 0 && hits > 0 && hits <= lookups && hits < runs, r.Stderr);
        Assert.InRange(double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) - 100.0 * hits / lookups, -0.051, 0.051);
        // Every region run ends at one exit, counted by its kind.
        var exits = Regex.Match(r.Stderr, @"region exits by kind: (.*)$", RegexOptions.Multiline);
        Assert.True(exits.Success, r.Stderr);
        var kinds = Regex.Matches(exits.Groups[1].Value, @"(\w+) ([\d,]+)").ToDictionary(k => k.Groups[1].Value, k => N(k.Groups[2]));
        Assert.Equal(runs, kinds.Values.Sum());
        Assert.True(kinds.ContainsKey("Return") && kinds.ContainsKey("Semantics"), r.Stderr); // (system calls leave through their semantics)
    }

    /// <summary>
    /// --stats says why instructions ran interpreted: at block starts still lukewarm (run fewer
    /// times than the threshold), or while their start's region was queued for the translator
    /// (never when regions are compiled at once, on the hart's thread), or handed over by regions;
    /// the parts add up to no more than the whole.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StatsSayWhyInstructionsRanInterpreted(bool synchronous)
    {
        var environment = new Dictionary<string, string> { ["ISOMORPH_JIT_THRESHOLD"] = "10" };
        if (synchronous) environment["ISOMORPH_JIT_SYNC"] = "1";
        var r = RunProtectWithStats(environment);
        var m = Regex.Match(r.Stderr,
            @"([\d,]+) interpreted \(([\d,]+) of them at starts run fewer than 10 times, ([\d,]+) while their translation was queued, ([\d,]+) handed over by regions\)");
        Assert.True(m.Success, r.Stderr);
        long interpreted = N(m.Groups[1]), lukewarm = N(m.Groups[2]), queued = N(m.Groups[3]), handed = N(m.Groups[4]);
        Assert.True(lukewarm > 0 && lukewarm + queued + handed <= interpreted, r.Stderr);
        // In the background, the block after a start's request runs interpreted while it compiles.
        if (synchronous) Assert.Equal(0, queued);
        else Assert.True(queued > 0, r.Stderr);
    }

    [Fact]
    public void RunsAStaticPieAtTheDynamicBase()
    {
        var path = LinuxGuests.Program("pie", "static-pie");
        var r = LinuxGuests.Isomorph(["--strace"], path, "a", "b");
        Assert.Equal("static-pie ok\n", r.Stdout);
        Assert.Equal(9, r.ExitCode); // argc + 6
        Assert.Contains(" write(1,0x2aaaaaa", r.Stderr); // loaded at two thirds of the Sv39 user space
        var oracle = LinuxGuests.Qemu([], path, "a", "b");
        Assert.Equal(oracle.Stdout, r.Stdout);
        Assert.Equal(oracle.ExitCode, r.ExitCode);
    }

    [Fact]
    public void StracePrintsEachSystemCall()
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("hello", "static"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello from riscv64 Linux, argc=1\n", r.Stdout);
        Assert.Contains(" brk(NULL) = 0x", r.Stderr);
        Assert.Contains(" write(1,0x", r.Stderr);
        Assert.Contains(",33) = 33\n", r.Stderr);
        Assert.Contains(" exit_group(0)\n", r.Stderr);
    }

    [Fact]
    public void ProcSelfMapsListsTheGuestsOwnMappings()
    {
        var r = LinuxGuests.Isomorph([], BusyBox.Binary, "cat", "/proc/self/maps");
        Assert.Equal(0, r.ExitCode);
        // The guest's layout (Sv39: the stack ends at 2^38), not the host process's.
        Assert.Matches($@"(?m)^00010000-[0-9a-f]+ r-xp 00000000 00:00 0 +{System.Text.RegularExpressions.Regex.Escape(BusyBox.Binary)}$", r.Stdout);
        Assert.Matches(@"(?m)^3fff800000-4000000000 rw-p 00000000 00:00 0 +\[stack\]$", r.Stdout);
        Assert.DoesNotContain("dotnet", r.Stdout);
    }

    private static void AssertBadInput(Repository.ProcessResult r, params string[] fragments)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + r.Stderr);
        foreach (var f in fragments) Assert.Contains(f, lines[0]);
    }

    [Fact]
    public void RejectsAHostProgram() =>
        AssertBadInput(LinuxGuests.Isomorph([], "/bin/ls"), "not a RISC-V program: ELF machine x86-64");

    [Fact]
    public void RejectsAFileThatIsNotAnElf()
    {
        var path = Path.Combine(_temp.FullName, "script.txt");
        File.WriteAllText(path, "echo hello\n");
        AssertBadInput(LinuxGuests.Isomorph([], path), "not an ELF file");
    }

    [Fact]
    public void RejectsAMissingProgram() =>
        AssertBadInput(LinuxGuests.Isomorph([], Path.Combine(_temp.FullName, "absent")), "no such file");

    [Fact]
    public void NamesThePathsTriedForAMissingInterpreter()
    {
        var empty = _temp.CreateSubdirectory("empty-sysroot").FullName;
        AssertBadInput(LinuxGuests.Isomorph(["--sysroot", empty], LinuxGuests.Program("hello", "dynamic")),
            "program interpreter /lib/ld-linux-riscv64-lp64d.so.1 not found",
            $"{empty}/lib/ld-linux-riscv64-lp64d.so.1", "--sysroot");
    }
}
