// Boots a RISC-V Linux guest in a virt machine built in code, reads its console, types on it, and
// powers it off. usage: BootLinux KERNEL INITRD (the project's guest: ~/.cache/isomorph/linux/Image
// and initramfs.cpio.gz, built by guests/linux/build-kernel.sh).
using System.Text;
using Isomorph;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: BootLinux KERNEL INITRD");
    return 2;
}

var console = new ConsoleText();
using var vm = new VirtualMachine(args[0])
{
    Initrd = args[1],
    CommandLine = "console=ttyS0 quiet",
    MemoryBytes = 256ul << 20,
    Console = console,
}.Start();

console.WaitFor("/ # ");
var typed = console.Written;
vm.SendConsoleInput("uname -sm; echo $((6 * 7))\n");
console.WaitFor("\n42", from: typed); // the answer's line, not a 42 the boot printed before
Console.WriteLine($"the guest answered after {vm.Instructions:N0} instructions:");
// From the command's last echo: typed before the shell's line editor took the terminal over, the
// command is echoed twice on one line (by the terminal, then by the editor).
var answer = console.Text;
Console.WriteLine(answer[answer.LastIndexOf("uname", StringComparison.Ordinal)..].Replace("\r", "").TrimEnd());

// A snapshot to a stream, while it runs (paused for the instant the save takes).
var snapshot = new MemoryStream();
Console.WriteLine($"snapshot: {vm.SaveSnapshot(snapshot):N0} bytes");

vm.SendConsoleInput("poweroff\n");
var end = vm.WaitForEnd(TimeSpan.FromMinutes(1));
Console.WriteLine($"the machine ended: {end?.Reason}, exit code {end?.ExitCode}");
return end?.Reason == MachineEndReason.PowerOff ? 0 : 1;

/// <summary>The console's output as text: what the guest wrote so far, and waiting for a piece of it.</summary>
sealed class ConsoleText : Stream
{
    private readonly StringBuilder _text = new();

    public string Text
    {
        get { lock (_text) return _text.ToString(); }
    }

    public int Written
    {
        get { lock (_text) return _text.Length; }
    }

    /// <summary>Waits until the guest has written <paramref name="expected"/> at or after position <paramref name="from"/>.</summary>
    public void WaitFor(string expected, int from = 0)
    {
        lock (_text)
            while (!_text.ToString(from, _text.Length - from).Contains(expected, StringComparison.Ordinal))
                if (!Monitor.Wait(_text, TimeSpan.FromMinutes(2))) throw new TimeoutException($"the guest never wrote {expected}");
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (_text)
        {
            _text.Append(Encoding.UTF8.GetString(buffer, offset, count));
            Monitor.PulseAll(_text);
        }
    }

    public override void Flush() { }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
