using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary><c>isomorph bare</c> as a user runs it: a separate process, its output and exit status.</summary>
public sealed class BareCommandTests() : CliTest("isomorph-cli")
{
    private static string Hello => Path.Combine(Repository.Guests, "samples", "hello.elf");




    [Fact]
    public void RunsTheHelloSample()
    {
        var r = Repository.Isomorph("bare", Hello);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("Hello from Isomorph!\nfib(50) = 12586269025\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void ExitStatusIsTheTohostCode()
    {
        // rv64i passes (0); a guest test that fails returns its check number — use the deleg test with a tiny limit instead.
        var r = Repository.Isomorph("bare", GuestPrograms.Path("isa/rv64i.elf"));
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void RejectsAFileThatIsNotAnElf() =>
        AssertBadInput(Repository.Isomorph("bare", TempFile("notes.txt", "hello, world\n"u8.ToArray())), "not an ELF file");

    [Fact]
    public void RejectsAnElfForAnotherMachine() =>
        AssertBadInput(Repository.Isomorph("bare", "/bin/true"), "not a RISC-V program: ELF machine x86-64");

    [Fact]
    public void RejectsAnRv32Elf()
    {
        File.WriteAllText(Path.Combine(Temp.FullName, "start.S"), ".globl _start\n_start: j _start\n");
        var cc = Repository.Run("riscv64-unknown-elf-gcc",
            ["-march=rv32i", "-mabi=ilp32", "-nostdlib", "-nostartfiles", "-Ttext=0x80000000", "-o", "rv32.elf", "start.S"],
            TimeSpan.FromMinutes(1), Temp.FullName);
        Assert.True(cc.ExitCode == 0, cc.Stderr);
        AssertBadInput(Repository.Isomorph("bare", Path.Combine(Temp.FullName, "rv32.elf")), "RV32");
    }

    [Fact]
    public void RejectsATruncatedElf()
    {
        var bytes = File.ReadAllBytes(Hello);
        AssertBadInput(Repository.Isomorph("bare", TempFile("cut.elf", bytes[..200])), "truncated");
        AssertBadInput(Repository.Isomorph("bare", TempFile("tiny.elf", bytes[..20])), "truncated");
    }

    [Fact]
    public void RejectsSegmentsOutsideRam()
    {
        File.WriteAllText(Path.Combine(Temp.FullName, "low.S"), ".globl _start\n_start: j _start\n");
        var cc = Repository.Run("riscv64-unknown-elf-gcc",
            ["-nostdlib", "-nostartfiles", "-Ttext=0x70000000", "-o", "low.elf", "low.S"], TimeSpan.FromMinutes(1), Temp.FullName);
        Assert.True(cc.ExitCode == 0, cc.Stderr);
        AssertBadInput(Repository.Isomorph("bare", Path.Combine(Temp.FullName, "low.elf")), "outside RAM");
        // A program larger than the RAM given to it.
        AssertBadInput(Repository.Isomorph("bare", "--memory", "4K", GuestPrograms.Path("isa/rv64d.elf")), "outside RAM");
    }

    [Fact]
    public void RejectsAMissingFile() =>
        AssertBadInput(Repository.Isomorph("bare", Path.Combine(Temp.FullName, "absent.elf")), "no such file");

    [Theory]
    [InlineData("--memory", "lots")]
    [InlineData("--memory", "0")]
    [InlineData("--bogus-flag", "1")]
    [InlineData("--max-instructions", "-5")]
    public void RejectsBadFlags(string flag, string value)
    {
        var r = Repository.Isomorph("bare", flag, value, Hello);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("--max-instructions", "0", "invalid --max-instructions 0: give 1 or more (without the option there is no limit)")]
    [InlineData("--memory", "2T", "invalid --memory '2T': at most 1 TiB")]
    [InlineData("--memory", "1025G", "invalid --memory '1025G': at most 1 TiB")]
    [InlineData("--memory", "99999999999999999999999", "at most 1 TiB")]
    [InlineData("--memory", "6K", "invalid --memory '6K': not a multiple of 4 KiB")]
    [InlineData("--memory", "1X", "invalid --memory '1X': expected a size such as 128M or 1G")]
    public void BadLimits_NameTheRightReason(string flag, string value, string message) =>
        AssertBadInput(Repository.Isomorph("bare", flag, value, Hello), message);

    [Fact]
    public void OneTebibyteOfRam_IsAccepted() // reserved, not committed: only what the guest touches costs
    {
        var r = Repository.Isomorph("bare", "--memory", "1T", Hello);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("Hello from Isomorph!", r.Stdout);
    }

    [Fact]
    public void StopsAtTheInstructionLimit()
    {
        var r = Repository.Isomorph("bare", "--max-instructions", "100", Hello);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("instruction limit of 100 reached", r.Stderr);
    }

    [Fact]
    public void TracesEachInstruction()
    {
        var r = Repository.Isomorph("bare", "--trace", "--max-instructions", "3", Hello);
        var lines = r.Stderr.Split('\n');
        Assert.Matches(@"^0000000080000000 [0-9a-f]{8}  auipc gp, 0x[0-9a-f]+ +gp=0x[0-9a-f]+$", lines[0]);
        Assert.Matches(@"^0000000080000004 [0-9a-f]{8}  addi gp, gp, -?\d+ +gp=0x[0-9a-f]+$", lines[1]);
        Assert.Equal(4, lines.Count(l => l.Length > 0)); // three instructions and the limit message
    }

    [Fact]
    public void ReportsStatistics()
    {
        var r = Repository.Isomorph("bare", "--stats", GuestPrograms.Path("priv/traps.elf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"instructions retired: [\d,]+", r.Stderr);
        Assert.Matches(@"MIPS", r.Stderr);
        Assert.Contains("IllegalInstruction", r.Stderr);
        Assert.Contains("EnvironmentCallFromU", r.Stderr);
    }

    [Fact]
    public void WritesTheSignature()
    {
        var path = Path.Combine(Temp.FullName, "traps.signature");
        File.WriteAllText(path, "old contents\n");
        var r = Repository.Isomorph("bare", "--signature", path, GuestPrograms.Path("priv/traps.elf"));
        Assert.Equal(0, r.ExitCode);
        ulong[] doublewords = [2, 0xffffffff, 11, 9, 8, 3, 5, 0x1000000000, 7, 0x1000000010, 1, 0, 0, 0, 0, 0];
        var expected = doublewords.SelectMany(d => new[] { ((uint)d).ToString("x8"), ((uint)(d >> 32)).ToString("x8") });
        Assert.Equal(expected, File.ReadAllLines(path));
        Assert.Empty(Directory.GetFiles(Temp.FullName, ".*.tmp"));
    }
}
