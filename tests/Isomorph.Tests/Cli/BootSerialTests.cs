using System.Net.Sockets;
using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// <c>isomorph boot --serial</c>: the UART on a file, nowhere, or a Unix socket that a client
/// drives the BusyBox shell over (real processes, a real socket).
/// </summary>
public sealed class BootSerialTests() : CliTest("isomorph-serial")
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void SerialUnix_DrivesTheShell_AClientMayLeaveAndAnotherConnect()
    {
        string sock = Path.Combine(Temp.FullName, "console.sock");
        using var vm = new IsomorphProcess("boot", "--serial", $"unix:{sock}");
        using (var first = new SocketConsole(vm.Connect(sock, BootTimeout)))
        {
            int at = first.WaitFor("/ # ", BootTimeout);
            Assert.True(at >= 0, "no shell prompt over the socket:\n" + first.Text + vm.Stderr);
            Assert.Contains("OpenSBI v", first.Text); // output from before the client connected
            first.Send("uname -m\n");
            Assert.True(first.WaitFor("riscv64", TimeSpan.FromSeconds(30), at) >= 0, "uname -m:\n" + first.Text);
        }
        Assert.Equal("", vm.Stdout.Trim()); // nothing on the terminal
        // Output while nobody is connected waits for the next client.
        using var second = new SocketConsole(vm.Connect(sock, TimeSpan.FromSeconds(10)));
        second.Send("echo $((6 * 7)) is the answer\n");
        Assert.True(second.WaitFor("42 is the answer", TimeSpan.FromSeconds(30)) >= 0, "second client:\n" + second.Text);
        second.Send("poweroff\n");
        Assert.Equal(0, vm.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.False(File.Exists(sock), "the socket file is left behind");
    }

    [Fact]
    public void SerialFile_AppendsTheOutput_AndNoneDiscardsIt()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("to the file\n"));
        string output = Path.Combine(Temp.FullName, "serial.log");
        File.WriteAllText(output, "before\n");
        var r = Repository.Isomorph("boot", "--kernel", kernel, "--serial", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stdout);
        string text = File.ReadAllText(output);
        Assert.StartsWith("before\n", text);
        Assert.Contains("OpenSBI v", text);
        Assert.EndsWith("to the file\r\n", text);

        r = Repository.Isomorph("boot", "--kernel", kernel, "--serial", "none");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void SerialUnix_ReplacesAStaleSocket_AndRemovesItAtExit()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("bye\n"));
        string sock = Path.Combine(Temp.FullName, "stale.sock");
        MakeStaleSocket(sock);
        var r = Repository.Isomorph("boot", "--kernel", kernel, "--serial", $"unix:{sock}");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.False(File.Exists(sock));
    }

    [Fact]
    public void SerialUnix_BadPaths_AreOneLineAndStatusTwo()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("x"));
        var regular = TempFile("not-a-socket", [1, 2, 3]);
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", $"unix:{regular}"), "exists and is not a socket");
        Assert.Equal([1, 2, 3], File.ReadAllBytes(regular)); // untouched
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", $"unix:{Temp.FullName}/no/such/dir/s.sock"), "cannot listen");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", "unix:" + Temp.FullName + "/" + new string('s', 120)), "at most 107 bytes");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", "unix:"), "expected unix:PATH");
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", Path.Combine(Temp.FullName, "no", "file")), "cannot open the serial output");

        string live = Path.Combine(Temp.FullName, "live.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(live));
        listener.Listen(1);
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--serial", $"unix:{live}"), "another process listens");
        Assert.True(File.Exists(live));
    }

    /// <summary>A socket file nobody listens on, as a process that died leaves (.NET unlinks the files of sockets it closes).</summary>
    public static void MakeStaleSocket(string path)
    {
        var r = Repository.Run("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0 && File.Exists(path), "cannot make a stale socket: " + r.Stderr);
    }
}
