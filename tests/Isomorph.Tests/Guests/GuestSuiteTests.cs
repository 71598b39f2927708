using System.Text;
using Isomorph.Elf;
using Isomorph.Machines.Bare;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Guests;

/// <summary>
/// Runs every self-checking guest program (guests/isa, guests/priv, guests/jit, guests/hyp) on Isomorph, and on QEMU —
/// the oracle — to show the program itself expects what the reference machine does.
/// </summary>
public sealed class GuestSuiteTests(ITestOutputHelper output)
{
    public static TheoryData<string> Programs() => new(GuestPrograms.TestNames());

    [Theory]
    [MemberData(nameof(Programs))]
    public void PassesOnIsomorph(string program)
    {
        var console = new MemoryStream();
        using var machine = new BareMachine(ElfFile.Load(GuestPrograms.Path(program)), new BareOptions
        {
            Console = console,
            MaxInstructions = 200_000_000,
        });
        var result = machine.Run();
        string text = Encoding.UTF8.GetString(console.ToArray());
        output.WriteLine(text);
        Assert.True(result.Stop == BareStop.Exited, $"{program}: {result.Stop} {result.Message}");
        Assert.True(result.ExitCode == 0, $"{program} failed check {result.ExitCode}:\n{text}");
        Assert.DoesNotContain("FAIL", text);
        // Where QEMU departs from the specification the program accepts QEMU's answer, and says so: never here.
        Assert.DoesNotContain("QEMU-7.2 DEVIATION", text);
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void PassesOnQemu(string program)
    {
        Assert.True(Repository.HasTool("qemu-system-riscv64"), "qemu-system-riscv64 is missing: run the README's test command, which installs qemu-system-misc");
        // The console goes to a file: QEMU's HTIF console drops characters a busy pipe refuses.
        string console = Path.Combine(Path.GetTempPath(), $"isomorph-qemu-{Guid.NewGuid():N}.txt");
        var r = Repository.Run("qemu-system-riscv64",
            // -icount: QEMU's time follows its instruction count, so timer tests do not depend on how busy the host is.
            ["-M", "spike", "-display", "none", "-bios", "none", "-monitor", "none", "-serial", "file:" + console,
             "-icount", "shift=4,sleep=off", "-kernel", GuestPrograms.Path(program)],
            TimeSpan.FromSeconds(60));
        string text = File.Exists(console) ? File.ReadAllText(console) : "";
        File.Delete(console);
        output.WriteLine(text);
        Assert.False(r.TimedOut, $"{program} timed out on QEMU");
        Assert.True(r.ExitCode == 0, $"{program} failed on QEMU with {r.ExitCode}:\n{text}");
    }

    [Fact]
    public void HelloSamplePrintsThroughHtif()
    {
        var console = new MemoryStream();
        using var machine = new BareMachine(ElfFile.Load(Path.Combine(Repository.Guests, "samples", "hello.elf")), new BareOptions { Console = console });
        var result = machine.Run();
        Assert.Equal(BareStop.Exited, result.Stop);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Hello from Isomorph!\nfib(50) = 12586269025\n", Encoding.UTF8.GetString(console.ToArray()));
    }
}
