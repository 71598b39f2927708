using System.Text.Json;
using Isomorph.Devices.State;
using Isomorph.Machines.Virt;
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
    private readonly Func<VirtMachine?> _machine;

    private ApiServer(WebApplication app, string path, Func<VirtMachine?> machine)
    {
        _app = app;
        _path = path;
        _machine = machine;
    }

    /// <summary>Listens at <paramref name="path"/>; null with <paramref name="error"/> set when it cannot.</summary>
    public static ApiServer? Start(string path, Func<VirtMachine?> machine, out string? error)
    {
        // The same rules as every socket isomorph listens on; Kestrel then binds the path itself.
        using (var probe = UnixSocketPath.Listen(path, "API socket", out error))
        {
            if (probe is null) return null;
        }
        UnixSocketPath.Remove(path);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(path));
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

    private void Map(WebApplication app)
    {
        // Errors from routing itself (no such endpoint, wrong method) are JSON too.
        app.UseStatusCodePages(context => Write(context.HttpContext, context.HttpContext.Response.StatusCode,
            new ApiError(context.HttpContext.Response.StatusCode switch
            {
                StatusCodes.Status404NotFound => $"no endpoint {context.HttpContext.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"{context.HttpContext.Request.Method} is not allowed on {context.HttpContext.Request.Path}",
                var status => $"HTTP {status}",
            })));

        app.MapGet("/machine", context => WithMachine(context, machine => Write(context, 200, Info(machine))));
        app.MapGet("/machine/stats", context => WithMachine(context, machine => Write(context, 200, StatsInfo.From(machine.Statistics()))));
        app.MapPost("/machine/pause", context => WithMachine(context, machine =>
        {
            lock (_stateGate) machine.Pause();
            return Write(context, 200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/resume", context => WithMachine(context, machine =>
        {
            lock (_stateGate) machine.Resume();
            return Write(context, 200, new ActionResult(State(machine)));
        }));
        app.MapPost("/machine/snapshot", context => WithMachine(context, machine => Snapshot(context, machine)));
    }

    /// <summary>Pause, resume and snapshot one at a time, so that a snapshot resumes only a machine it paused itself.</summary>
    private readonly Lock _stateGate = new();
    private int _snapshotting;

    private async Task Snapshot(HttpContext context, VirtMachine machine)
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
            var (status, body) = SaveSnapshot(machine, path);
            await Write(context, status, body);
        }
        finally
        {
            Volatile.Write(ref _snapshotting, 0);
        }
    }

    /// <summary>Pauses the machine if it runs, saves it, and lets it run on if it was running.</summary>
    private (int Status, object Body) SaveSnapshot(VirtMachine machine, string path)
    {
        lock (_stateGate)
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
    }

    private static string State(VirtMachine machine) => machine.IsPaused ? "Paused" : "Running";

    private Task WithMachine(HttpContext context, Func<VirtMachine, Task> action) =>
        _machine() is { } machine ? action(machine) : Write(context, StatusCodes.Status409Conflict, new ApiError("the machine is not running (it is resetting or has stopped)"));

    private static MachineInfo Info(VirtMachine machine) => new(
        machine.Harts.Count,
        machine.Ram.Size,
        State(machine),
        machine.Instructions,
        [.. machine.Bus.Devices.Select(d => new DeviceInfo(d.Device.Name, $"0x{d.Base:x}", $"0x{d.Device.Size:x}"))]);

    private static Task Write<T>(HttpContext context, int status, T body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, VmJson.Options) + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        UnixSocketPath.Remove(_path);
    }
}
