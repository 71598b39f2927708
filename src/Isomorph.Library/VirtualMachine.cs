using System.Net.NetworkInformation;
using Isomorph.Debugging;
using Isomorph.Devices.HostIo;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;
using Isomorph.Riscv.Execution;

namespace Isomorph;

/// <summary>A disk of a <see cref="VirtualMachine"/>: a raw image file on the host, a virtio-blk device in the guest.</summary>
/// <param name="Path">The image file.</param>
/// <param name="ReadOnly">Whether the guest may only read it.</param>
public sealed record VirtualDisk(string Path, bool ReadOnly = false);

/// <summary>A network card of a <see cref="VirtualMachine"/>: a virtio-net device in the guest, joined to a host-side network.</summary>
public sealed record VirtualNic
{
    private VirtualNic(string spec, PhysicalAddress? mac) => (Spec, Mac) = (spec, mac);

    /// <summary>Where it is joined: <c>socket:PATH</c> or <c>tap:NAME</c>.</summary>
    public string Spec { get; }

    /// <summary>Its MAC address; null: a random locally administered one, kept across the machine's reboots.</summary>
    public PhysicalAddress? Mac { get; }

    /// <summary>
    /// A card joined to another VM's over a Unix stream socket at <paramref name="path"/>: the first
    /// machine to start listens there, the second connects.
    /// </summary>
    public static VirtualNic Socket(string path, PhysicalAddress? mac = null) => new("socket:" + System.IO.Path.GetFullPath(path), mac);

    /// <summary>A card on the host's TAP interface <paramref name="name"/> (created if absent; needs CAP_NET_ADMIN).</summary>
    public static VirtualNic Tap(string name, PhysicalAddress? mac = null) => new("tap:" + name, mac);
}

/// <summary>Why a <see cref="VirtualMachine"/>'s run ended.</summary>
public enum MachineEndReason
{
    /// <summary>The guest powered the machine off (its exit code is the SiFive test device's).</summary>
    PowerOff,
    /// <summary>
    /// The guest reset the machine (a reboot) and <see cref="VirtualMachine.RebootOnReset"/> is off, or
    /// the machine could not be built again (<see cref="MachineEnd.Message"/> says why).
    /// </summary>
    Reset,
    /// <summary>The host stopped it (<see cref="MachineSession.Stop"/>).</summary>
    Stopped,
    /// <summary>A hart reached <see cref="VirtualMachine.MaxInstructions"/>.</summary>
    InstructionLimit,
}

/// <summary>How a machine's run ended.</summary>
/// <param name="Reason">Why it ended.</param>
/// <param name="ExitCode">The guest's exit code, when it powered off.</param>
/// <param name="Instructions">Instructions retired by all harts of the last machine (since its last reboot).</param>
/// <param name="Elapsed">Wall time the last machine spent running (pauses left out).</param>
/// <param name="Message">One line on a limit reached or a reboot that failed; null otherwise.</param>
/// <param name="Statistics">The last machine's instructions, traps, interrupts, SBI calls and device accesses.</param>
public sealed record MachineEnd(MachineEndReason Reason, int ExitCode, long Instructions, TimeSpan Elapsed, string? Message, MachineStatistics Statistics);

/// <summary>
/// A RISC-V <c>virt</c> machine (QEMU's board: CLINT, PLIC, an NS16550A UART, virtio-mmio devices)
/// built from code — firmware (Debian's OpenSBI by default), a kernel and an initial RAM disk, RAM,
/// harts, disks, network cards — or resumed from a snapshot (<see cref="FromSnapshot(string)"/>), and
/// how it runs: its serial console's output as a <see cref="Stream"/>, the engine, limits, reboots, a
/// gdb stub. <see cref="Start()"/> boots it on threads of its own; the <see cref="MachineSession"/> types
/// on its console, pauses it, snapshots it and waits for its end. A record: <c>with</c> makes a
/// variant (<c>VirtualMachine.FromSnapshot(path) with { Console = … }</c>).
/// </summary>
/// <example>
/// <code>
/// using var vm = new VirtualMachine("Image") { Initrd = "initramfs.cpio.gz", Console = Console.OpenStandardOutput() }.Start();
/// vm.SendConsoleInput("poweroff\n");
/// var end = vm.WaitForEnd();
/// </code>
/// </example>
public sealed record VirtualMachine
{
    /// <summary>A snapshot file to resume, or null.</summary>
    private readonly string? _snapshotPath;
    /// <summary>A snapshot in a stream to resume (with its length), or null.</summary>
    private readonly (Stream Stream, long Length)? _snapshotStream;
    /// <summary>A machine the board layer built (a migration's destination), or null.</summary>
    private readonly IMachine? _built;

    /// <summary>A machine that boots <paramref name="kernel"/> (a Linux Image, or any raw or ELF image).</summary>
    public VirtualMachine(string kernel) => Kernel = kernel;

    private VirtualMachine(string? snapshotPath, (Stream, long)? snapshotStream, IMachine? built) =>
        (_snapshotPath, _snapshotStream, _built) = (snapshotPath, snapshotStream, built);

    /// <summary>
    /// The machine saved in the snapshot file <paramref name="path"/> (<see cref="MachineSession.SaveSnapshot(string)"/>),
    /// to be resumed where it stopped. The snapshot holds what the machine is (its kernel, RAM, harts,
    /// disks by path, cards): setting those here is an error; how it runs (console, engine, limits,
    /// host threads, reboots) is set here.
    /// </summary>
    public static VirtualMachine FromSnapshot(string path) => new(System.IO.Path.GetFullPath(path), null, null);

    /// <summary>As <see cref="FromSnapshot(string)"/>, from <paramref name="length"/> bytes of <paramref name="snapshot"/>.</summary>
    public static VirtualMachine FromSnapshot(Stream snapshot, long length) => new(null, (snapshot, length), null);

    /// <summary>
    /// A machine that the board layer has already built, such as the one a live migration's
    /// destination received (<see cref="Machines.Migration.MigrationDestination"/>): its console,
    /// engine and limits were chosen then; a session runs it, reboots it, and serves its control plane.
    /// </summary>
    public static VirtualMachine FromMachine(IMachine machine) =>
        machine is VirtMachine ? new(null, null, machine) : throw new ArgumentException($"a {machine.Board} machine is not a virt machine", nameof(machine));

    /// <summary>The kernel's host path; null for a machine resumed from a snapshot or built elsewhere.</summary>
    public string? Kernel { get; }

    // ---- What the machine is (a new machine only: a snapshot holds these) ----

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

    /// <summary>Whether the harts have the hypervisor extension (H 1.0), as QEMU's rv64 has by default.</summary>
    public bool Hypervisor { get; init; } = true;

    /// <summary>Disk images, as virtio-blk devices in this order (the guest's /dev/vda, /dev/vdb, …).</summary>
    public IReadOnlyList<VirtualDisk> Disks { get; init; } = [];

    /// <summary>Network cards, as virtio-net devices after the disks (the guest's eth0, eth1, …).</summary>
    public IReadOnlyList<VirtualNic> Networks { get; init; } = [];

    /// <summary>Whether the guest has a virtio-rng device fed by the host's random number generator.</summary>
    public bool EntropySource { get; init; }

    // ---- How it runs ----

    /// <summary>Where the serial console's output goes (default: nowhere). Written from the machine's thread.</summary>
    public Stream? Console { get; init; }

    /// <summary>
    /// A file the output of a virtio-console is appended to (the guest's /dev/hvc1 in the project's
    /// guest); a new machine gets the device only when this is set. For a resumed machine with the
    /// device: where its output goes now (default: the file the snapshot names).
    /// </summary>
    public string? VirtioConsole { get; init; }

    /// <summary>Which engine runs the harts (default: the one $ISOMORPH_ENGINE names, else the translator).</summary>
    public ExecutionEngine? Engine { get; init; }

    /// <summary>Host threads running the harts: 1 runs them all on one, deterministically; up to <see cref="Harts"/>.</summary>
    public int HostThreads { get; init; } = 1;

    /// <summary>Stop once a hart has retired this many instructions (0: no limit).</summary>
    public long MaxInstructions { get; init; }

    /// <summary>
    /// Whether a guest's reset (a reboot) boots a new machine from the same files, as QEMU does; off,
    /// the session ends with <see cref="MachineEndReason.Reset"/> (QEMU's <c>-no-reboot</c>).
    /// </summary>
    public bool RebootOnReset { get; init; }

    /// <summary>
    /// Where a gdb stub listens for the machine from the start: <c>tcp:[HOST]:PORT</c> or
    /// <c>unix:PATH</c> (docs/gdb.md); its harts are gdb's threads. Default: no stub.
    /// </summary>
    public string? Gdb { get; init; }

    /// <summary>With <see cref="Gdb"/>: <see cref="Start()"/> waits for gdb before the first instruction (QEMU's <c>-S</c>).</summary>
    public bool WaitForGdb { get; init; }

    /// <summary>
    /// Whether gdb may attach to the running machine later (<see cref="MachineSession.AttachGdb"/>):
    /// its engine is wrapped for a debugger from the start, at the cost of one field read per quantum.
    /// </summary>
    public bool Debuggable { get; init; }

    /// <summary>Where the machine says where its gdb stub listens (default: nowhere).</summary>
    public TextWriter? Diagnostics { get; init; }

    /// <summary>Builds the machine (or resumes it), loads its images and starts it.</summary>
    /// <exception cref="ArgumentException">The machine cannot be built as given (a missing image, a bad size, a shape given with a snapshot); the message says why.</exception>
    /// <exception cref="InvalidDataException">The snapshot is missing, damaged, truncated or of another format version.</exception>
    /// <exception cref="IOException">The gdb stub cannot listen where <see cref="Gdb"/> says.</exception>
    public MachineSession Start() => Start(new MachineSlot(null));

    /// <summary>
    /// As <see cref="Start()"/>, with the machine put in <paramref name="slot"/>, one that a control
    /// plane (a REST API) already serves — answering "no machine" until now, as a migration's
    /// destination does while the machine is on its way.
    /// </summary>
    public MachineSession Start(MachineSlot slot)
    {
        Check();
        FileStream? virtioConsole = null;
        if (VirtioConsole is not null && _built is null)
        {
            virtioConsole = HostFile.OpenOutput(System.IO.Path.GetFullPath(VirtioConsole), "virtio-console output", out string? error);
            if (virtioConsole is null) throw new ArgumentException(error, nameof(VirtioConsole));
        }
        IExecutionEngine engine = LinuxProgram.EngineOf(Engine);
        GdbAttachment? gdb = null;
        if (Gdb is not null) gdb = GdbAttachment.Create(Gdb, engine, WaitForGdb, Diagnostics, out _);
        ExecutionControl? debuggable = gdb?.Control ?? (Debuggable && _built is null ? new ExecutionControl(engine, startHalted: false) : null);
        if (debuggable is not null) engine = debuggable;
        VirtMachine machine;
        try
        {
            machine = Build(engine, virtioConsole);
        }
        catch (Exception e)
        {
            virtioConsole?.Dispose();
            gdb?.Dispose();
            throw e switch
            {
                MachineConfigurationException => new ArgumentException(e.Message, e),
                SnapshotException => new InvalidDataException(e.Message, e),
                _ => e,
            };
        }
        return new MachineSession(machine, slot, this, gdb, debuggable, virtioConsole);
    }

    private VirtMachine Build(IExecutionEngine engine, FileStream? virtioConsole)
    {
        if (_built is not null) return (VirtMachine)_built;
        if (Kernel is null)
        {
            var overrides = new MachineRestoreOptions
            {
                Console = Console, VirtioConsole = virtioConsole, MaxInstructions = MaxInstructions, HostThreads = HostThreads, Engine = engine,
            };
            if (_snapshotPath is not null) return VirtMachine.Restore(_snapshotPath, overrides);
            var (stream, length) = _snapshotStream!.Value;
            using var reader = new SnapshotStreamReader(stream, length);
            return (VirtMachine)MachineBoards.Restore(reader, overrides);
        }
        return new VirtMachine(new VirtOptions
        {
            Kernel = System.IO.Path.GetFullPath(Kernel),
            Initrd = Initrd is null ? null : System.IO.Path.GetFullPath(Initrd),
            Firmware = Firmware is null ? null : System.IO.Path.GetFullPath(Firmware),
            BootArgs = CommandLine,
            MemorySize = MemoryBytes,
            Harts = Harts,
            Hypervisor = Hypervisor,
            HostThreads = HostThreads,
            Disks = [.. Disks.Select(d => new VirtDisk(System.IO.Path.GetFullPath(d.Path), d.ReadOnly))],
            // A card without a MAC gets a random one here, once: the machines its reboots build keep it.
            Nics = [.. Networks.Select(n => VirtNic.FromSpec(n.Spec, n.Mac?.GetAddressBytes() ?? Devices.Virtio.VirtioNet.RandomMac())!)],
            Rng = EntropySource,
            VirtioConsole = virtioConsole,
            VirtioConsolePath = virtioConsole?.Name,
            Console = Console,
            MaxInstructions = MaxInstructions,
            Engine = engine,
        });
    }

    /// <summary>What cannot be known wrong only by building the machine.</summary>
    private void Check()
    {
        if (Kernel is null)
        {
            // A snapshot or a built machine is what it is: only how it runs may be chosen.
            string? shape = Initrd is not null ? nameof(Initrd)
                : Firmware != VirtOptions.DefaultFirmware ? nameof(Firmware)
                : CommandLine != "console=ttyS0" ? nameof(CommandLine)
                : MemoryBytes != 256ul << 20 ? nameof(MemoryBytes)
                : Harts != 1 ? nameof(Harts)
                : !Hypervisor ? nameof(Hypervisor)
                : Disks.Count > 0 ? nameof(Disks)
                : Networks.Count > 0 ? nameof(Networks)
                : EntropySource ? nameof(EntropySource)
                : null;
            if (shape is not null) throw new ArgumentException($"{shape} cannot be set on a resumed machine: its snapshot says what the machine is", shape);
            if (Gdb is not null) throw new ArgumentException("a gdb stub from the start is for a new machine: attach one to a resumed machine with Debuggable and MachineSession.AttachGdb", nameof(Gdb));
        }
        if (_built is not null)
        {
            string? late = Console is not null ? nameof(Console) : VirtioConsole is not null ? nameof(VirtioConsole) : Engine is not null ? nameof(Engine)
                : HostThreads != 1 ? nameof(HostThreads) : MaxInstructions != 0 ? nameof(MaxInstructions)
                : Gdb is not null ? nameof(Gdb) : Debuggable ? nameof(Debuggable) : null;
            if (late is not null) throw new ArgumentException($"{late} cannot be set on a machine built already: it was chosen when the machine was built", late);
        }
        if (WaitForGdb && Gdb is null) throw new ArgumentException("WaitForGdb needs a Gdb endpoint to wait on", nameof(WaitForGdb));
        if (Gdb is not null && !GdbEndpoint.TryParse(Gdb, out _, out string? gdbError)) throw new ArgumentException(gdbError, nameof(Gdb));
        foreach (var nic in Networks)
            if (nic.Mac is { } mac && (mac.GetAddressBytes() is not { Length: 6 } bytes || (bytes[0] & 1) != 0))
                throw new ArgumentException($"{nic.Spec}: the MAC address {mac} is not a 6-byte unicast address", nameof(Networks));
        if (HostThreads < 1) throw new ArgumentException($"HostThreads {HostThreads}: give 1 or more", nameof(HostThreads));
        if (MaxInstructions < 0) throw new ArgumentException($"MaxInstructions {MaxInstructions}: give 0 (no limit) or more", nameof(MaxInstructions));
    }

    /// <summary>
    /// A machine from a snapshot (<see cref="MachineSession.SaveSnapshot(Stream)"/>) of <paramref name="length"/>
    /// bytes read from <paramref name="snapshot"/>, started where it was saved; its console's output goes to
    /// <paramref name="console"/>. Disk images are reopened by the paths the snapshot names.
    /// (<c>FromSnapshot(snapshot, length) { Console = console, Engine = engine }.Start()</c>.)
    /// </summary>
    /// <exception cref="InvalidDataException">The snapshot is damaged, truncated or of another format version.</exception>
    /// <exception cref="ArgumentException">Its machine cannot be built here (a disk image gone).</exception>
    public static MachineSession Restore(Stream snapshot, long length, Stream? console = null, ExecutionEngine engine = ExecutionEngine.Translator) =>
        new VirtualMachine(null, (snapshot, length), null) { Console = console, Engine = engine }.Start();
}
