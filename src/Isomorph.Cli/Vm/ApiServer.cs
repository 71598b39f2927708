using System.Text.Json;
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
    }

    private Task WithMachine(HttpContext context, Func<VirtMachine, Task> action) =>
        _machine() is { } machine ? action(machine) : Write(context, StatusCodes.Status409Conflict, new ApiError("the machine is not running (it is resetting or has stopped)"));

    private static MachineInfo Info(VirtMachine machine) => new(
        machine.Harts.Count,
        machine.Ram.Size,
        "Running",
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
