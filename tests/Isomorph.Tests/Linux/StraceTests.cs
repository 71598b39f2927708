using System.Text.RegularExpressions;
using Isomorph.Linux.Syscalls;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// --strace: every handler's argument format against the kernel's own declarations (each system
/// call's number and name from the riscv64 sysroot's asm-generic/unistd.h, its arguments from
/// Linux 6.1's include/linux/syscalls.h), and whole traces against qemu-riscv64's -strace, line by
/// line for the calls both decode (addresses differ between the two and are compared as such).
/// </summary>
public sealed partial class StraceTests
{
    private const string KernelVersion = "linux-source-6.1";

    /// <summary>Calls defined by arch/riscv rather than declared in syscalls.h: SYSCALL_DEFINE6(mmap), SYSCALL_DEFINE3(riscv_flush_icache), SYSCALL_DEFINE5(riscv_hwprobe), rt_sigreturn(void).</summary>
    private static readonly Dictionary<string, int> ArchitectureArities = new()
    {
        ["sys_mmap"] = 6, ["sys_riscv_flush_icache"] = 3, ["sys_riscv_hwprobe"] = 5, ["sys_rt_sigreturn"] = 0,
    };

    private static readonly Lazy<string> SyscallsHeader = new(ReadSyscallsHeader);

    /// <summary>include/linux/syscalls.h: from the guest kernel's unpacked tree when built, else from Debian's linux-source tarball.</summary>
    private static string ReadSyscallsHeader()
    {
        string cache = Environment.GetEnvironmentVariable("ISOMORPH_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "isomorph");
        string unpacked = Path.Combine(cache, "linux", "linux-src", "include", "linux", "syscalls.h");
        if (File.Exists(unpacked)) return File.ReadAllText(unpacked);
        string tarball = $"/usr/src/{KernelVersion}.tar.xz";
        if (!File.Exists(tarball)) throw new InvalidOperationException($"{tarball} is missing: run tests/run.sh, which installs {KernelVersion}");
        var r = Repository.Run("tar", ["-xJOf", tarball, $"{KernelVersion}/include/linux/syscalls.h"], TimeSpan.FromMinutes(3));
        if (r.ExitCode != 0) throw new InvalidOperationException($"cannot read syscalls.h from {tarball}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>riscv64's system calls: number → (the names asm-generic gives it, the kernel function of a 64-bit build).</summary>
    private static Dictionary<long, (HashSet<string> Names, string Function)> RiscvTable()
    {
        var include = Path.Combine(LinuxGuests.Sysroot, "include");
        string text = File.ReadAllText(Path.Combine(include, "asm-generic", "unistd.h")) + File.ReadAllText(Path.Combine(include, "asm", "unistd.h"));
        var values = new Dictionary<string, long>();
        var aliases = new List<(string Name, string Target)>();
        foreach (Match m in DefineRegex().Matches(text))
        {
            string name = m.Groups[1].Value, value = m.Groups[2].Value.Trim();
            if (long.TryParse(value, out long n)) values[name] = n;
            else if (ArchSpecificRegex().Match(value) is { Success: true } a) values[name] = 244 + long.Parse(a.Groups[1].Value);
            else if (value.StartsWith("__NR")) aliases.Add((name, value));
        }
        foreach (var (name, target) in aliases)
            if (values.TryGetValue(target, out long n)) values[name] = n;
        var table = new Dictionary<long, (HashSet<string>, string)>();
        foreach (Match m in SyscallMacroRegex().Matches(text))
        {
            if (!values.TryGetValue(m.Groups[2].Value, out long number)) continue;
            var functions = m.Groups[3].Value.Split(',').Select(f => f.Trim(' ', '\t', '\n', '\\')).ToArray();
            // __SC_3264 and __SC_COMP_3264 name the 32-bit function first, then the 64-bit one.
            string function = m.Groups[1].Value.Contains("3264") ? functions[1] : functions[0];
            table[number] = ([], function);
        }
        foreach (var (name, number) in values)
            if (name.StartsWith("__NR_") && table.TryGetValue(number, out var entry)) entry.Item1.Add(name[5..]);
        table[258] = (["riscv_hwprobe"], "sys_riscv_hwprobe"); // Linux 6.4, after the sysroot's headers
        return table;
    }

    /// <summary>The argument counts syscalls.h declares for each function (several where #ifdefs differ, as for clone).</summary>
    private static Dictionary<string, HashSet<int>> KernelArities()
    {
        var arities = new Dictionary<string, HashSet<int>>();
        foreach (Match m in DeclarationRegex().Matches(SyscallsHeader.Value))
        {
            string parameters = m.Groups[2].Value.Trim();
            int count = parameters is "void" or "" ? 0 : parameters.Split(',').Length;
            if (!arities.TryGetValue(m.Groups[1].Value, out var set)) arities[m.Groups[1].Value] = set = [];
            set.Add(count);
        }
        foreach (var (function, count) in ArchitectureArities) arities.TryAdd(function, [count]);
        return arities;
    }

    /// <summary>The table start-up builds (generated at compile time) is the [Syscall] attributes on the handlers, read here by reflection.</summary>
    [Fact]
    public void TheTableIsTheAttributesOnTheHandlers()
    {
        var declared = typeof(SyscallTable).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
            .SelectMany(m => System.Reflection.CustomAttributeExtensions.GetCustomAttributes<SyscallAttribute>(m).Select(a => (a, m)))
            .ToList();
        foreach (var (a, method) in declared)
        {
            var entry = SyscallTable.Instance.Find(a.Number);
            Assert.NotNull(entry);
            Assert.Equal((a.Name, a.Arguments, method), (entry.Name, entry.Arguments, entry.Handler.Method));
        }
        Assert.Equal(declared.Count, SyscallTable.Instance.Entries.Count);
    }

    [Fact]
    public void EveryHandlerDecodesTheArgumentsTheKernelDeclares()
    {
        var riscv = RiscvTable();
        var arities = KernelArities();
        var problems = new List<string>();
        foreach (var entry in SyscallTable.Instance.Entries.OrderBy(e => e.Number))
        {
            if (!riscv.TryGetValue(entry.Number, out var kernel))
            {
                problems.Add($"{entry.Number} {entry.Name}: not a riscv64 system call");
                continue;
            }
            if (!kernel.Names.Contains(entry.Name)) problems.Add($"{entry.Number} {entry.Name}: the kernel calls it {string.Join(" or ", kernel.Names)}");
            if (!arities.TryGetValue(kernel.Function, out var counts)) problems.Add($"{entry.Number} {entry.Name}: {kernel.Function} has no declaration");
            else if (!counts.Contains(entry.Arguments.Length))
                problems.Add($"{entry.Number} {entry.Name}: \"{entry.Arguments}\" has {entry.Arguments.Length} arguments, {kernel.Function} takes {string.Join(" or ", counts)}");
            foreach (char c in entry.Arguments)
                if (!StraceFormat.Letters.Contains(c)) problems.Add($"{entry.Number} {entry.Name}: unknown format letter '{c}'");
        }
        Assert.True(SyscallTable.Instance.Entries.Count > 100);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The calls whose lines qemu-user 7.2 decodes as we do (it prints raw registers for some others, such as set_tid_address, and writev's count in hex).</summary>
    private static readonly HashSet<string> Compared =
    [
        "openat", "close", "read", "write", "lseek", "ftruncate", "mkdirat", "unlinkat", "symlinkat", "chdir", "getdents64",
        "getcwd", "dup", "brk", "mmap", "munmap", "mprotect", "readlinkat", "exit_group",
    ];

    [Theory]
    [InlineData("files", "static")]
    [InlineData("files", "dynamic")]
    [InlineData("memory", "dynamic")]
    public void TracesMatchQemuForTheCallsBothDecode(string program, string linkage)
    {
        var path = LinuxGuests.Program(program, linkage);
        var work = Directory.CreateTempSubdirectory("isomorph-strace");
        try
        {
            var ours = Repository.Run("dotnet", [Repository.CliDll, "run", "--strace", path], TimeSpan.FromSeconds(120), work.FullName);
            var theirs = QemuTrace(path, work);
            Assert.Equal(theirs.Stdout, ours.Stdout);
            var expected = Lines(theirs.Stderr);
            var actual = Lines(ours.Stderr);
            Assert.True(expected.Count > 10, theirs.Stderr);
            // The first line that differs, whole, with the raw traces: collections print truncated.
            int at = Enumerable.Range(0, Math.Min(expected.Count, actual.Count)).FirstOrDefault(i => expected[i] != actual[i], -1);
            if (at >= 0 || expected.Count != actual.Count)
                Assert.Fail($"line {at}: qemu \"{(at >= 0 ? expected[at] : "")}\", isomorph \"{(at >= 0 ? actual[at] : "")}\" ({expected.Count} and {actual.Count} lines)\n"
                    + $"--- qemu:\n{theirs.Stderr}\n--- isomorph:\n{ours.Stderr}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// qemu-riscv64's -strace of the program (in <paramref name="work"/>, emptied of what an earlier
    /// run made), run again (up to five times in all) while another
    /// process's call landed inside one of its lines, where no rule can tell whose result is whose.
    /// Its processes write to one stderr a piece at a time: a forked child's first calls can land
    /// in the middle of the parent's waiting wait4 (split by <see cref="Lines"/>) or, about once in
    /// a hundred runs on a loaded machine, the parent's wait4 in the middle of the child's result.
    /// </summary>
    private static Repository.ProcessResult QemuTrace(string path, DirectoryInfo work)
    {
        for (int attempt = 1; ; attempt++)
        {
            foreach (var d in work.GetDirectories()) d.Delete(recursive: true);
            var r = Repository.Run("qemu-riscv64", ["-strace", "-L", LinuxGuests.Sysroot, path], TimeSpan.FromSeconds(120), work.FullName);
            if (attempt == 5 || !Garbled(r.Stderr)) return r;
        }
    }

    /// <summary>Whether a call starts anywhere but at a line's start or right after another call's closing parenthesis.</summary>
    private static bool Garbled(string trace) => CallInsideALineRegex().IsMatch(trace);

    /// <summary>qemu-user's interleavings as runs printed them: the first splits, the second is garbled.</summary>
    [Fact]
    public void AnInterleavedTraceIsSplitOrRecognizedAsGarbled()
    {
        const string childAfterWait = "8899 wait4(8901,274919859288,0,0,0,0)8901 mmap(NULL,1228800,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = 0x000000400e96d000\n";
        Assert.Equal(["mmap(NULL,1228800,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = ADDR"], Lines(childAfterWait));
        Assert.False(Garbled(childAfterWait));
        Assert.True(Garbled("8901 mmap(NULL,1228800,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = 8899 wait4(8901,274919859288,0,0,0,0)0x000000400e96d000\n"));
        Assert.False(Garbled("8901 rt_sigaction(SIGSEGV,0x00000040028022f8,NULL) = 0\n--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x000000400ea93064} ---\n = 8903\n"));
    }

    /// <summary>
    /// The trace's lines for the compared calls, without the pid, with every hex number (an address) as "ADDR".
    /// qemu-user prints a blocking call's start and its result apart, and another process's line can land
    /// between them on the same line ("wait4(…)mmap(…) = …"): such a line is split, the second call kept.
    /// </summary>
    private static List<string> Lines(string trace) =>
        [.. trace.Split('\n')
            .SelectMany(l => InterleavedCallRegex().Split(l))
            .Select(l => TraceLineRegex().Match(l))
            .Where(m => m.Success && Compared.Contains(m.Groups[1].Value))
            .Select(m => HexRegex().Replace(m.Groups[1].Value + m.Groups[2].Value, "ADDR"))];

    /// <summary>A line of qemu-user's trace as a CI run printed it: the parent's wait4, still waiting, and the child's mmap on one line.</summary>
    [Fact]
    public void ACallPrintedIntoAnotherProcesssWaitingCallIsStillCompared() =>
        Assert.Equal(["mmap(NULL,1228800,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = ADDR", "munmap(ADDR,1228800) = 0"],
            Lines("4957 wait4(4957,274919858888,0,0,0,0)mmap(NULL,1228800,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = 0x000000400e96d000\n" +
                "4959 munmap(0x000000400e96d000,1228800) = 0\n = 4959\n"));

    [Fact]
    public void FailuresAndFlagsReadAsQemuPrintsThem()
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("memory", "static"));
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"\d+ mmap\(NULL,\d+,PROT_READ\|PROT_WRITE,MAP_PRIVATE\|MAP_ANONYMOUS,-1,0\) = 0x[0-9a-f]{16}\n", r.Stderr);
        var files = Repository.Run("dotnet", [Repository.CliDll, "run", "--strace", LinuxGuests.Program("files", "static")],
            TimeSpan.FromSeconds(120), Directory.CreateTempSubdirectory("isomorph-strace").FullName);
        Assert.Contains(" close(3) = -1 errno=9 (Bad file descriptor)\n", files.Stderr);
        Assert.Contains(" openat(AT_FDCWD,\"files-test.d/a.txt\",O_RDWR|O_CREAT|O_TRUNC,0644) = 3\n", files.Stderr);
        Assert.Contains(" lseek(3,4,SEEK_SET) = 4\n", files.Stderr);
    }

    [GeneratedRegex(@"#define\s+(__NR\w+)\s+(.+)")]
    private static partial Regex DefineRegex();

    [GeneratedRegex(@"\(__NR_arch_specific_syscall \+ (\d+)\)")]
    private static partial Regex ArchSpecificRegex();

    [GeneratedRegex(@"(__SYSCALL|__SC_COMP|__SC_3264|__SC_COMP_3264)\((__NR\w+),\s*([^)]*)\)")]
    private static partial Regex SyscallMacroRegex();

    [GeneratedRegex(@"asmlinkage long (sys_\w+)\(([^)]*)\);")]
    private static partial Regex DeclarationRegex();

    /// <summary>A call, with its pid or, where another process's line split it off, without.</summary>
    [GeneratedRegex(@"^(?:\d+ )?(\w+)(\(.*)$")]
    private static partial Regex TraceLineRegex();

    [GeneratedRegex(@"0x[0-9a-f]+")]
    private static partial Regex HexRegex();

    /// <summary>The place in a line where one call's argument list ends and another call begins, with no result between.</summary>
    [GeneratedRegex(@"(?<=\))(?=(?:\d+ )?[a-z_][a-z_0-9]*\()")]
    private static partial Regex InterleavedCallRegex();

    /// <summary>A process's call (its pid, its name, its parenthesis) after a character that is neither a digit, a closing parenthesis nor a line's end.</summary>
    [GeneratedRegex(@"(?<=[^)\n\d])\d+ [a-z_][a-z_0-9]*\(")]
    private static partial Regex CallInsideALineRegex();
}
