using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Isomorph.Cli.Vm;

/// <summary>
/// <c>isomorph vm info|stats|pause|resume|snapshot FILE --sock PATH</c>: the client of a running machine's API
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
        return command;
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
    private static HttpClient Client(string path) => new(new SocketsHttpHandler
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
        Timeout = TimeSpan.FromSeconds(60),
    };
}
