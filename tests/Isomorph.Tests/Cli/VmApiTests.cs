using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// The machine's REST API (<c>isomorph boot --api-sock</c>) and its client (<c>isomorph vm</c>),
/// as real processes over a real Unix socket: a Linux guest with two harts, its console on a
/// serial socket.
/// </summary>
public sealed class VmApiTests() : CliTest("isomorph-api")
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void LinuxGuest_InfoAndStats_ThroughTheClient()
    {
        string api = Path.Combine(Temp.FullName, "api.sock"), serial = Path.Combine(Temp.FullName, "serial.sock");
        using var vm = new IsomorphProcess("boot", "--cpus", "2", "--serial", $"unix:{serial}", "--api-sock", api);
        using var console = new SocketConsole(vm.Connect(serial, BootTimeout));
        int at = console.WaitFor("/ # ", BootTimeout);
        Assert.True(at >= 0, "no shell prompt:\n" + console.Text + vm.Stderr);

        var info = Repository.Isomorph("vm", "info", "--sock", api);
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Matches(@"Running\s*│\s*2\s*│\s*256 MiB", info.Stdout);
        Assert.Matches(@"uart\s*│\s*0x10000000", info.Stdout);
        using (var json = JsonDocument.Parse(Repository.Isomorph("vm", "info", "--sock", api, "--json").Stdout))
        {
            Assert.Equal(2, json.RootElement.GetProperty("harts").GetInt32());
            Assert.Equal("Running", json.RootElement.GetProperty("state").GetString());
            Assert.Equal(256L << 20, json.RootElement.GetProperty("memoryBytes").GetInt64());
            Assert.True(json.RootElement.GetProperty("instructions").GetInt64() > 1_000_000);
        }

        // Booting two harts took HSM (hart_start) and IPIs; timer events go to stimecmp (Sstc), not SBI TIME.
        var stats = Repository.Isomorph("vm", "stats", "--sock", api, "--json");
        Assert.True(stats.ExitCode == 0, stats.Stderr);
        using (var json = JsonDocument.Parse(stats.Stdout))
        {
            var sbi = json.RootElement.GetProperty("sbiCalls").EnumerateArray()
                .ToDictionary(c => c.GetProperty("extension").GetString()!, c => c.GetProperty("count").GetInt64());
            Assert.True(sbi.GetValueOrDefault("HSM") >= 1 && sbi.GetValueOrDefault("TIME") == 0 && sbi.GetValueOrDefault("IPI") > 0, stats.Stdout);
            long sbiTraps = json.RootElement.GetProperty("traps").EnumerateArray()
                .Where(t => t.GetProperty("cause").GetString() == "EnvironmentCallFromS" && t.GetProperty("to").GetString() == "Machine")
                .Sum(t => t.GetProperty("count").GetInt64());
            Assert.True(sbiTraps >= sbi.Values.Sum(), stats.Stdout); // read a moment later
            Assert.Equal(2, json.RootElement.GetProperty("harts").GetInt32());
        }
        var table = Repository.Isomorph("vm", "stats", "--sock", api);
        Assert.Matches(@"HSM\s*│\s*0x48534d\s*│\s*\d+", table.Stdout);

        // Errors are JSON with the right status.
        Assert.Equal((404, "no endpoint /nope"), Http(api, "GET", "/nope"));
        Assert.Equal((405, "POST is not allowed on /machine"), Http(api, "POST", "/machine"));
        Assert.Equal(400, Http(api, "POST", "/machine/snapshot", "{not json").Status);
        Assert.Equal(400, Http(api, "POST", "/machine/snapshot", "{}").Status);
        Assert.Equal((400, "relative.snap: the snapshot path must be absolute (the machine's working directory is not the client's)"),
            Http(api, "POST", "/machine/snapshot", """{"path": "relative.snap"}"""));
        var unwritable = Repository.Isomorph("vm", "snapshot", Path.Combine(Temp.FullName, "no", "dir.snap"), "--sock", api);
        Assert.Equal(1, unwritable.ExitCode);
        Assert.Contains("cannot write the snapshot", unwritable.Stderr);
        Assert.Contains("HTTP 400", unwritable.Stderr);

        // After the guest reboots, the API answers for the fresh machine: the old one's last SBI
        // call was SRST (the reboot), which the new one has not made.
        int mark = console.Text.Length;
        console.Send("reboot\n");
        Assert.True(console.WaitFor("/ # ", BootTimeout, console.WaitFor("OpenSBI v", BootTimeout, mark)) >= 0, "no prompt after reboot:\n" + console.Text[mark..]);
        Assert.True(Instructions(api, "Running") > 0);
        var fresh = Repository.Isomorph("vm", "stats", "--sock", api, "--json");
        using (var json = JsonDocument.Parse(fresh.Stdout))
        {
            var extensions = json.RootElement.GetProperty("sbiCalls").EnumerateArray().Select(c => c.GetProperty("extension").GetString()).ToList();
            Assert.Contains("HSM", extensions);
            Assert.DoesNotContain("SRST", extensions);
        }

        console.Send("poweroff\n");
        Assert.Equal(0, vm.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.False(File.Exists(api), "the API socket is left behind");
        AssertBadInput(Repository.Isomorph("vm", "info", "--sock", api), "no such socket");
    }

    [Fact]
    public void LinuxGuest_PauseStopsIt_ResumeContinues_SnapshotRestoresElsewhere()
    {
        string api = Path.Combine(Temp.FullName, "api.sock"), serial = Path.Combine(Temp.FullName, "serial.sock");
        string snapshot = Path.Combine(Temp.FullName, "guest.snap");
        using (var vm = new IsomorphProcess("boot", "--cpus", "2", "--serial", $"unix:{serial}", "--api-sock", api))
        using (var console = new SocketConsole(vm.Connect(serial, BootTimeout)))
        {
            int at = console.WaitFor("/ # ", BootTimeout);
            Assert.True(at >= 0, "no shell prompt:\n" + console.Text + vm.Stderr);
            console.Send("while :; do echo tick; sleep 0.1; done &\n");
            Assert.True(console.WaitFor("tick", TimeSpan.FromSeconds(30), at) >= 0, console.Text);

            var pause = Repository.Isomorph("vm", "pause", "--sock", api);
            Assert.True(pause.ExitCode == 0, pause.Stderr);
            Assert.Contains("state: Paused", pause.Stdout);
            Thread.Sleep(300); // output written before the pause reaches the client
            int quiet = console.Text.Length;
            long before = Instructions(api, "Paused");
            Thread.Sleep(1000);
            Assert.Equal(before, Instructions(api, "Paused"));
            Assert.Equal(quiet, console.Text.Length); // ten ticks would have come

            var resume = Repository.Isomorph("vm", "resume", "--sock", api, "--json");
            Assert.True(resume.ExitCode == 0, resume.Stderr);
            using (var json = JsonDocument.Parse(resume.Stdout)) Assert.Equal("Running", json.RootElement.GetProperty("state").GetString());
            Assert.True(console.WaitFor("tick", TimeSpan.FromSeconds(10), quiet) >= 0, "no tick after resume:\n" + console.Text);
            Assert.True(Instructions(api, "Running") > before);

            // A snapshot of the running machine: paused for the save, running again after.
            var saved = Repository.Isomorph("vm", "snapshot", snapshot, "--sock", api);
            Assert.True(saved.ExitCode == 0, saved.Stderr);
            Assert.Matches($@"snapshot {Regex.Escape(snapshot)}: [\d,]+ bytes in \d+ ms", saved.Stdout);
            Assert.Contains("state: Running", saved.Stdout);
            Assert.Equal("ISOMSNAP"u8.ToArray(), File.ReadAllBytes(snapshot)[..8]);
            int after = console.Text.Length;
            Assert.True(console.WaitFor("tick", TimeSpan.FromSeconds(10), after) >= 0, "no tick after the snapshot:\n" + console.Text);

            // Snapshotting a paused machine leaves it paused.
            Assert.Equal(0, Repository.Isomorph("vm", "pause", "--sock", api).ExitCode);
            var pausedSave = Repository.Isomorph("vm", "snapshot", snapshot + ".2", "--sock", api, "--json");
            using (var json = JsonDocument.Parse(pausedSave.Stdout))
            {
                Assert.Equal("Paused", json.RootElement.GetProperty("state").GetString());
                Assert.Equal(new FileInfo(snapshot + ".2").Length, json.RootElement.GetProperty("snapshot").GetProperty("bytes").GetInt64());
            }
            vm.Terminate();
            Assert.Equal(143, vm.WaitForExit(TimeSpan.FromSeconds(30))); // SIGTERM, also while paused
            Assert.False(File.Exists(api) || File.Exists(serial), "socket files are left behind");
        }

        // The snapshot taken through the API boots elsewhere: the ticker goes on, the shell answers.
        using (var restored = new IsomorphProcess("boot", "--restore", snapshot, "--serial", $"unix:{serial}"))
        using (var console = new SocketConsole(restored.Connect(serial, TimeSpan.FromSeconds(60))))
        {
            Assert.True(console.WaitFor("tick", TimeSpan.FromSeconds(30)) >= 0, "no tick after restore:\n" + console.Text + restored.Stderr);
            console.Send("kill %1; echo restored $((40 + 2))\n");
            Assert.True(console.WaitFor("restored 42", TimeSpan.FromSeconds(30)) >= 0, console.Text);
            console.Send("poweroff\n");
            Assert.Equal(0, restored.WaitForExit(TimeSpan.FromSeconds(60)));
        }
    }

    private static long Instructions(string api, string expectedState)
    {
        var r = Repository.Isomorph("vm", "info", "--sock", api, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(expectedState, json.RootElement.GetProperty("state").GetString());
        return json.RootElement.GetProperty("instructions").GetInt64();
    }

    [Fact]
    public void ApiSocketPaths_StaleReplaced_OthersRefused_DeadSocketIsOneLine()
    {
        var kernel = TempFile("payload.bin", VirtMachineTests.SbiHelloPayload("x"));
        string stale = Path.Combine(Temp.FullName, "stale.sock");
        BootSerialTests.MakeStaleSocket(stale);
        // The client finds nobody behind a stale socket.
        AssertBadInput(Repository.Isomorph("vm", "stats", "--sock", stale), "no machine answers");
        var r = Repository.Isomorph("boot", "--kernel", kernel, "--api-sock", stale);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.False(File.Exists(stale));

        var regular = TempFile("not-a-socket", [7]);
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--api-sock", regular), "exists and is not a socket");
        Assert.Equal([7], File.ReadAllBytes(regular));
        AssertBadInput(Repository.Isomorph("boot", "--kernel", kernel, "--api-sock", Path.Combine(Temp.FullName, "no", "api.sock")), "cannot listen");
        AssertBadInput(Repository.Isomorph("vm", "info", "--sock", regular), "no machine answers");
        AssertBadInput(Repository.Isomorph("vm", "info"), "--sock");
        AssertBadInput(Repository.Isomorph("vm", "frobnicate", "--sock", regular), "frobnicate");
    }

    [Fact]
    public void SnapshotTargets_OnlyRegularFiles_EveryErrorIsJson()
    {
        // M-mode spinning on one instruction (jal x0, 0): a machine that runs until it is told to stop.
        var kernel = TempFile("spin.bin", [0x6f, 0, 0, 0]);
        string api = Path.Combine(Temp.FullName, "api.sock");
        using var vm = new IsomorphProcess("boot", "--firmware", "none", "--kernel", kernel, "--serial", "none", "--api-sock", api);
        vm.Connect(api, TimeSpan.FromSeconds(60)).Dispose();

        // Not a regular file: refused, and left as it was. The link's target is the host's /dev/null,
        // which a rename could never replace through a link in a directory of the test's own.
        string fifo = Path.Combine(Temp.FullName, "fifo"), link = Path.Combine(Temp.FullName, "null-link");
        Assert.Equal(0, Repository.Run("mkfifo", [fifo], TimeSpan.FromSeconds(10)).ExitCode);
        File.CreateSymbolicLink(link, "/dev/null");
        Assert.Equal((400, $"{fifo} is a FIFO: a snapshot replaces only a regular file, or is written where none exists"),
            Http(api, "POST", "/machine/snapshot", JsonSerializer.Serialize(new { path = fifo })));
        Assert.Equal((400, $"{link} is a character device: a snapshot replaces only a regular file, or is written where none exists"),
            Http(api, "POST", "/machine/snapshot", JsonSerializer.Serialize(new { path = link })));
        Assert.Equal(400, Http(api, "POST", "/machine/snapshot", JsonSerializer.Serialize(new { path = Temp.FullName })).Status);
        Assert.Equal("/dev/null", new FileInfo(link).LinkTarget);
        Assert.Equal("c", Repository.Run("stat", ["-c", "%F", "/dev/null"], TimeSpan.FromSeconds(10)).Stdout.Trim()[..1]);
        Assert.Equal("fifo", Repository.Run("stat", ["-c", "%F", fifo], TimeSpan.FromSeconds(10)).Stdout.Trim());

        // A NUL byte, an oversized body, malformed JSON: each a JSON 4xx.
        Assert.Equal((400, "the snapshot path holds a NUL byte"),
            Http(api, "POST", "/machine/snapshot", """{"path": "/tmp/a\u0000b.snap"}"""));
        var big = Http(api, "POST", "/machine/snapshot", $$"""{"path": "/{{new string('a', 100_000)}}"}""");
        Assert.Equal((413, "the request body is larger than 65536 bytes"), big);
        Assert.Equal(400, Http(api, "POST", "/machine/snapshot", """{"path": 7}""").Status);
        Assert.Equal(400, Http(api, "POST", "/machine/snapshot", "null").Status);

        // A regular file is replaced, and the machine still answers.
        string regular = TempFile("old.snap", [1, 2, 3]);
        Assert.Equal(200, Http(api, "POST", "/machine/snapshot", JsonSerializer.Serialize(new { path = regular })).Status);
        Assert.Equal("ISOMSNAP"u8.ToArray(), File.ReadAllBytes(regular)[..8]);
        vm.Terminate();
        Assert.Equal(143, vm.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    /// <summary>A raw HTTP/1.1 request over the socket: the status and the JSON error's message.</summary>
    private static (int Status, string Error) Http(string socketPath, string method, string path, string body = "")
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        socket.Send(Encoding.UTF8.GetBytes($"{method} {path} HTTP/1.1\r\nHost: isomorph\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}"));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0) response.Append(Encoding.UTF8.GetString(buffer, 0, n));
        string text = response.ToString();
        int status = int.Parse(text.Split(' ')[1]);
        Assert.Contains("Content-Type: application/json", text, StringComparison.OrdinalIgnoreCase);
        string answer = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        if (text.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            answer = string.Concat(answer.Split("\r\n").Where((_, i) => i % 2 == 1));
        using var json = JsonDocument.Parse(answer);
        return (status, json.RootElement.TryGetProperty("error", out var error) ? error.GetString()! : "");
    }
}
