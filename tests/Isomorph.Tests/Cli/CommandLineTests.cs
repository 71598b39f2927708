using Isomorph.Tests.Linux;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// The command line around the commands: help and the version answer wherever they are asked for,
/// though a command line that asks for neither is parsed without them (IsomorphCommand.Run), and
/// words after the program are the guest's.
/// </summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public void HelpListsEveryCommand(string word)
    {
        var r = Repository.Isomorph(word);
        Assert.Equal(0, r.ExitCode);
        foreach (var command in new[] { "bare", "boot", "receive", "run", "vm", "binfmt" })
            Assert.Contains($"  {command} ", r.Stdout);
    }

    [Fact]
    public void ACommandsHelpDescribesItsOptions()
    {
        var r = Repository.Isomorph("run", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Run a riscv64 Linux program (like qemu-user)", r.Stdout);
        Assert.Contains("--engine", r.Stdout);
        Assert.Contains("--strace", r.Stdout);
    }

    [Fact]
    public void VersionIsTheAssemblysInformationalVersion()
    {
        var r = Repository.Isomorph("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void WordsAfterTheProgramAreTheGuests()
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("hello", "static"), "--help", "--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello from riscv64 Linux, argc=3\nargv[1]=--help\nargv[2]=--version\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void AnUnknownOptionOfRunIsAUsageError()
    {
        var r = Repository.Isomorph("run", "--no-such-option", LinuxGuests.Program("hello", "static"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal("isomorph: unknown option --no-such-option (a program whose name starts with '-': ./--no-such-option)\n", r.Stderr);
    }
}
