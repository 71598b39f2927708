namespace Isomorph.Tests.Linux;

/// <summary>
/// Guest processes inside one <c>isomorph run</c>: fork, pipes, dup2, execve, wait4/waitid,
/// posix_spawn. qemu-user cannot be the oracle here (its execve of a riscv64 program needs
/// binfmt_misc), so the expected output is written out; it is what the program prints on Linux.
/// </summary>
public sealed class ProcessTests
{
    private const string Expected = """
        waited for the child: yes
        fork child: exited 7
        parent's value after the child changed its copy: 1
        read 63 bytes: hello through a pipe
        hello through a pipe
        hello through a pipe
        pipe writer: exited 0
        exec'd child said: exec'd with arguments
        exec'd child: exited 3
        self-terminated child: killed by signal 15
        failed exec: exited 40
        spawned
        waitid: signo 17 code 1 status 3 pid matches yes
        posix_spawn of a missing program: ENOENT
        WNOHANG while the child waits: 0
        reader at end of file: exited 5
        chdir child: exited 0
        parent's directory unchanged: yes
        wait with no children: -1 ECHILD
        procs: ok

        """;

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void ForkPipeExecAndWaitBehaveAsOnLinux(string linkage)
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("procs", linkage));
        Assert.False(r.TimedOut, "isomorph timed out");
        Assert.Equal("", r.Stderr);
        Assert.Equal(Expected, r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void StraceNamesEachProcess()
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("procs", "static"));
        Assert.Equal(0, r.ExitCode);
        var pids = r.Stderr.Split('\n').Where(l => l.Contains(" exit_group(")).Select(l => l.Split(' ')[0]).Distinct().Count();
        Assert.True(pids >= 8, $"expected exit_group from at least 8 processes, saw {pids}:\n{r.Stderr}");
        Assert.Contains(" execve(\"/proc/self/exe\",", r.Stderr);
        Assert.Contains(" wait4(", r.Stderr);
    }
}
