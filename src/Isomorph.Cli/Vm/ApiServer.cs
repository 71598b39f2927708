using Isomorph.Devices.HostIo;
using System.Text.Json;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Migration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Isomorph.Cli.Vm;

/// <summary>
/// The machine's REST API on a Unix socket (<c>isomorph boot --api-sock PATH</c>), as Firecracker
/// serves its own: ASP.NET Core minimal APIs on Kestrel. The endpoints are described in
/// docs/api.md. Every answer is JSON, errors included (<see cref="ApiError"/>). Nothing here is
/// loaded unless --api-sock is given: BootCommand touches this class only then.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _path;
    private readonly MachineSlot _machine;

    private readonly Func<MigrationOptions> _migration;
    private readonly Func<string, (int Status, string Message)>? _attachGdb;

    private ApiServer(WebApplication app, string path, MachineSlot machine, Func<MigrationOptions> migration, Func<string, (int Status, string Message)>? attachGdb)
    {
        _migration = migration;
        _attachGdb = attachGdb;
        _app = app;
        _path = path;
        _machine = machine;
    }

    /// <summary>Listens at <paramref name="path"/>; null with <paramref name="error"/> set when it cannot.</summary>
    public static ApiServer? Start(string path, MachineSlot machine, out string? error) => Start(path, machine, () => new MigrationOptions(), null, out error);

    /// <summary>
    /// As above; a migration asked for through the API starts from what <paramref name="migration"/>
    /// gives (the ownership store), and <paramref name="attachGdb"/> starts a gdb stub on the machine
    /// (given where it listens: 200 and the endpoint, or an error's status and message; null: none can).
    /// </summary>
    public static ApiServer? Start(string path, MachineSlot machine, Func<MigrationOptions> migration, Func<string, (int Status, string Message)>? attachGdb, out string? error)
    {
        // The same rules as every socket isomorph listens on; Kestrel then binds the path itself.
        using (var probe = UnixSocketPath.Listen(path, "API socket", out error))
        {
            if (probe is null) return null;
        }
        UnixSocketPath.Remove(path);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenUnixSocket(path);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        var app = builder.Build();
        var server = new ApiServer(app, path, machine, migration, attachGdb);
        server.Map(app);
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            error = $"{path}: cannot serve the API: {e.Message}";
            return null;
        }
        return server;
    }

    /// <summary>The largest request body served: a snapshot request is a path; more is refused with 413.</summary>
    public const int MaxBodyBytes = 64 << 10;

    private void Map(WebApplication app)
    {
        // Whatever goes wrong inside an endpoint is a JSON answer too, never an empty body.
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                await Write(context, e.StatusCode, new ApiError(e.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"the request body is larger than {MaxBodyBytes} bytes"
                    : $"bad request: {e.Message}"));
            }
            catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                await Write(context, StatusCodes.Status500InternalServerError, new ApiError($"internal error: {e.GetType().Name}: {e.Message}"));
            }
        });
        // Errors from routing itself (no such endpoint, wrong method) are JSON too.
        app.UseStatusCodePages(context => Write(context.HttpContext, context.HttpContext.Response.StatusCode,
            new ApiError(context.HttpContext.Response.StatusCode switch
            {
                StatusCodes.Status404NotFound => $"no endpoint {context.HttpContext.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"{context.HttpContext.Request.Method} is not allowed on {context.HttpContext.Request.Path}",
                var status => $"HTTP {status}",
            })));

        app.MapGet("/machine", context => Answer(context, machine => (200, Info(machine))));
        app.MapGet("/machine/stats", context => Answer(context, machine => (200, StatsInfo.From(machine.Statistics()))));
        app.MapPost("/machine/pause", context => Volatile.Read(ref _operation) == Migrating ? MigrationUnderWay(context) : Answer(context, machine =>
        {
            machine.Pause();
            return (200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/resume", context => Volatile.Read(ref _operation) == Migrating ? MigrationUnderWay(context) : Answer(context, machine =>
        {
            machine.Resume();
            return (200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/snapshot", Snapshot);
        app.MapPost("/machine/migrate", Migrate);
        app.MapPost("/machine/gdb", AttachGdb);
        app.MapGet("/machine/migration", context => _migrating is { } m
            ? Write(context, 200, MigrationInfo.From(m.Progress))
            : Write(context, 404, new ApiError("no migration has been started")));
    }

    private volatile MigrationSource? _migrating;

    private static Task MigrationUnderWay(HttpContext context) => Write(context, 409, new ApiError("a migration is under way: it pauses and resumes the machine itself"));
    /// <summary>What holds the machine's pause for itself: nothing, a snapshot or a migration (one at a time; a pause or resume waits its turn as a 409).</summary>
    private int _operation;
    private const int NoOperation = 0, Snapshotting = 1, Migrating = 2;

    /// <summary>Takes the machine's pause for <paramref name="operation"/>; null, or the 409 answer's message when another has it.</summary>
    private string? Begin(int operation) => Interlocked.CompareExchange(ref _operation, operation, NoOperation) switch
    {
        NoOperation => null,
        Snapshotting => "a snapshot is being taken",
        _ => "a migration is under way",
    };

    private void End() => Volatile.Write(ref _operation, NoOperation);

    /// <summary>
    /// Migrates the machine to another isomorph (docs/migration.md) and answers with the outcome
    /// once it is over: 200 whether it succeeded, failed (the machine runs on here) or is undecided
    /// (paused here); the phase says which. After a success the machine stops, and boot exits 0.
    /// </summary>
    private async Task Migrate(HttpContext context)
    {
        var (read, request) = await ReadBody<MigrationRequest>(context, "migration request {\"to\": \"HOST:PORT\"}");
        if (!read) return;
        if (request?.To is not { } to)
        {
            await Write(context, 400, new ApiError("the body names no \"to\" (HOST:PORT) to migrate to"));
            return;
        }
        if (MigrationEndpoint.Parse(to, out string? badTo) is null)
        {
            await Write(context, 400, new ApiError(badTo!));
            return;
        }
        if (request.MaxDowntimeMs is { } ms && (double.IsNaN(ms) || ms < 1 || ms > 600_000)
            || request.TimeoutMs is { } t && (double.IsNaN(t) || t < 100 || t > 3_600_000))
        {
            await Write(context, 400, new ApiError("maxDowntimeMs must be 1 to 600000, timeoutMs 100 to 3600000"));
            return;
        }
        var options = _migration();
        if (request.MaxDowntimeMs is { } downtime) options = options with { MaxDowntime = TimeSpan.FromMilliseconds(downtime) };
        if (request.TimeoutMs is { } timeout) options = options with { Timeout = TimeSpan.FromMilliseconds(timeout) };
        if (Begin(Migrating) is { } busy)
        {
            await Write(context, 409, new ApiError(busy));
            return;
        }
        try
        {
            var outcome = await Task.Run(() => _machine.Lease<MigrationProgress?>(machine =>
            {
                var source = new MigrationSource(machine, to, options);
                _migrating = source;
                var result = source.Run();
                if (result.Phase == MigrationPhase.Succeeded) machine.Stop(); // it runs there now: this process ends
                return result;
            }, null));
            if (outcome is null) await Write(context, 409, new ApiError("no machine runs here: it is resetting, has stopped, or has not arrived yet (receive)"));
            else await Write(context, 200, MigrationInfo.From(outcome));
        }
        finally
        {
            End();
        }
    }

    /// <summary>
    /// Answers with what <paramref name="action"/> makes of the current machine. Actions run one at
    /// a time (the slot's lock), so a snapshot resumes only a machine it paused itself, and the
    /// machine is not disposed under them.
    /// </summary>
    private Task Answer(HttpContext context, Func<IMachine, (int Status, object Body)> action)
    {
        (int Status, object Body) answer = (StatusCodes.Status409Conflict, new ApiError("no machine runs here: it is resetting, has stopped, or has not arrived yet (receive)"));
        _machine.Use(machine => answer = action(machine));
        return Write(context, answer.Status, answer.Body);
    }

    private async Task Snapshot(HttpContext context)
    {
        var (read, request) = await ReadBody<SnapshotRequest>(context, "snapshot request {\"path\": \"/absolute/file\"}");
        if (!read) return;
        if (request?.Path is not { Length: > 0 } path)
        {
            await Write(context, 400, new ApiError("the body names no \"path\" to write the snapshot to"));
            return;
        }
        if (path.Contains('\0'))
        {
            await Write(context, 400, new ApiError("the snapshot path holds a NUL byte"));
            return;
        }
        if (!Path.IsPathFullyQualified(path))
        {
            await Write(context, 400, new ApiError($"{path}: the snapshot path must be absolute (the machine's working directory is not the client's)"));
            return;
        }
        if (Begin(Snapshotting) is { } busy)
        {
            await Write(context, 409, new ApiError(busy));
            return;
        }
        try
        {
            await Answer(context, machine => SaveSnapshot(machine, path));
        }
        finally
        {
            End();
        }
    }

    /// <summary>Pauses the machine if it runs, saves it, and lets it run on if it was running.</summary>
    private static (int Status, object Body) SaveSnapshot(IMachine machine, string path)
    {
        bool wasRunning = !machine.IsPaused;
        machine.Pause();
        try
        {
            machine.SaveSnapshot(path);
        }
        catch (SnapshotException e)
        {
            return (400, new ApiError(e.Message));
        }
        catch (InvalidOperationException e)
        {
            return (409, new ApiError($"no snapshot: {e.Message}"));
        }
        finally
        {
            if (wasRunning) machine.Resume();
        }
        var saved = machine.LastSnapshot!;
        return (200, new ActionResult(State(machine), new SnapshotInfo(path, saved.FileBytes, saved.Elapsed.TotalMilliseconds)));
    }

    /// <summary>Starts a gdb stub on the running machine; gdb attaching then stops it (docs/gdb.md).</summary>
    private async Task AttachGdb(HttpContext context)
    {
        var (read, request) = await ReadBody<GdbRequest>(context, "gdb request {\"listen\": \"tcp:[HOST]:PORT\" or \"unix:/absolute/path\"}");
        if (!read) return;
        if (request?.Listen is not { Length: > 0 } listen)
        {
            await Write(context, 400, new ApiError("the body names no \"listen\" endpoint (tcp:[HOST]:PORT or unix:/absolute/path) for gdb"));
            return;
        }
        if (listen.Contains('\0') || listen.StartsWith("unix:", StringComparison.Ordinal) && !Path.IsPathFullyQualified(listen[5..]))
        {
            await Write(context, 400, new ApiError($"{listen.Replace('\0', '?')}: a unix: endpoint takes an absolute path without NUL bytes (the machine's working directory is not the client's)"));
            return;
        }
        if (_attachGdb is null)
        {
            await Write(context, 409, new ApiError("gdb attaches to machines that isomorph boot started with --api-sock; this one cannot be debugged"));
            return;
        }
        var (status, message) = _attachGdb(listen);
        await Write(context, status, status == 200 ? new GdbInfo(message) : new ApiError(message));
    }

    private static string State(IMachine machine) => machine.IsPaused ? "Paused" : "Running";

    private static MachineInfo Info(IMachine machine) => new(
        machine.Board,
        machine.HartCount,
        machine.Ram.Size,
        State(machine),
        machine.Instructions,
        [.. machine.Devices.Select(d => new DeviceInfo(d.Device.Name, $"0x{d.Base:x}", $"0x{d.Device.Size:x}"))]);

    /// <summary>Reads a JSON body; malformed JSON is answered with 400 naming the <paramref name="shape"/> expected, and Ok is false.</summary>
    private static async Task<(bool Ok, T? Body)> ReadBody<T>(HttpContext context, string shape) where T : class
    {
        try
        {
            return (true, await JsonSerializer.DeserializeAsync<T>(context.Request.Body, VmJson.Options));
        }
        catch (JsonException e)
        {
            await Write(context, 400, new ApiError($"the body is not a JSON {shape}: {e.Message}"));
            return (false, null);
        }
    }

    private static Task Write(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, body.GetType(), VmJson.Options) + "\n");
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        UnixSocketPath.Remove(_path);
    }
}
