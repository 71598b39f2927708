using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// BusyBox under <c>isomorph run</c>: shell scripts whose pipelines fork and exec applets, checked
/// against values known in advance (the hashes are what coreutils' sha256sum prints for the same
/// bytes); and single applets and builtin-only pipelines checked against the same binary under
/// qemu-riscv64, which cannot exec riscv64 programs itself without binfmt_misc.
/// </summary>
public sealed class BusyBoxTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-busybox");

    public void Dispose() => _temp.Delete(recursive: true);

    private Repository.ProcessResult Isomorph(string work, params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", "-E", $"PATH={BusyBox.Applets}", "-E", "LC_ALL=C", BusyBox.Binary, .. args],
            TimeSpan.FromSeconds(120), work);

    private static Repository.ProcessResult Qemu(string work, params string[] args) =>
        Repository.Run("qemu-riscv64", ["-E", "LC_ALL=C", BusyBox.Binary, .. args], TimeSpan.FromSeconds(120), work);

    private string Work(string name) => _temp.CreateSubdirectory(name).FullName;

    private const string Script = """
        set -e
        printf 'pear\napple\nfig\napple\nbanana\n' > fruit.txt
        sort fruit.txt | uniq -c | sort -rn | head -2
        cat fruit.txt | sed -e 's/a/A/g' -n -e '/A/p' | tr 'A-Z' 'a-z' | wc -l
        awk '{ n += length($0) } END { print "chars", n }' fruit.txt
        mkdir -p tree/sub/deeper && echo one > tree/a && echo two > tree/sub/b && echo three > tree/sub/deeper/c
        find tree -type f | sort
        tar -cf t.tar tree && mkdir out && tar -xf t.tar -C out && diff -r tree out/tree && echo tar round trip ok
        seq 1 2000 > nums && gzip -c nums > nums.gz && gunzip -c nums.gz | sha256sum
        sha256sum fruit.txt
        echo abc | sha256sum
        x=$(echo sub shell | wc -w); echo "words: $x"
        for i in 1 2 3; do echo "loop $i"; done | grep -v 2
        ( exit 3 ) || echo "subshell status $?"
        false | true && echo "pipeline status $?"
        sh -c 'exit 4' || echo "child shell status $?"
        echo done
        """;

    private const string ScriptOutput = """
              2 apple
              1 pear
        4
        chars 23
        tree/a
        tree/sub/b
        tree/sub/deeper/c
        tar round trip ok
        6251e5743b6fd6a7d606130bdf7c15077ce85ebd3a0fdee284d15a46df199e38  -
        567bf9b77bf8047b9a667a1d489e871501d120462a6be03280629d7e25df3513  fruit.txt
        edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb  -
        words: 2
        loop 1
        loop 3
        subshell status 3
        pipeline status 0
        child shell status 4
        done

        """;

    [Fact]
    public void ShellScriptWithPipelinesGivesTheKnownOutput()
    {
        var r = Isomorph(Work("script"), "sh", "-c", Script);
        Assert.False(r.TimedOut, "isomorph timed out");
        Assert.Equal("", r.Stderr);
        Assert.Equal(ScriptOutput, r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    /// <summary>
    /// /dev/fd/N, /proc/self/fd/N, /proc/PID/fd/N and /dev/stdin name the guest's descriptors, not
    /// the host process's of the same number (LTP open14 links an O_TMPFILE through /proc/self/fd/N).
    /// </summary>
    [Fact]
    public void DescriptorPathsNameTheGuestsDescriptors()
    {
        string work = Work("fdpaths");
        File.WriteAllText(Path.Combine(work, "five"), "through descriptor 5\n");
        var r = Isomorph(work, "sh", "-c",
            "exec 5<five; cat /dev/fd/5; cat /proc/self/fd/5; cat /proc/$$/fd/5; echo piped | cat /dev/stdin; cat /dev/fd/9 2>&1 | sed 's/.*: //'");
        Assert.Equal(("through descriptor 5\nthrough descriptor 5\nthrough descriptor 5\npiped\nNo such file or directory\n", ""), (r.Stdout, r.Stderr));
    }

    [Fact]
    public void ExitStatusOfTheShellIsIsomorphs()
    {
        Assert.Equal(7, Isomorph(Work("status"), "sh", "-c", "true | exit 7").ExitCode);
        Assert.Equal(128 + 15, Isomorph(Work("signal"), "sh", "-c", "kill -TERM $$").ExitCode);
    }

    /// <summary>
    /// Signals the host process was started with ignored stay ignored in the guest, as exec leaves
    /// them: the guest's SigIgn is the host program's under the same <c>env --ignore-signal</c>
    /// (qemu-user's /proc/self/status shows its own host process's, not the guest's: not an oracle
    /// here). SIGTERM, which .NET handles itself, and SIGPIPE, which it ignores itself, are left out.
    /// </summary>
    [Fact]
    public void SignalsIgnoredByTheHostParent_StayIgnoredInTheGuest()
    {
        string[] ignore = ["env", "--default-signal", "--ignore-signal=HUP,INT,QUIT,USR1,TTOU"];
        var guest = Repository.Run(ignore[0], [.. ignore[1..], "dotnet", Repository.CliDll, "run", BusyBox.Binary, "grep", "SigIgn", "/proc/self/status"],
            TimeSpan.FromSeconds(60), Work("ignored"));
        var native = Repository.Run(ignore[0], [.. ignore[1..], "grep", "SigIgn", "/proc/self/status"], TimeSpan.FromSeconds(10));
        Assert.Equal("SigIgn:\t0000000000200207\n", native.Stdout);
        Assert.Equal(native.Stdout, guest.Stdout);
        var none = Repository.Run("env", ["--default-signal", "dotnet", Repository.CliDll, "run", BusyBox.Binary, "grep", "SigIgn", "/proc/self/status"],
            TimeSpan.FromSeconds(60), Work("none"));
        Assert.Equal("SigIgn:\t0000000000000000\n", none.Stdout);
    }

    [Fact]
    public void SignalsReachBlockedProcessesAndShellTraps()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = Isomorph(Work("signals"), "sh", "-c", """
            mkfifo f; exec 3<>f; cat <&3 & pid=$!; sleep 0.2; kill $pid; wait $pid; echo "cat status $?"
            trap "echo trapped USR1" USR1; (sleep 0.3; kill -USR1 $$) & sleep 1; echo after
            """);
        Assert.Contains(r.Stderr, new[] { "", "Terminated\n" }); // ash may report the job it killed, depending on timing
        Assert.Equal("cat status 143\ntrapped USR1\nafter\n", r.Stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void HundredsOfProcessesDoNotExhaustTheHost()
    {
        // Each guest process reserves 2^40 bytes of host address space: they must be given back as processes end.
        var r = Isomorph(Work("many"), "sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$(expr $i + 1); done; echo $i");
        Assert.Equal("", r.Stderr);
        Assert.Equal("300\n", r.Stdout);
    }

    [Fact]
    public void BuiltinPipelineMatchesQemu()
    {
        const string pipeline = """
            i=0; while [ $i -lt 6 ]; do echo "word$i $i"; i=$((i+1)); done | while read w n; do echo "$n:$w"; done
            echo "status $?"; echo $(( 3 * 14 )); ( echo in a subshell; exit 2 ); echo "after $?"
            """;
        var ours = Isomorph(Work("builtin-ours"), "sh", "-c", pipeline);
        var oracle = Qemu(Work("builtin-qemu"), "sh", "-c", pipeline);
        Assert.Equal(0, oracle.ExitCode);
        Assert.Equal(oracle.Stdout, ours.Stdout);
        Assert.Equal(oracle.ExitCode, ours.ExitCode);
    }

    public static TheoryData<string[]> Applets() => new()
    {
        new[] { "sort", "-t", ",", "-k2,2n", "input.csv" },
        new[] { "sed", "-e", "s/\\([a-z]*\\),\\([0-9]*\\)/\\2=\\1/", "-e", "/^1/d", "input.csv" },
        new[] { "awk", "-F,", "{ sum += $2; names = names $1 \" \" } END { print sum, NR, names }", "input.csv" },
        new[] { "sha256sum", "input.csv" },
        new[] { "md5sum", "input.csv" },
        new[] { "wc", "input.csv" },
        new[] { "find", ".", "-name", "*.csv" },
        new[] { "od", "-A", "x", "-t", "x1", "input.csv" },
    };

    [Theory]
    [MemberData(nameof(Applets))]
    public void AppletMatchesQemu(string[] command)
    {
        const string csv = "pear,12\napple,3\nfig,140\nbanana,7\nkiwi,1\n";
        string ours = Work("ours"), oracle = Work("oracle");
        File.WriteAllText(Path.Combine(ours, "input.csv"), csv);
        File.WriteAllText(Path.Combine(oracle, "input.csv"), csv);
        var a = Isomorph(ours, command);
        var b = Qemu(oracle, command);
        Assert.Equal(0, b.ExitCode);
        Assert.Equal(b.Stdout, a.Stdout);
        Assert.Equal(b.ExitCode, a.ExitCode);
    }

    [Fact]
    public void GzipWritesTheSameBytesAsUnderQemuAndRoundTrips()
    {
        string ours = Work("gzip-ours"), oracle = Work("gzip-qemu");
        var text = string.Join("\n", Enumerable.Range(1, 3000).Select(i => $"line {i} {i * i % 977}")) + "\n";
        File.WriteAllText(Path.Combine(ours, "data.txt"), text);
        File.WriteAllText(Path.Combine(oracle, "data.txt"), text);
        Assert.Equal(0, Isomorph(ours, "gzip", "-9", "-n", "-k", "data.txt").ExitCode);
        Assert.Equal(0, Qemu(oracle, "gzip", "-9", "-n", "-k", "data.txt").ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(oracle, "data.txt.gz")), File.ReadAllBytes(Path.Combine(ours, "data.txt.gz")));
        var back = Isomorph(ours, "gunzip", "-c", "data.txt.gz");
        Assert.Equal(text, back.Stdout);
    }

    [Fact]
    public void TarArchiveListsAsUnderQemu()
    {
        string work = Work("tar");
        Directory.CreateDirectory(Path.Combine(work, "d", "e"));
        File.WriteAllText(Path.Combine(work, "d", "one"), "1\n");
        File.WriteAllText(Path.Combine(work, "d", "e", "two"), "22\n");
        Assert.Equal(0, Isomorph(work, "tar", "-czf", "d.tgz", "d").ExitCode);
        var ours = Isomorph(work, "tar", "-tzf", "d.tgz");
        var oracle = Qemu(work, "tar", "-tzf", "d.tgz");
        Assert.Equal(0, oracle.ExitCode);
        Assert.Equal(oracle.Stdout, ours.Stdout);
        Assert.Contains("d/e/two", ours.Stdout);
    }
}
