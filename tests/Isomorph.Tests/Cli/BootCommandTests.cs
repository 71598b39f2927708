using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary><c>isomorph boot</c> as a user runs it: a separate process, its output and exit status.</summary>
public sealed class BootCommandTests() : CliTest("isomorph-boot")
{
    [Fact]
    public void BootsOpenSbiAndAnSModePayload_ThenPowersOffWithStatusZero()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("payload says hi\n"));
        var r = Repository.Isomorph("boot", "--kernel", kernel);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("OpenSBI v", r.Stdout);
        Assert.EndsWith("payload says hi\r\n", r.Stdout);
    }

    [Fact]
    public void Stats_ShowTheSbiCallsThePayloadMade()
    {
        string message = new('q', 17);
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload(message));
        var r = Repository.Isomorph("boot", "--kernel", kernel, "--stats");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Matches(@"legacy console_putchar\s*│\s*0x1\s*│\s*17\s", r.Stderr);
        Assert.Matches(@"SRST\s*│\s*0x53525354\s*│\s*1\s", r.Stderr);
        Assert.Matches(@"9 EnvironmentCallFromS\s*│\s*Supervisor\s*│\s*Machine\s*│\s*18\s", r.Stderr);
        Assert.Contains("MIPS", r.Stderr);
        Assert.Matches(@"uart\s*│\s*[\d,]+", r.Stderr);
    }

    [Fact]
    public void BadInput_IsOneLineAndStatusTwo()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("x"));
        AssertBadInput(Repository.Isomorph("boot", "--kernel", Path.Combine(Temp.FullName, "missing")), "no such kernel file");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--memory", "12Q"), "invalid --memory");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--memory", "4M"), "at least 16 MiB");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--memory", "2T"), "invalid --memory '2T': at most 1 TiB");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--max-instructions", "0"), "invalid --max-instructions 0: give 1 or more");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--cpus", "0"), "invalid --cpus");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--cpus", "2", "--host-threads", "3"), "invalid --host-threads");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--host-threads", "0"), "invalid --host-threads");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--firmware", Path.Combine(Temp.FullName, "fw")), "no such firmware");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--initrd", Path.Combine(Temp.FullName, "rd")), "no such initrd");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", TempFile("empty", [])), "empty");
        AssertBadInput(Repository.Isomorph("boot", "--guest", "windows"), "invalid --guest windows: give linux or kvm");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--guest", "kvm"), "give one or the other");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--hypervisor", "maybe"), "maybe");
    }
}
