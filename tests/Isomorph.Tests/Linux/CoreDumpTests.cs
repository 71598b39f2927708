using System.Text.RegularExpressions;
using Isomorph.Tests.Debugging;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Core dumps of guest processes (guests/linux/user/coredump.c): a signal whose default action
/// dumps core leaves an ELF core file that gdb-multiarch reads, and the parent sees WCOREDUMP,
/// only while RLIMIT_CORE allows. The oracle for the core's contents is the same program stopped
/// by the same signal under qemu-riscv64 -g: the same frames, the same pc and return address.
/// </summary>
public sealed class CoreDumpTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-core");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [InlineData("static", "6")]
    [InlineData("dynamic", "11")]
    public void AParentSeesWcoredumpOnlyWhenTheLimitAllowsAndACoreIsLeft(string linkage, string signal)
    {
        var program = LinuxGuests.Program("coredump", linkage);
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", program, signal], TimeSpan.FromSeconds(120), workingDirectory: _temp.FullName);
        Assert.Equal("", r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"signal 15, core limit unlimited: killed by 15, no core\nsignal {signal}, core limit 0: killed by {signal}, no core\n"
            + $"signal {signal}, core limit unlimited: killed by {signal}, core dumped\n", r.Stdout);
        var core = CoreFile();
        var header = File.ReadAllBytes(core).AsSpan(0, 20).ToArray();
        Assert.Equal("\x7f" + "ELF", System.Text.Encoding.Latin1.GetString(header, 0, 4));
        Assert.Equal(4, BitConverter.ToUInt16(header, 16));   // ET_CORE
        Assert.Equal(243, BitConverter.ToUInt16(header, 18)); // EM_RISCV
    }

    [GdbFact]
    public void GdbReadsTheCoreAsItSeesTheProgramStoppedByTheSignalUnderQemu()
    {
        var program = LinuxGuests.Program("coredump", "static");
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", program, "6", "direct"], TimeSpan.FromSeconds(120), workingDirectory: _temp.FullName);
        Assert.Equal(128 + 6, r.ExitCode);
        var commands = new[] { "bt", "info registers pc ra", "p/x $fcsr" };
        var args = new List<string> { "-batch", "-nx", "-ex", $"file {program}", "-ex", $"core {CoreFile()}" };
        foreach (var c in commands) args.AddRange(["-ex", c]);
        var ours = Repository.Run("gdb-multiarch", args, TimeSpan.FromSeconds(60));
        Assert.Contains("Program terminated with signal SIGABRT", ours.Stdout);
        var oracle = GdbHarness.RunTcp(GdbHarness.Qemu(program, "6", "direct"), program, ["continue", .. commands, "kill"]);
        Assert.Contains("Program received signal SIGABRT", oracle.Gdb);
        Assert.Equal(Frames(oracle.Gdb), Frames(ours.Stdout));
        Assert.Contains("level1", Frames(ours.Stdout));
        Assert.Equal(Registers(oracle.Gdb), Registers(ours.Stdout));
        Assert.Equal(3, Registers(ours.Stdout).Length);
    }

    private string CoreFile() => Assert.Single(_temp.GetFiles("core*")).FullName;

    /// <summary>The functions of gdb's backtrace, innermost first (from its last frame #0: gdb shows frame #0 alone when it loads a core).</summary>
    private static string[] Frames(string gdb) =>
        [.. Regex.Matches(gdb[gdb.LastIndexOf("\n#0 ", StringComparison.Ordinal)..], @"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)];

    /// <summary>The pc, ra and fcsr lines gdb printed.</summary>
    private static string[] Registers(string gdb) =>
        [.. gdb.Split('\n').Where(l => Regex.IsMatch(l, @"^(pc|ra)\s|^\$\d+ = ")).Select(l => Regex.Replace(l, @"^\$\d+", "$"))];
}
