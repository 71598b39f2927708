namespace Isomorph.Tests.Linux;

/// <summary>
/// Guests that execve host programs (issue 14): the host kernel runs them natively, as under
/// qemu-user, standing in for the guest process (guests/linux/user/hostexec.c). Each section's
/// output under isomorph must match qemu-riscv64's and the host-built program's on the host kernel.
/// </summary>
public sealed class HostExecTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-hostexec");

    public void Dispose() => _temp.Delete(recursive: true);

    public static TheoryData<string, string> SectionsAndLinkages()
    {
        var data = new TheoryData<string, string>();
        foreach (var section in new[] { "system", "fds", "state", "signals", "kill", "errors" })
            foreach (var linkage in LinuxGuests.Linkages)
                data.Add(section, linkage);
        return data;
    }

    [Theory]
    [MemberData(nameof(SectionsAndLinkages))]
    public void MatchesQemuUserAndTheHostKernel(string section, string linkage)
    {
        string program = LinuxGuests.Program("hostexec", linkage);
        // The oracles start with every signal at its default, as a guest under isomorph does: the test
        // host ignores SIGPIPE, and a test run started in the background of a shell (as CI is) ignores
        // SIGINT and SIGQUIT too; the oracles would pass those on to the host program they run.
        var native = Support.Repository.Run("env", ["--default-signal", LinuxGuests.Program("hostexec", "host"), section], TimeSpan.FromSeconds(60));
        var qemu = Support.Repository.Run("env", ["--default-signal", "qemu-riscv64", "-L", LinuxGuests.Sysroot, program, section],
            TimeSpan.FromSeconds(60));
        var ours = LinuxGuests.Isomorph([], program, section);
        Assert.False(ours.TimedOut, "isomorph timed out");
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(native.Stdout, qemu.Stdout);
        Assert.Equal("", ours.Stderr);
        Assert.Equal(native.Stdout, ours.Stdout);
        Assert.Equal(0, ours.ExitCode);
    }

    /// <summary>A host program would see the host's files, not the root's: refused with EACCES and a line under --strace, unless --allow-host-exec.</summary>
    [Fact]
    public void UnderRootOnlyWithAllowHostExec()
    {
        var root = _temp.CreateSubdirectory("root");
        root.CreateSubdirectory("bin");
        File.Copy("/usr/bin/true", Path.Combine(root.FullName, "bin", "true"));
        File.Copy(LinuxGuests.Program("hostexec", "static"), Path.Combine(root.FullName, "hostexec"));

        var refused = LinuxGuests.Isomorph(["--root", root.FullName, "--strace"], "/hostexec", "exec", "/bin/true");
        Assert.Equal("execv /bin/true: Permission denied\n", refused.Stdout);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("/bin/true refused under --root (--allow-host-exec lets it run) ---", refused.Stderr);
        Assert.Contains("execve(\"/bin/true\",", refused.Stderr);

        var allowed = LinuxGuests.Isomorph(["--root", root.FullName, "--allow-host-exec"], "/hostexec", "exec", "/bin/true");
        Assert.Equal(("", "", 0), (allowed.Stdout, allowed.Stderr, allowed.ExitCode));
    }

    [Fact]
    public void StraceShowsTheHostProgram()
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("hostexec", "static"), "state");
        Assert.Matches(@"\d+ --- host program /\S+ runs as host process \d+ ---\n", r.Stderr);
        Assert.Contains("state: exit 0\n", r.Stdout);
    }

    /// <summary>
    /// A pipeline that crosses the boundary in both directions inside a riscv64 shell (BusyBox):
    /// host gzip and tr, riscv64 gunzip, a host shell killed by SIGTERM (which the riscv64 shell
    /// reports as a shell does). qemu-riscv64 cannot run this one without binfmt_misc: its exec of
    /// the riscv64 BusyBox goes to the host kernel, which answers ENOEXEC.
    /// </summary>
    [Fact]
    public void ARiscvShellPipesThroughHostTools()
    {
        string busybox = BusyBox.Binary;
        var r = LinuxGuests.Isomorph([], busybox, "sh", "-c",
            $"echo hello | /usr/bin/gzip -c | {busybox} gunzip -c | /usr/bin/tr a-z A-Z; /usr/bin/false; echo status $?; " +
            "/bin/sh -c 'kill -TERM $$'; echo status $?");
        Assert.Equal(("HELLO\nstatus 1\nstatus 143\n", "Terminated\n"), (r.Stdout, r.Stderr));
        Assert.Equal(0, r.ExitCode);
    }
}
