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
        foreach (var section in new[] { "timerfd", "signalfd", "memfd", "pidfd", "execveat", "affinity", "inotify", "procvm" })
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

    private static string[] Lines(string text) => text.Split('\n');
}
