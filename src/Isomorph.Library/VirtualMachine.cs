using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;

namespace Isomorph;

/// <summary>A disk of a <see cref="VirtualMachine"/>: a raw image file on the host, a virtio-blk device in the guest.</summary>
/// <param name="Path">The image file.</param>
/// <param name="ReadOnly">Whether the guest may only read it.</param>
public sealed record VirtualDisk(string Path, bool ReadOnly = false);

/// <summary>Why a <see cref="VirtualMachine"/>'s run ended.</summary>
public enum MachineEndReason
{
    /// <summary>The guest powered the machine off (its exit code is the SiFive test device's).</summary>
    PowerOff,
    /// <summary>The guest reset the machine (a reboot): start it again to boot anew.</summary>
    Reset,
    /// <summary>The host stopped it (<see cref="MachineSession.Stop"/>).</summary>
    Stopped,
    /// <summary>A hart reached <see cref="VirtualMachine.MaxInstructions"/>.</summary>
    InstructionLimit,
}

/// <summary>How a machine's run ended.</summary>
/// <param name="Reason">Why it ended.</param>
/// <param name="ExitCode">The guest's exit code, when it powered off.</param>
/// <param name="Instructions">Instructions retired by all harts.</param>
/// <param name="Elapsed">Wall time spent running (pauses left out).</param>
public sealed record MachineEnd(MachineEndReason Reason, int ExitCode, long Instructions, TimeSpan Elapsed);

/// <summary>
/// A RISC-V <c>virt</c> machine (QEMU's board: CLINT, PLIC, an NS16550A UART, virtio-mmio disks) built
/// from code: firmware (Debian's OpenSBI by default), a kernel and an initial RAM disk, RAM, harts and
/// disks, its serial console's output as a <see cref="Stream"/>. <see cref="Start"/> boots it on threads
/// of its own; the session types on its console, pauses it, snapshots it to a stream and waits for its end.
/// </summary>
/// <example>
/// <code>
/// using var vm = new VirtualMachine("Image") { Initrd = "initramfs.cpio.gz", Console = Console.OpenStandardOutput() }.Start();
/// vm.SendConsoleInput("poweroff\n");
/// var end = vm.WaitForEnd();
/// </code>
/// </example>
public sealed class VirtualMachine
{
    /// <summary>A machine that boots <paramref name="kernel"/> (a Linux Image, or any raw or ELF image).</summary>
    public VirtualMachine(string kernel) => Kernel = kernel;

    /// <summary>The kernel's host path.</summary>
    public string Kernel { get; }

    /// <summary>An initial RAM disk (e.g. a gzipped cpio initramfs), or null.</summary>
    public string? Initrd { get; init; }

    /// <summary>The M-mode firmware loaded at the start of RAM (default: Debian's OpenSBI); null enters the kernel in M-mode.</summary>
    public string? Firmware { get; init; } = VirtOptions.DefaultFirmware;

    /// <summary>The kernel's command line.</summary>
    public string CommandLine { get; init; } = "console=ttyS0";

    /// <summary>RAM in bytes (at least 16 MiB, a multiple of 4 KiB; the host backs only what the guest touches).</summary>
    public ulong MemoryBytes { get; init; } = 256ul << 20;

    /// <summary>The number of harts (vCPUs), 1 to 64.</summary>
    public int Harts { get; init; } = 1;

    /// <summary>Host threads running the harts: 1 runs them all on one, deterministically; up to <see cref="Harts"/>.</summary>
    public int HostThreads { get; init; } = 1;

    /// <summary>Disk images, as virtio-blk devices in this order (the guest's /dev/vda, /dev/vdb, …).</summary>
    public IReadOnlyList<VirtualDisk> Disks { get; init; } = [];

    /// <summary>Where the serial console's output goes (default: nowhere). Written from the machine's thread.</summary>
    public Stream? Console { get; init; }

    /// <summary>Which engine runs the harts.</summary>
    public ExecutionEngine Engine { get; init; }

    /// <summary>Stop once a hart has retired this many instructions (0: no limit).</summary>
    public long MaxInstructions { get; init; }

    /// <summary>Builds the machine, loads its images and starts it.</summary>
    /// <exception cref="ArgumentException">The machine cannot be built as given (a missing image, a bad size); the message says why.</exception>
    public MachineSession Start()
    {
        var options = new VirtOptions
        {
            Kernel = System.IO.Path.GetFullPath(Kernel),
            Initrd = Initrd is null ? null : System.IO.Path.GetFullPath(Initrd),
            Firmware = Firmware is null ? null : System.IO.Path.GetFullPath(Firmware),
            BootArgs = CommandLine,
            MemorySize = MemoryBytes,
            Harts = Harts,
            HostThreads = HostThreads,
            Disks = [.. Disks.Select(d => new VirtDisk(System.IO.Path.GetFullPath(d.Path), d.ReadOnly))],
            Console = Console,
            MaxInstructions = MaxInstructions,
            Engine = LinuxProgram.EngineOf(Engine),
        };
        try
        {
            return new MachineSession(new VirtMachine(options));
        }
        catch (MachineConfigurationException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    /// <summary>
    /// A machine from a snapshot (<see cref="MachineSession.SaveSnapshot"/>) of <paramref name="length"/>
    /// bytes read from <paramref name="snapshot"/>, started where it was saved; its console's output goes to
    /// <paramref name="console"/>. Disk images are reopened by the paths the snapshot names.
    /// </summary>
    /// <exception cref="InvalidDataException">The snapshot is damaged, truncated or of another format version.</exception>
    /// <exception cref="ArgumentException">Its machine cannot be built here (a disk image gone).</exception>
    public static MachineSession Restore(Stream snapshot, long length, Stream? console = null, ExecutionEngine engine = ExecutionEngine.Translator)
    {
        try
        {
            using var reader = new SnapshotStreamReader(snapshot, length);
            var machine = MachineBoards.Restore(reader, new MachineRestoreOptions { Console = console, Engine = LinuxProgram.EngineOf(engine) });
            return new MachineSession((VirtMachine)machine);
        }
        catch (SnapshotException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
        catch (MachineConfigurationException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }
}

/// <summary>A running <see cref="VirtualMachine"/>: its console's input, pause and resume, snapshots, and its end. Thread-safe.</summary>
public sealed class MachineSession : IDisposable
{
    private readonly VirtMachine _machine;
    private readonly Thread _thread;
    private MachineEnd? _end;

    internal MachineSession(VirtMachine machine)
    {
        _machine = machine;
        _thread = new Thread(Run) { IsBackground = true, Name = "isomorph virt machine" };
        _thread.Start();
    }

    private void Run()
    {
        var result = _machine.Run();
        var reason = result.Stop switch
        {
            VirtStop.PowerOff => MachineEndReason.PowerOff,
            VirtStop.Reset => MachineEndReason.Reset,
            VirtStop.Stopped => MachineEndReason.Stopped,
            _ => MachineEndReason.InstructionLimit,
        };
        Volatile.Write(ref _end, new MachineEnd(reason, result.ExitCode, result.Instructions, result.Elapsed));
    }

    /// <summary>Types <paramref name="text"/> (as UTF-8) on the serial console.</summary>
    public void SendConsoleInput(string text) => _machine.SendInput(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Types <paramref name="bytes"/> on the serial console.</summary>
    public void SendConsoleInput(ReadOnlySpan<byte> bytes) => _machine.SendInput(bytes);

    /// <summary>Pauses the machine: no hart runs and guest time stands still until <see cref="Resume"/>.</summary>
    public void Pause() => _machine.Pause();

    /// <summary>Lets a paused machine run on.</summary>
    public void Resume() => _machine.Resume();

    /// <summary>True while the machine is paused.</summary>
    public bool IsPaused => _machine.IsPaused;

    /// <summary>Instructions retired by all harts so far.</summary>
    public long Instructions => _machine.Instructions;

    /// <summary>
    /// Writes the whole machine (configuration, harts, devices, RAM) to <paramref name="stream"/> as a
    /// snapshot, pausing it meanwhile if it runs; returns the bytes written. <see cref="VirtualMachine.Restore"/>
    /// starts it again, in this process or another.
    /// </summary>
    public long SaveSnapshot(Stream stream)
    {
        bool running = !_machine.IsPaused;
        _machine.Pause();
        try
        {
            return _machine.SaveSnapshot(stream);
        }
        finally
        {
            if (running) _machine.Resume();
        }
    }

    /// <summary>Ends the run (also from a pause); <see cref="WaitForEnd"/> then gives <see cref="MachineEndReason.Stopped"/>.</summary>
    public void Stop() => _machine.Stop();

    /// <summary>Waits for the run to end (the guest powers off or resets, a limit, <see cref="Stop"/>); null when <paramref name="timeout"/> passes first.</summary>
    public MachineEnd? WaitForEnd(TimeSpan? timeout = null) =>
        _thread.Join(timeout ?? Timeout.InfiniteTimeSpan) ? Volatile.Read(ref _end) : null;

    /// <summary>Stops the machine if it runs and frees its RAM.</summary>
    public void Dispose()
    {
        _machine.Stop();
        _thread.Join();
        _machine.Dispose();
    }
}
