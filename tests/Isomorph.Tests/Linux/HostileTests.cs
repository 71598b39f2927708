using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// A hostile program (guests/linux/user/hostile.c) calls the implemented system calls with bad
/// pointers (NULL, kernel-half, unmapped), huge lengths and wrapping ranges. The oracle is the same
/// program built for the host with gcc and run natively: the host kernel says what Linux answers,
/// and the VM must print the same lines, section by section.
/// </summary>
public sealed class HostileTests
{
    public static TheoryData<string, string> Sections()
    {
        var data = new TheoryData<string, string>();
        foreach (var section in new[] { "brk", "memory", "files", "sockets", "misc" })
            data.Add(section, "static");
        data.Add("files", "dynamic");
        return data;
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void BadArgumentsGetLinuxsAnswers(string section, string linkage)
    {
        var expected = Repository.Run(LinuxGuests.Program("hostile", "host"), [section], TimeSpan.FromMinutes(1));
        Assert.Equal(0, expected.ExitCode);
        Assert.StartsWith($"[{section}]\n", expected.Stdout);
        var actual = LinuxGuests.Isomorph([], LinuxGuests.Program("hostile", linkage), section);
        Assert.Equal(expected.Stdout, actual.Stdout);
        Assert.Equal(0, actual.ExitCode);
    }
}
