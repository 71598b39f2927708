using System.CommandLine;
using System.Net.Sockets;
using Isomorph.Machines;
using Isomorph.Machines.Migration;
using Isomorph.Machines.Virt;

namespace Isomorph.Cli;

/// <summary>
/// <c>isomorph receive --listen ADDR:PORT</c>: waits for one VM migrated by <c>isomorph vm migrate</c>
/// and runs it, its console on this process's terminal as <c>boot</c>'s (docs/migration.md).
/// </summary>
public static class ReceiveCommand
{
    /// <summary>The exit status when no VM was received (the migration failed; the VM runs on at its source).</summary>
    public const int NotReceived = 1;

    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "where to wait for the VM: ADDR:PORT (0.0.0.0:PORT on every interface)", Required = true };
        var hostThreads = new Option<int>("--host-threads") { Description = "host threads running the harts (1 to the VM's number of harts)", DefaultValueFactory = _ => 1 };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = "stop after N (at least 1) instructions on a hart, counted from the VM's boot" };
        var stats = new Option<bool>("--stats") { Description = "print statistics on stderr at the end, as boot --stats" };
        var virtioConsole = new Option<FileInfo?>("--virtio-console") { Description = "where a virtio-console's output goes (default: the file the source wrote to)" };
        var serial = new Option<string>("--serial") { Description = "the UART's host side, as boot --serial: stdio, none, FILE or unix:PATH", DefaultValueFactory = _ => "stdio" };
        var apiSock = new Option<string?>("--api-sock") { Description = "serve the machine's REST API on a Unix socket at PATH once the VM runs here" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for each message from the source before giving up", DefaultValueFactory = _ => 10 };
        var engine = IsomorphCommand.EngineOption();
        var ownership = OwnershipOption.StoreOption();
        var command = new Command("receive", "Wait for a VM migrated from another isomorph (isomorph vm migrate) and run it")
        {
            listen, hostThreads, maxInstructions, stats, virtioConsole, serial, apiSock, timeout, engine, ownership,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(hostThreads) < 1) return BootCommand.Fail($"invalid --host-threads {parse.GetValue(hostThreads)}: give 1 or more");
            if (parse.GetValue(maxInstructions) is < 1) return BootCommand.Fail($"invalid --max-instructions {parse.GetValue(maxInstructions)}: give 1 or more");
            double seconds = parse.GetValue(timeout);
            if (parse.GetValue(ownership) is { } store)
            {
                if (OwnershipOption.Connect(store, null, out string? storeError) is not { } owner) return BootCommand.Fail(storeError!);
                BootCommand.s_ownership = owner;
            }
            if (double.IsNaN(seconds) || seconds < 0.1 || seconds > 3600) return BootCommand.Fail($"invalid --timeout {seconds}: give 0.1 to 3600 seconds");
            return Receive(parse.GetValue(listen)!, new MachineRestoreOptions
            {
                HostThreads = parse.GetValue(hostThreads),
                MaxInstructions = parse.GetValue(maxInstructions) ?? 0,
                Engine = IsomorphCommand.Engine(parse.GetValue(engine)),
            }, TimeSpan.FromSeconds(seconds), parse.GetValue(stats), parse.GetValue(virtioConsole), parse.GetValue(serial)!, parse.GetValue(apiSock));
        });
        return command;
    }

    private static int Receive(string endpoint, MachineRestoreOptions options, TimeSpan timeout, bool stats, FileInfo? virtioConsole, string serialText, string? apiSock)
    {
        if (!BootCommand.TryOpenVirtioConsole(virtioConsole, out var hvc, out string? hvcError)) return BootCommand.Fail(hvcError!);
        using var hvcOutput = hvc;
        using var serial = Serial.SerialBackend.Open(serialText, out string? serialError);
        if (serial is null) return BootCommand.Fail(serialError!);
        var listener = MigrationEndpoint.Listen(endpoint, out string? listenError);
        if (listener is null) return BootCommand.Fail(listenError!);
        // The API answers from the start (409 until the VM is here), and is not started in the VM's downtime.
        var slot = new MachineSlot(null);
        IAsyncDisposable? api = null;
        if (apiSock is not null && (api = BootCommand.StartApi(Path.GetFullPath(apiSock), slot, out string? apiError)) is null)
        {
            listener.Stop();
            return BootCommand.Fail(apiError!);
        }
        try
        {
            return Receive(listener, slot, api, options, timeout, stats, hvc, serial);
        }
        finally
        {
            api?.DisposeAsync().AsTask().GetAwaiter().GetResult(); // Run disposes it when the VM ran; twice does no harm
        }
    }

    private static int Receive(System.Net.Sockets.TcpListener listener, MachineSlot slot, IAsyncDisposable? api, MachineRestoreOptions options, TimeSpan timeout,
        bool stats, FileStream? hvc, Serial.SerialBackend serial)
    {
        string endpoint = listener.LocalEndpoint.ToString()!;

        Socket connection;
        int signal = 0;
        // SIGINT or SIGTERM while waiting ends the wait (and the process, with 128 + the signal).
        void StopWaiting(System.Runtime.InteropServices.PosixSignalContext context, int number)
        {
            context.Cancel = true;
            signal = number;
            listener.Stop();
        }
        using (System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => StopWaiting(c, 2)))
        using (System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => StopWaiting(c, 15)))
        {
            Console.Error.WriteLine($"isomorph: waiting for a VM on {listener.LocalEndpoint}");
            try
            {
                connection = listener.AcceptSocket();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return signal != 0 ? 128 + signal : BootCommand.Fail($"{endpoint}: {e.Message}");
            }
            finally
            {
                listener.Stop(); // one VM: nobody else connects
            }
        }
        Console.Error.WriteLine($"isomorph: a VM comes from {connection.RemoteEndPoint}");
        IMachine machine;
        try
        {
            machine = MigrationDestination.Receive(MigrationEndpoint.Stream(connection, timeout),
                options with { Console = serial.Output, VirtioConsole = hvc }, BootCommand.s_ownership?.Store, out string? vm,
                line => Console.Error.WriteLine($"isomorph: {line}"));
            if (BootCommand.s_ownership is { } owner) owner.Vm = vm;
        }
        catch (Exception e) when (e is MigrationException or MachineConfigurationException)
        {
            Console.Error.WriteLine($"isomorph: no VM received: {e.Message}");
            BootCommand.s_ownership?.Dispose();
            return NotReceived;
        }
        Console.Error.WriteLine("isomorph: the VM runs here");
        var received = VirtualMachine.FromMachine(machine) with { RebootOnReset = true, Diagnostics = Console.Error };
        return BootCommand.Run(received, options.Engine, stats, serial, slot, api);
    }
}
