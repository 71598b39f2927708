using Isomorph.Linux;
using Isomorph.Linux.Loading;
using Isomorph.Tests.Elf;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Damaged copies of the test programs (<see cref="CorruptElf"/>): the loader refuses each with the
/// errno Linux's binfmt_elf gives, <c>isomorph run</c> with one line and status 2, and a guest's
/// execve with that errno — or, for fields Linux never reads, the program starts. Before the fix a
/// PT_LOAD whose p_vaddr + p_memsz wrapped was written outside guest memory (the host died of
/// AccessViolationException or SIGSEGV), and several damaged files ran with status 0.
/// qemu-riscv64 7.2 refuses most with status 1 but aborts or dies of a signal on several
/// (p_memsz wrapping trips an assertion; a 2^64-byte PT_INTERP aborts in g_malloc; p_filesz
/// beyond the file and a truncated file die of SIGSEGV/SIGBUS): each case notes what it did.
/// </summary>
public sealed class CorruptElfTests : CliTest
{
    public CorruptElfTests() : base("isomorph-corrupt-elf") { }

    public static TheoryData<string> Programs => new() { "hello-static", "hello-dynamic", "pie-static-pie" };

    private static byte[] Good(string program) => File.ReadAllBytes(LinuxGuests.Program(program[..program.IndexOf('-')], program[(program.IndexOf('-') + 1)..]));

    [Theory]
    [MemberData(nameof(Programs))]
    public void TheLoaderRefusesEachWithLinuxsErrno(string program)
    {
        var failures = new List<string>();
        foreach (var c in CorruptElf.From(Good(program)))
        {
            string path = TempFile($"{program}-{c.Name}", c.Bytes);
            try
            {
                using var process = LinuxProcess.Start(path, [path], new LinuxOptions { Sysroot = LinuxGuests.Sysroot });
                if (c.Errno != 0) failures.Add($"{c.Name}: loaded, expected {Errno.Name(c.Errno)}");
            }
            catch (ProgramLoadException e)
            {
                if (e.Errno != c.Errno) failures.Add($"{c.Name}: {Errno.Name(e.Errno)} ({e.Message}), expected {(c.Errno == 0 ? "a load" : Errno.Name(c.Errno))}");
                if (e.Message.Contains('\n')) failures.Add($"{c.Name}: a message of several lines: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData("hello-static")]
    [InlineData("hello-dynamic")]
    public void RunRefusesEachWithOneLineAndStatus2(string program)
    {
        var failures = new List<string>();
        foreach (var c in CorruptElf.From(Good(program)))
        {
            string path = TempFile($"{program}-{c.Name}", c.Bytes);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var r = LinuxGuests.Isomorph(["--sysroot", LinuxGuests.Sysroot], path);
            string[] lines = r.Stderr.TrimEnd('\n').Split('\n');
            if (c.Errno != 0)
            {
                if (r.ExitCode != 2 || r.Stdout != "" || lines.Length != 1 || !lines[0].StartsWith("isomorph: "))
                    failures.Add($"{c.Name}: status {r.ExitCode}, stderr:\n{r.Stderr}");
            }
            else if (r.Stderr.Contains("Exception") || r.Stderr.Contains("Fatal error") || (r.ExitCode >= 128 && !r.Stderr.Contains("guest killed by")))
            {
                // Started as Linux starts it: the guest runs or dies of a signal, the host never does.
                failures.Add($"{c.Name}: status {r.ExitCode}, stderr:\n{r.Stderr}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// guests/linux/user/execbad.c damages copies of itself inside its --root and execs them. (Not
    /// comparable with qemu-riscv64, which hands a guest's execve to the host kernel.)
    /// </summary>
    [Fact]
    public void AGuestsExecveOfDamagedFilesGetsLinuxsErrno()
    {
        var root = Temp.CreateSubdirectory("root").FullName;
        File.Copy(LinuxGuests.Program("execbad", "static"), Path.Combine(root, "execbad"));
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", "--root", root, "/execbad"], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, $"status {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        // host-machine: a host program, which --root refuses (docs/process-vm-jail.md), saying so once.
        Assert.Equal("isomorph: warning: " + Path.Combine(root, "bad-host-machine") +
            " is a host program, which would leave --root: refused with EACCES (--allow-host-exec lets it run)\n", r.Stderr);
        Assert.Equal("""
            bad-magic: Exec format error
            machine: Exec format error
            host-machine: Permission denied
            phentsize: Exec format error
            phnum-zero: Exec format error
            phoff-wraps: Input/output error
            offset-wraps: Input/output error
            filesz-wraps: Input/output error
            truncated: Input/output error
            memsz-below-filesz: Invalid argument
            memsz-wraps: Invalid argument
            vaddr-wraps: Invalid argument
            memsz-huge: Invalid argument
            offset-not-congruent: Invalid argument
            entry-outside: Invalid argument
            no-load: Invalid argument
            interp-missing: No such file or directory
            interp-size-1: Exec format error
            interp-not-nul-terminated: Exec format error
            interp-not-elf: Accessing a corrupted shared library
            shoff-garbage: runs
            0 failures

            """, r.Stdout);
    }
}
