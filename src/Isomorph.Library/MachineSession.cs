using Isomorph.Debugging;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Debugging;
using Isomorph.Machines.Virt;

namespace Isomorph;

/// <summary>
/// A running <see cref="VirtualMachine"/>: its console's input, pause and resume, snapshots, a gdb
/// stub attached while it runs, and its end. With <see cref="VirtualMachine.RebootOnReset"/>, a
/// guest's reboot builds a fresh machine from the same files and the session goes on with it.
/// Thread-safe.
/// </summary>
public sealed class MachineSession : IDisposable
{
    private readonly MachineSlot _slot;
    private readonly bool _reboot;
    private readonly TextWriter? _diagnostics;
    /// <summary>The engine wrapped for a debugger (with a stub from the start, or <see cref="VirtualMachine.Debuggable"/>), or null.</summary>
    private readonly ExecutionControl? _debuggable;
    private readonly FileStream? _virtioConsole;
    private readonly Lock _gdbLock = new();
    private GdbAttachment? _gdb;
    private readonly Thread _thread;
    private MachineEnd? _end;
    private volatile bool _stopping;
    private long _lastInstructions;

    internal MachineSession(VirtMachine first, MachineSlot slot, VirtualMachine settings, GdbAttachment? gdb, ExecutionControl? debuggable, FileStream? virtioConsole)
    {
        (_slot, _reboot, _diagnostics, _debuggable, _virtioConsole) = (slot, settings.RebootOnReset, settings.Diagnostics, debuggable, virtioConsole);
        slot.Install(first);
        if (gdb is not null)
        {
            // With WaitForGdb, this waits for gdb to connect: the machine starts stopped before its first instruction.
            if (gdb.Start(DebugTarget(first)) is { } error)
            {
                slot.Retire();
                first.Dispose();
                gdb.Dispose();
                virtioConsole?.Dispose();
                throw new IOException(error);
            }
            _gdb = gdb;
        }
        _thread = new Thread(() => Run(first)) { IsBackground = true, Name = "isomorph virt machine" };
        _thread.Start();
    }

    /// <summary>Runs machines until one ends other than by a reboot; each is retired from the slot and disposed when it ends.</summary>
    private void Run(VirtMachine machine)
    {
        while (true)
        {
            var result = machine.Run();
            _slot.Retire(); // nobody reaches it once disposed
            var statistics = machine.Statistics();
            Volatile.Write(ref _lastInstructions, result.Instructions);
            lock (_gdbLock)
            {
                // gdb's session ends with the machine (a reboot makes new harts): W or X before they go.
                _gdb?.Ended(result.ExitCode, result.Stop switch { VirtStop.PowerOff => 0, VirtStop.Reset => 1, _ => 9 });
                if (result.Stop == VirtStop.Reset)
                {
                    // gdb may attach to the new machine (AttachGdb).
                    _gdb?.Dispose();
                    _gdb = null;
                }
            }
            var options = machine.Options;
            machine.Dispose();
            string? message = result.Message;
            if (result.Stop == VirtStop.Reset && _reboot && !_stopping)
            {
                // A reboot is a fresh machine from the same files, as at power-on.
                try
                {
                    machine = new VirtMachine(options);
                    _slot.Install(machine);
                    if (_stopping) machine.Stop(); // a stop that came while there was no machine
                    continue;
                }
                catch (MachineConfigurationException e)
                {
                    message = $"cannot boot again: {e.Message}";
                }
            }
            var reason = result.Stop switch
            {
                VirtStop.PowerOff => MachineEndReason.PowerOff,
                VirtStop.Reset => MachineEndReason.Reset,
                VirtStop.Stopped => MachineEndReason.Stopped,
                _ => MachineEndReason.InstructionLimit,
            };
            Volatile.Write(ref _end, new MachineEnd(reason, result.ExitCode, result.Instructions, result.Elapsed, message, statistics));
            return;
        }
    }

    /// <summary>
    /// The machine of the moment, for a control plane (a REST API, a live migration, an ownership
    /// guard): empty while a reboot builds the next one, and once the session has ended.
    /// </summary>
    public MachineSlot Machine => _slot;

    /// <summary>Types <paramref name="text"/> (as UTF-8) on the serial console.</summary>
    public void SendConsoleInput(string text) => SendConsoleInput(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Types <paramref name="bytes"/> on the serial console (dropped while no machine runs: a reboot, the end).</summary>
    public void SendConsoleInput(ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        _slot.Use(m => m.SendInput(copy));
    }

    /// <summary>Pauses the machine: no hart runs and guest time stands still until <see cref="Resume"/>.</summary>
    public void Pause() => _slot.Use(m => m.Pause());

    /// <summary>Lets a paused machine run on.</summary>
    public void Resume() => _slot.Use(m => m.Resume());

    /// <summary>True while the machine is paused.</summary>
    public bool IsPaused
    {
        get
        {
            bool paused = false;
            _slot.Use(m => paused = m.IsPaused);
            return paused;
        }
    }

    /// <summary>Instructions retired by all harts of the machine of the moment (since its last reboot).</summary>
    public long Instructions
    {
        get
        {
            long count = Volatile.Read(ref _lastInstructions);
            _slot.Use(m => count = m.Instructions);
            return count;
        }
    }

    /// <summary>
    /// Writes the whole machine (configuration, harts, devices, RAM) to <paramref name="stream"/> as a
    /// snapshot, pausing it meanwhile if it runs; returns the bytes written. <see cref="VirtualMachine.FromSnapshot(Stream, long)"/>
    /// starts it again, in this process or another.
    /// </summary>
    /// <exception cref="InvalidOperationException">No machine runs (it is rebooting or has ended).</exception>
    public long SaveSnapshot(Stream stream) => Paused(m => m.SaveSnapshot(stream));

    /// <summary>
    /// As <see cref="SaveSnapshot(Stream)"/>, to the file <paramref name="path"/>, written atomically
    /// (a crash leaves the old file or the new one, never half of one); returns its size.
    /// </summary>
    /// <exception cref="InvalidOperationException">No machine runs (it is rebooting or has ended).</exception>
    /// <exception cref="IOException">The file cannot be written; the message says why.</exception>
    public long SaveSnapshot(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return Paused(m =>
            {
                m.SaveSnapshot(full);
                return m.LastSnapshot!.FileBytes;
            });
        }
        catch (SnapshotException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the machine paused, then lets it run on if it ran.</summary>
    private long Paused(Func<IMachine, long> action)
    {
        long result = 0;
        bool found = _slot.Use(m =>
        {
            bool running = !m.IsPaused;
            m.Pause();
            try
            {
                result = action(m);
            }
            finally
            {
                if (running) m.Resume();
            }
        });
        return found ? result : throw new InvalidOperationException("no machine runs: it is rebooting or has ended");
    }

    /// <summary>
    /// Starts a gdb stub on the running machine, listening at <paramref name="endpoint"/>
    /// (<c>tcp:[HOST]:PORT</c> or <c>unix:PATH</c>); gdb connecting stops the machine, as QEMU's
    /// <c>gdbserver</c> monitor command does. Returns where it listens. One stub at a time: another
    /// may attach after a reboot.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is not an endpoint.</exception>
    /// <exception cref="InvalidOperationException">A stub listens already, the machine was not started <see cref="VirtualMachine.Debuggable"/>, or no machine runs.</exception>
    /// <exception cref="IOException">The stub cannot listen there.</exception>
    public string AttachGdb(string endpoint)
    {
        if (!GdbEndpoint.TryParse(endpoint, out _, out string? badEndpoint)) throw new ArgumentException(badEndpoint, nameof(endpoint));
        lock (_gdbLock)
        {
            if (_gdb is { } listening) throw new InvalidOperationException($"a gdb stub listens already on {listening.Endpoint.Text}");
            if (_debuggable is null) throw new InvalidOperationException("this machine's engine has no debugger: gdb attaches to machines started Debuggable (isomorph boot --api-sock)");
            if (GdbAttachment.Create(endpoint, _debuggable, _diagnostics, out string? error) is not { } gdb) throw new ArgumentException(error, nameof(endpoint));
            string? listenError = null;
            if (!_slot.Use(m => listenError = gdb.Start(DebugTarget((VirtMachine)m))))
            {
                gdb.Dispose();
                throw new InvalidOperationException("no machine runs: it is rebooting or has ended");
            }
            if (listenError is not null)
            {
                gdb.Dispose();
                throw new IOException(listenError);
            }
            _gdb = gdb;
            return gdb.Endpoint.Text;
        }
    }

    /// <summary>The running machine as gdb sees it: its harts, a kill that stops it, and snapshots of it as stopped (<c>monitor snapshot PATH</c>).</summary>
    private MachineDebugTarget DebugTarget(VirtMachine machine) =>
        new(machine.Harts, Stop, path => $"snapshot of {SaveSnapshot(path):N0} bytes written to {Path.GetFullPath(path)}");

    /// <summary>Ends the run (also from a pause, or a reboot under way); <see cref="WaitForEnd"/> then gives <see cref="MachineEndReason.Stopped"/>.</summary>
    public void Stop()
    {
        _stopping = true;
        _slot.Use(m => m.Stop());
    }

    /// <summary>Waits for the run to end (the guest powers off or resets, a limit, <see cref="Stop"/>); null when <paramref name="timeout"/> passes first.</summary>
    public MachineEnd? WaitForEnd(TimeSpan? timeout = null) =>
        _thread.Join(timeout ?? Timeout.InfiniteTimeSpan) ? Volatile.Read(ref _end) : null;

    /// <summary>Stops the machine if it runs and frees its RAM, its gdb stub and its files.</summary>
    public void Dispose()
    {
        Stop();
        _thread.Join();
        lock (_gdbLock)
        {
            _gdb?.Dispose();
            _gdb = null;
        }
        _virtioConsole?.Dispose();
    }
}
