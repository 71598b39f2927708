namespace Isomorph.Tests.Linux;

/// <summary>
/// The newer descriptor and process system calls (guests/linux/user/newsys.c, issue 8): each section
/// runs under isomorph and, built with the host's gcc, on the host kernel itself — the oracle — and
/// the two outputs must agree line by line.
/// </summary>
public sealed class NewSyscallTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-newsys");

    public void Dispose() => _temp.Delete(recursive: true);

    public static TheoryData<string, string> SectionsAndLinkages()
    {
        var data = new TheoryData<string, string>();
        foreach (var section in new[] { "timerfd", "signalfd", "memfd", "pidfd", "execveat", "affinity", "inotify", "procvm", "prctl" })
            foreach (var linkage in LinuxGuests.Linkages)
                data.Add(section, linkage);
        return data;
    }

    [Theory]
    [MemberData(nameof(SectionsAndLinkages))]
    public void MatchesTheHostKernel(string section, string linkage)
    {
        var host = Support.Repository.Run(LinuxGuests.Program("newsys", "host"), [section, _temp.CreateSubdirectory("host").FullName],
            TimeSpan.FromSeconds(60));
        var ours = LinuxGuests.Isomorph([], LinuxGuests.Program("newsys", linkage), section, _temp.CreateSubdirectory("ours").FullName);
        Assert.Equal(0, host.ExitCode);
        Assert.False(ours.TimedOut, "isomorph timed out");
        Assert.Equal("", ours.Stderr);
        Assert.Equal(Lines(host.Stdout), Lines(ours.Stdout));
        Assert.Equal(0, ours.ExitCode);
    }

    /// <summary>Under --root the paths a section names (watched, executed) are looked up inside the root.</summary>
    [Theory]
    [InlineData("inotify")]
    [InlineData("execveat")]
    [InlineData("memfd")]
    public void UnderRootMatchesTheHostKernel(string section)
    {
        var root = _temp.CreateSubdirectory("root");
        root.CreateSubdirectory("scratch");
        File.Copy(LinuxGuests.Program("newsys", "static"), Path.Combine(root.FullName, "newsys"));
        var host = Support.Repository.Run(LinuxGuests.Program("newsys", "host"), [section, _temp.CreateSubdirectory("host").FullName],
            TimeSpan.FromSeconds(60));
        var ours = LinuxGuests.Isomorph(["--root", root.FullName], "/newsys", section, "/scratch");
        Assert.Equal(0, host.ExitCode);
        Assert.Equal("", ours.Stderr);
        Assert.Equal(Lines(host.Stdout), Lines(ours.Stdout));
        Assert.Equal(0, ours.ExitCode);
    }

    /// <summary>--strace names the new calls from their definitions, with their flags decoded.</summary>
    [Theory]
    [InlineData("timerfd", "timerfd_create(CLOCK_MONOTONIC,O_NONBLOCK|O_CLOEXEC) = 3\n", "timerfd_settime(3,0,", "timerfd_gettime(3,")]
    [InlineData("signalfd", "signalfd4(-1,0x", ",8,O_NONBLOCK|O_CLOEXEC) = 3\n", "signalfd4(999,")]
    [InlineData("memfd", "memfd_create(\"isomorph-test\",0x3) = 3\n", "memfd_create(\"x\",0x100) = -1 errno=22 (Invalid argument)")]
    [InlineData("pidfd", "pidfd_open(", "pidfd_send_signal(", "clone3(")]
    [InlineData("execveat", "execveat(3,\"\",0x", ",AT_EMPTY_PATH) = 0\n")]
    [InlineData("affinity", "sched_setaffinity(0,128,0x", "sched_getaffinity(0,128,0x")]
    [InlineData("inotify", "inotify_init1(O_NONBLOCK|O_CLOEXEC) = 3\n", "inotify_add_watch(3,\"", "inotify_rm_watch(3,1) = 0\n")]
    [InlineData("procvm", "process_vm_readv(", "process_vm_writev(")]
    public void StraceNamesThem(string section, params string[] expected)
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("newsys", "static"), section, _temp.FullName);
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("unsupported", r.Stderr);
        foreach (var text in expected) Assert.Contains(text, r.Stderr);
    }

    private static string[] Lines(string text) => text.Split('\n');
}
