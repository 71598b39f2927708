using System.Text;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The project's Linux guest (guests/linux/build-kernel.sh: Debian's linux-source-6.1 and a BusyBox
/// initramfs, built on first use and cached in ~/.cache/isomorph) on a virt machine running on its own
/// thread, driven over the UART.
/// </summary>
public sealed class LinuxGuest : IDisposable
{
    public static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3), CommandTimeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<(string Image, string Initrd)> Built = new(() =>
    {
        var script = Path.Combine(Repository.Guests, "linux", "build-kernel.sh");
        var result = Repository.Run(script, [], TimeSpan.FromMinutes(20));
        Assert.True(result.ExitCode == 0 && !result.TimedOut, $"{script} failed:\n{result.Stderr}");
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines[^2].Trim(), lines[^1].Trim());
    });

    /// <summary>The kernel Image and initramfs, built once per test run (cached across runs).</summary>
    public static (string Image, string Initrd) Images => Built.Value;

    /// <summary>A one-hart machine with the guest, its UART on <paramref name="console"/>.</summary>
    public static VirtOptions Options(ConsoleCapture console) => new()
    {
        Kernel = Images.Image, Initrd = Images.Initrd, BootArgs = "console=ttyS0 quiet", Console = console,
    };

    public readonly ConsoleCapture Console;
    public readonly VirtMachine Machine;
    private Thread _runner;
    public int At;
    public VirtResult? Result;

    /// <summary>Boots <paramref name="options"/> to the shell prompt.</summary>
    public LinuxGuest(VirtOptions options) : this(new VirtMachine(options), (ConsoleCapture)options.Console!)
    {
        At = Console.WaitFor("/ # ", BootTimeout);
        Assert.True(At >= 0, "no shell prompt:\n" + Console.Text);
    }

    /// <summary>Runs a machine (a restored one) as it is.</summary>
    public LinuxGuest(VirtMachine machine, ConsoleCapture console)
    {
        Console = console;
        Machine = machine;
        _runner = Start();
    }

    private Thread Start()
    {
        var runner = new Thread(() => Result = Machine.Run()) { IsBackground = true };
        runner.Start();
        return runner;
    }

    public void Send(string line) => Machine.SendInput(Encoding.ASCII.GetBytes(line + "\n"));

    /// <summary>Runs a shell command and waits for <paramref name="expect"/> in what follows it, then for the prompt.</summary>
    public void Run(string command, string expect)
    {
        Send(command);
        int at = Console.WaitFor("\n", CommandTimeout, At); // past the echoed command line
        at = at < 0 ? -1 : Console.WaitFor(expect, CommandTimeout, at);
        Assert.True(at >= 0, $"'{command}' did not print '{expect}':\n{Tail(Console.Text)}");
        At = Console.WaitFor("/ # ", CommandTimeout, at);
        Assert.True(At >= 0, $"no prompt after '{command}':\n{Tail(Console.Text)}");
    }

    /// <summary>Stops the machine between two instructions (Run returns Stopped).</summary>
    public void Stop()
    {
        Machine.Stop();
        Assert.True(_runner.Join(TimeSpan.FromSeconds(30)), "Stop did not stop the machine");
        Assert.Equal(VirtStop.Stopped, Result!.Stop);
    }

    public VirtResult End(string command)
    {
        Send(command);
        Assert.True(_runner.Join(TimeSpan.FromSeconds(60)), $"'{command}' did not stop the machine:\n{Tail(Console.Text)}");
        return Result!;
    }

    public static string Tail(string text) => text.Length > 3000 ? text[^3000..] : text;

    public void Dispose()
    {
        Machine.Stop();
        _runner.Join(TimeSpan.FromSeconds(10));
        Machine.Dispose();
    }
}
