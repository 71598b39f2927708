using Isomorph.Elf;
using Isomorph.Machines;
using Isomorph.Machines.Bare;
using Isomorph.Tests.Elf;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Damaged copies of guests/samples/hello.elf (<see cref="CorruptElf.FromBare"/>): the bare
/// machine refuses each with <see cref="ElfFormatException"/> or <see cref="MachineConfigurationException"/>
/// and a one-line message, and <c>isomorph bare</c> prints that line and exits with status 2. Before
/// the fix a file without PT_LOAD ran RAM's zeros for ever, and HTIF symbols over the CLINT or at
/// the top of the address space were an unhandled ArgumentException.
/// </summary>
public sealed class BareCorruptElfTests : CliTest
{
    public BareCorruptElfTests() : base("isomorph-bare-corrupt") { }

    private static byte[] Good => File.ReadAllBytes(Path.Combine(Repository.Guests, "samples", "hello.elf"));

    [Fact]
    public void TheMachineRefusesEach()
    {
        var failures = new List<string>();
        foreach (var c in CorruptElf.FromBare(Good))
        {
            try
            {
                using var machine = new BareMachine(ElfFile.Parse(c.Name, c.Bytes), new BareOptions { MaxInstructions = 100_000 });
                failures.Add($"{c.Name}: loaded");
            }
            catch (Exception e) when (e is ElfFormatException or MachineConfigurationException)
            {
                if (e.Message.Contains('\n')) failures.Add($"{c.Name}: a message of several lines: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void BareRefusesEachWithOneLineAndStatus2()
    {
        var failures = new List<string>();
        foreach (var c in CorruptElf.FromBare(Good))
        {
            var r = Repository.Isomorph("bare", "--max-instructions", "100000", TempFile(c.Name, c.Bytes));
            string[] lines = r.Stderr.TrimEnd('\n').Split('\n');
            if (r.ExitCode != 2 || r.Stdout != "" || lines.Length != 1 || !lines[0].StartsWith("isomorph: "))
                failures.Add($"{c.Name}: status {r.ExitCode}, stdout {r.Stdout}, stderr:\n{r.Stderr}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
