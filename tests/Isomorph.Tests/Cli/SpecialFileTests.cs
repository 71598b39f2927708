using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// A FIFO or a character device given where isomorph reads an image or writes an output: opening a
/// FIFO blocks until its other end appears and /dev/zero never ends, so each is one line and exit
/// status 2 at once, never a hang. Each run is given seconds, not the two minutes a guest gets.
/// </summary>
public sealed class SpecialFileTests() : CliTest("isomorph-special")
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(30);
    private static string Hello => Path.Combine(Repository.Guests, "samples", "hello.elf");

    private string Fifo(string name = "fifo")
    {
        string path = Path.Combine(Temp.FullName, name);
        Assert.Equal(0, Repository.Run("mkfifo", [path], Quick).ExitCode);
        return path;
    }

    private static Repository.ProcessResult Isomorph(params string[] args)
    {
        var r = Repository.Run("dotnet", [Repository.CliDll, .. args], Quick);
        Assert.False(r.TimedOut, $"isomorph {string.Join(' ', args)} hangs:\n{r.Stderr}");
        return r;
    }

    [Theory]
    [InlineData("bare")]
    [InlineData("run")]
    [InlineData("boot --kernel")]
    [InlineData("boot --initrd")]
    [InlineData("boot --firmware")]
    [InlineData("boot --disk")]
    [InlineData("boot --restore")]
    public void AnImageThatIsAFifoOrADevice_IsRefused(string where)
    {
        string kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("x"));
        foreach (var (path, kind) in new[] { (Fifo(), "a FIFO"), ("/dev/zero", "a character device") })
        {
            string[] args = where switch
            {
                "bare" => ["bare", path],
                "run" => ["run", path],
                "boot --kernel" or "boot --restore" => [.. where.Split(' '), path],
                _ => ["boot", "--kernel", kernel, .. where.Split(' ')[1..], path],
            };
            var r = Isomorph(args);
            AssertBadInput(r, where == "run" ? "not a regular file" : where == "boot --restore" ? $"{kind}, not a snapshot" : $"{path} is {kind}, not a regular file");
        }
    }

    [Fact]
    public void AnOutputFifoWithoutAReader_IsRefused_WithAReader_Written()
    {
        string kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("payload says hi\n"));
        string fifo = Fifo();
        AssertBadInput(Isomorph("boot", "--kernel", kernel, "--serial", fifo), $"{fifo}: cannot open the serial output: no process reads this FIFO");
        AssertBadInput(Isomorph("boot", "--kernel", kernel, "--serial", "none", "--virtio-console", fifo),
            $"{fifo}: cannot open the virtio-console output: no process reads this FIFO");
        AssertBadInput(Isomorph("boot", "--kernel", kernel, "--serial", Temp.FullName), $"{Temp.FullName} is a directory, not a file to write to (the serial output)");

        // Held open for reading (and writing, so that the open does not wait): the console goes through it.
        using (var reader = new FileStream(File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite), FileAccess.ReadWrite))
        {
            var r = Isomorph("boot", "--kernel", kernel, "--serial", fifo);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var buffer = new byte[65536];
            string text = System.Text.Encoding.UTF8.GetString(buffer, 0, reader.Read(buffer));
            Assert.Contains("OpenSBI v", text);
            Assert.EndsWith("payload says hi\r\n", text);
        }

        // A character device is a legitimate output.
        var toNull = Isomorph("boot", "--kernel", kernel, "--serial", "/dev/null", "--virtio-console", "/dev/null");
        Assert.True(toNull.ExitCode == 0, toNull.Stderr);
    }

    [Fact]
    public void ASignatureTargetThatIsAFifoOrADevice_IsRefusedAndLeftAlone()
    {
        string fifo = Fifo(), link = Path.Combine(Temp.FullName, "null-link");
        File.CreateSymbolicLink(link, "/dev/null"); // a rename would replace the link, never /dev/null itself
        AssertBadInput(Isomorph("bare", Hello, "--signature", fifo), $"{fifo} is a FIFO: --signature replaces only a regular file");
        AssertBadInput(Isomorph("bare", Hello, "--signature", link), $"{link} is a character device: --signature replaces only a regular file");
        Assert.Equal("/dev/null", new FileInfo(link).LinkTarget);
        Assert.Equal("fifo", Repository.Run("stat", ["-c", "%F", fifo], Quick).Stdout.Trim());
    }
}
