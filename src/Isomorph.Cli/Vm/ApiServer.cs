using Isomorph.Devices.HostIo;
using System.Text.Json;
using Isomorph.Devices.State;
using Isomorph.Machines;
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

    private ApiServer(WebApplication app, string path, MachineSlot machine)
    {
        _app = app;
        _path = path;
        _machine = machine;
    }

    /// <summary>Listens at <paramref name="path"/>; null with <paramref name="error"/> set when it cannot.</summary>
    public static ApiServer? Start(string path, MachineSlot machine, out string? error)
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
        var server = new ApiServer(app, path, machine);
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
        app.MapPost("/machine/pause", context => Answer(context, machine =>
        {
            machine.Pause();
            return (200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/resume", context => Answer(context, machine =>
        {
            machine.Resume();
            return (200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/snapshot", Snapshot);
    }

    /// <summary>
    /// Answers with what <paramref name="action"/> makes of the current machine. Actions run one at
    /// a time (the slot's lock), so a snapshot resumes only a machine it paused itself, and the
    /// machine is not disposed under them.
    /// </summary>
    private Task Answer(HttpContext context, Func<IMachine, (int Status, object Body)> action)
    {
        (int Status, object Body) answer = (StatusCodes.Status409Conflict, new ApiError("the machine is not running (it is resetting or has stopped)"));
        _machine.Use(machine => answer = action(machine));
        return Write(context, answer.Status, answer.Body);
    }

    private int _snapshotting;

    private async Task Snapshot(HttpContext context)
    {
        SnapshotRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<SnapshotRequest>(context.Request.Body, VmJson.Options);
        }
        catch (JsonException e)
        {
            await Write(context, 400, new ApiError($"the body is not a JSON snapshot request {{\"path\": \"/absolute/file\"}}: {e.Message}"));
            return;
        }
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
        if (Interlocked.Exchange(ref _snapshotting, 1) != 0)
        {
            await Write(context, 409, new ApiError("a snapshot is being taken"));
            return;
        }
        try
        {
            await Answer(context, machine => SaveSnapshot(machine, path));
        }
        finally
        {
            Volatile.Write(ref _snapshotting, 0);
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

    private static string State(IMachine machine) => machine.IsPaused ? "Paused" : "Running";

    private static MachineInfo Info(IMachine machine) => new(
        machine.Board,
        machine.HartCount,
        machine.Ram.Size,
        State(machine),
        machine.Instructions,
        [.. machine.Devices.Select(d => new DeviceInfo(d.Device.Name, $"0x{d.Base:x}", $"0x{d.Device.Size:x}"))]);

    private static Task Write(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, body.GetType(), VmJson.Options) + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        UnixSocketPath.Remove(_path);
    }
}
