using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Isomorph.Cli.Vm;

/// <summary>
/// <c>isomorph vm info|stats|pause|resume|snapshot FILE|gdb ENDPOINT|migrate --to HOST:PORT --sock PATH</c>: the client of a running machine's API
/// (<c>isomorph boot --api-sock PATH</c>, docs/api.md). Prints tables, or the API's JSON with
/// --json. A socket nobody serves is one line and status 2; a request the machine refuses prints
/// its error and exits with status 1.
/// </summary>
public static class VmCommand
{
    public const int Refused = 1;

    public static Command Create()
    {
        var command = new Command("vm", "Talk to a running machine through its API socket (isomorph boot --api-sock)");
        command.Subcommands.Add(Get("info", "the machine: state, harts, memory, instructions, devices", "/machine",
            (console, json) => StatsView.Write(console, JsonSerializer.Deserialize<MachineInfo>(json, VmJson.Options)!)));
        command.Subcommands.Add(Get("stats", "instructions, wall time, MIPS, traps, interrupts, SBI calls and MMIO accesses so far", "/machine/stats",
            (console, json) => StatsView.Write(console, JsonSerializer.Deserialize<StatsInfo>(json, VmJson.Options)!)));
        command.Subcommands.Add(Post("pause", "pause the machine: no hart runs, guest time stands still", "/machine/pause"));
        command.Subcommands.Add(Post("resume", "let a paused machine run on", "/machine/resume"));

        var (sock, json) = CommonOptions();
        var file = new Argument<string>("FILE") { Description = "where the snapshot is written (atomically; the machine's process writes it)" };
        var snapshot = new Command("snapshot", "save the machine to FILE (paused meanwhile, running again after if it was)") { file, sock, json };
        snapshot.SetAction(parse => Request(parse.GetValue(sock)!, HttpMethod.Post, "/machine/snapshot",
            new SnapshotRequest(Path.GetFullPath(parse.GetValue(file)!)), parse.GetValue(json), ShowAction));
        command.Subcommands.Add(snapshot);

        var (gdbSock, gdbJson) = CommonOptions();
        var endpoint = new Argument<string>("ENDPOINT") { Description = "where the stub listens: tcp:[HOST]:PORT, unix:PATH, or a port on localhost" };
        var gdb = new Command("gdb", "start a gdb stub on the running machine (gdb attaching stops it, as QEMU's gdbserver command)") { endpoint, gdbSock, gdbJson };
        gdb.SetAction(parse => Request(parse.GetValue(gdbSock)!, HttpMethod.Post, "/machine/gdb",
            new GdbRequest(Absolute(parse.GetValue(endpoint)!)), parse.GetValue(gdbJson),
            (console, json) => console.WriteLine($"gdb stub listening on {JsonSerializer.Deserialize<GdbInfo>(json, VmJson.Options)!.Listening}")));
        command.Subcommands.Add(gdb);
        command.Subcommands.Add(MigrateCommand());
        return command;
    }

    /// <summary>A unix: endpoint's path made absolute here (the machine's working directory is not ours).</summary>
    private static string Absolute(string endpoint) =>
        endpoint.StartsWith("unix:", StringComparison.Ordinal) && endpoint.Length > 5 ? "unix:" + Path.GetFullPath(endpoint[5..]) : endpoint;

    /// <summary>The exit status of a migration whose handover is undecided (the link failed after the commit was sent).</summary>
    public const int Undecided = 3;

    private static Command MigrateCommand()
    {
        var (sock, json) = CommonOptions();
        var to = new Option<string>("--to") { Description = "where the VM goes: HOST:PORT, where isomorph receive --listen waits", Required = true };
        var maxDowntime = new Option<double>("--max-downtime")
        {
            Description = "the longest the VM may stand still, in milliseconds: RAM is copied while it runs until the rest fits",
            DefaultValueFactory = _ => 300,
        };
        var timeout = new Option<double>("--timeout") { Description = "seconds either side waits for the other before it gives up", DefaultValueFactory = _ => 10 };
        var command = new Command("migrate", "move the running VM to another isomorph (live: it runs on while its memory is copied); the source process ends once the VM runs there")
        {
            sock, to, maxDowntime, timeout, json,
        };
        command.SetAction(parse =>
        {
            string destination = parse.GetValue(to)!;
            if (Machines.Migration.MigrationEndpoint.Parse(destination, out string? error) is null) return Usage($"--to {error}");
            double ms = parse.GetValue(maxDowntime), seconds = parse.GetValue(timeout);
            if (double.IsNaN(ms) || ms < 1 || ms > 600_000) return Usage($"invalid --max-downtime {ms}: give 1 to 600000 milliseconds");
            if (double.IsNaN(seconds) || seconds < 0.1 || seconds > 3600) return Usage($"invalid --timeout {seconds}: give 0.1 to 3600 seconds");
            return Migrate(parse.GetValue(sock)!, new MigrationRequest(destination, ms, seconds * 1000), parse.GetValue(json));
        });
        return command;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }

    /// <summary>
    /// Asks the machine to migrate, shows the progress (GET /machine/migration) on a terminal while
    /// it runs, and prints one summary line: exit 0 once the destination runs the VM, 1 when the
    /// migration failed (the VM runs on at the source), <see cref="Undecided"/> when the handover is undecided.
    /// </summary>
    private static int Migrate(string socketPath, MigrationRequest request, bool json)
    {
        string full = Path.GetFullPath(socketPath);
        if (!File.Exists(full)) return Usage($"{full}: no such socket (is a machine running with --api-sock {full}?)");
        using var client = Client(full, Timeout.InfiniteTimeSpan);
        using var body = new StringContent(JsonSerializer.Serialize(request, VmJson.Options), Encoding.UTF8, "application/json");
        var post = client.PostAsync("/machine/migrate", body);
        if (!json && !Console.IsErrorRedirected) ShowProgress(full, post);
        string text;
        HttpResponseMessage response;
        try
        {
            response = post.GetAwaiter().GetResult();
            text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
        catch (HttpRequestException e)
        {
            return Usage($"{full}: no machine answers on this socket ({(e.InnerException ?? e).Message})");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"isomorph: {TryError(text) ?? $"HTTP {(int)response.StatusCode}"} (HTTP {(int)response.StatusCode})");
                return Refused;
            }
            MigrationInfo info;
            try
            {
                info = JsonSerializer.Deserialize<MigrationInfo>(text, VmJson.Options)!;
            }
            catch (JsonException e)
            {
                return Usage($"{full}: the answer is not the API's JSON: {e.Message}");
            }
            if (json) Console.Out.Write(text.EndsWith('\n') ? text : text + "\n");
            switch (info.Phase)
            {
                case nameof(Machines.Migration.MigrationPhase.Succeeded):
                    if (!json)
                        Console.Out.WriteLine($"migrated to {info.Destination} in {info.ElapsedMs:F0} ms: " +
                            (info.DowntimeMs is { } downtime ? $"downtime {downtime:F0} ms, " : $"downtime not known here ({info.Message}), ") +
                            $"{info.BytesSent:N0} bytes sent in {info.Round} rounds ({info.PagesSent:N0} pages of {info.RamBytes >> 20} MiB" +
                            (info.Throttle > 0 ? $", the guest throttled to {100 - info.Throttle}%)" : ")"));
                    return 0;
                case nameof(Machines.Migration.MigrationPhase.Undecided):
                    Console.Error.WriteLine($"isomorph: migration to {info.Destination} undecided: {info.Message}");
                    return Undecided;
                default:
                    Console.Error.WriteLine($"isomorph: migration to {info.Destination} failed: {info.Message}; the VM runs on here");
                    return Refused;
            }
        }
    }

    /// <summary>A progress bar on the terminal while the migration runs: RAM pages sent, the round, the throttle.</summary>
    private static void ShowProgress(string socketPath, Task done)
    {
        using var poll = Client(socketPath, TimeSpan.FromSeconds(5));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(true).HideCompleted(true).Start(progress =>
        {
            var task = progress.AddTask("migrating", maxValue: 1);
            while (!done.Wait(200))
            {
                try
                {
                    var info = JsonSerializer.Deserialize<MigrationInfo>(poll.GetStringAsync("/machine/migration").GetAwaiter().GetResult(), VmJson.Options);
                    if (info is null) continue;
                    task.MaxValue = Math.Max(1, info.RamBytes >> 12);
                    task.Value = Math.Min(task.MaxValue, info.PagesSent);
                    task.Description = $"{info.Phase.ToLowerInvariant()}, round {info.Round}, {info.BytesSent >> 20} MiB sent" + (info.Throttle > 0 ? $", throttle {info.Throttle}%" : "");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                }
            }
        });
    }

    private static Command Post(string name, string description, string path)
    {
        var (sock, json) = CommonOptions();
        var command = new Command(name, description) { sock, json };
        command.SetAction(parse => Request(parse.GetValue(sock)!, HttpMethod.Post, path, null, parse.GetValue(json), ShowAction));
        return command;
    }

    private static void ShowAction(Spectre.Console.IAnsiConsole console, string json)
    {
        var result = JsonSerializer.Deserialize<ActionResult>(json, VmJson.Options)!;
        if (result.Snapshot is { } s)
            console.WriteLine($"snapshot {s.Path}: {s.Bytes:N0} bytes in {s.Milliseconds:F0} ms");
        console.WriteLine($"state: {result.State}");
    }

    private static (Option<string> Sock, Option<bool> Json) CommonOptions() => (
        new Option<string>("--sock") { Description = "the machine's API socket (boot --api-sock PATH)", Required = true },
        new Option<bool>("--json") { Description = "print the API's JSON answer" });

    private static Command Get(string name, string description, string path, Action<Spectre.Console.IAnsiConsole, string> show)
    {
        var (sock, json) = CommonOptions();
        var command = new Command(name, description) { sock, json };
        command.SetAction(parse => Request(parse.GetValue(sock)!, HttpMethod.Get, path, null, parse.GetValue(json), show));
        return command;
    }

    /// <summary>Sends one request over the Unix socket; prints the answer.</summary>
    internal static int Request(string socketPath, HttpMethod method, string path, object? body, bool json, Action<Spectre.Console.IAnsiConsole, string> show)
    {
        string full = Path.GetFullPath(socketPath);
        if (!File.Exists(full))
        {
            Console.Error.WriteLine($"isomorph: {full}: no such socket (is a machine running with --api-sock {full}?)");
            return IsomorphCommand.UsageError;
        }
        using var client = Client(full);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(body, VmJson.Options), Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        string text;
        try
        {
            response = client.Send(request);
            text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"isomorph: {full}: no machine answers on this socket ({(e.InnerException ?? e).Message})");
            return IsomorphCommand.UsageError;
        }
        catch (TaskCanceledException)
        {
            Console.Error.WriteLine($"isomorph: {full}: the machine did not answer in time");
            return IsomorphCommand.UsageError;
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                string message = TryError(text) ?? $"HTTP {(int)response.StatusCode}";
                Console.Error.WriteLine($"isomorph: {message} (HTTP {(int)response.StatusCode})");
                return Refused;
            }
            try
            {
                if (json) Console.Out.Write(text.EndsWith('\n') ? text : text + "\n");
                else show(StatsView.ConsoleOn(Console.Out), text);
            }
            catch (JsonException e)
            {
                Console.Error.WriteLine($"isomorph: {full}: the answer is not the API's JSON: {e.Message}");
                return IsomorphCommand.UsageError;
            }
            return 0;
        }
    }

    private static string? TryError(string text)
    {
        try
        {
            return JsonSerializer.Deserialize<ApiError>(text, VmJson.Options)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>An HttpClient whose every connection is a new connection to the Unix socket at <paramref name="path"/>.</summary>
    private static HttpClient Client(string path, TimeSpan? timeout = null) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancel) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        BaseAddress = new Uri("http://isomorph"),
        Timeout = timeout ?? TimeSpan.FromSeconds(60),
    };
}
