using Isomorph.Devices.HostIo;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Isomorph.Devices.Bus;
using Isomorph.Devices.Clint;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.Rtc;
using Isomorph.Devices.SifiveTest;
using Isomorph.Devices.Uart;
using Isomorph.Devices.Virtio;
using Isomorph.Elf;
using Isomorph.Riscv;
using Isomorph.Riscv.Execution;
using static Isomorph.Machines.Virt.VirtMemoryMap;
using PlicDevice = Isomorph.Devices.Plic.Plic;

namespace Isomorph.Machines.Virt;

/// <summary>How a virt machine is put together.</summary>
public sealed record VirtOptions
{
    /// <summary>Debian's OpenSBI for the generic platform, the default firmware.</summary>
    public const string DefaultFirmware = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

    public ulong MemorySize { get; init; } = 256ul << 20;
    public int Harts { get; init; } = 1;
    /// <summary>Whether the harts have the hypervisor extension (H): on, as on QEMU's default rv64 CPU.</summary>
    public bool Hypervisor { get; init; } = true;
    /// <summary>Host threads running the harts: 1 multiplexes them all deterministically; up to <see cref="Harts"/>, in parallel.</summary>
    public int HostThreads { get; init; } = 1;
    /// <summary>The firmware (ELF or raw, loaded at RAM base), or null to run the kernel in M-mode itself.</summary>
    public string? Firmware { get; init; } = DefaultFirmware;
    public required string Kernel { get; init; }
    public string? Initrd { get; init; }
    public string BootArgs { get; init; } = "console=ttyS0";
    /// <summary>Where the UART's output goes.</summary>
    public Stream? Console { get; init; }
    /// <summary>Stop after this many instructions on any hart (0: no limit).</summary>
    public long MaxInstructions { get; init; }
    /// <summary>virtio-blk disks (raw images), in slot order.</summary>
    public IReadOnlyList<VirtDisk> Disks { get; init; } = [];
    /// <summary>virtio-net NICs, in slot order after the disks.</summary>
    public IReadOnlyList<VirtNic> Nics { get; init; } = [];
    /// <summary>A virtio-rng fed by the host's RNG.</summary>
    public bool Rng { get; init; }
    /// <summary>Where the output of a virtio-console (the guest's hvc1 in the project's guest, after the SBI console's hvc0) goes; null: no virtio-console.</summary>
    public Stream? VirtioConsole { get; init; }
    /// <summary>The file <see cref="VirtioConsole"/> writes to, if any: a snapshot records it so that a restored machine appends there again.</summary>
    public string? VirtioConsolePath { get; init; }
    /// <summary>The engine that runs the harts (null: <see cref="ExecutionEngines.Default"/>).</summary>
    public IExecutionEngine? Engine { get; init; }
}

/// <summary>A raw disk image for virtio-blk.</summary>
public sealed record VirtDisk(string Path, bool ReadOnly = false);

/// <summary>A virtio-net NIC: its backend (made anew each time a machine is built) and its MAC (null: random).</summary>
public sealed record VirtNic(Func<INetBackend> Backend, byte[]? Mac = null)
{
    /// <summary>How the backend is made again (socket:PATH, tap:NAME), for snapshots; null for a backend only its creator knows.</summary>
    public string? Spec { get; init; }

    /// <summary>A NIC joined to another VM's over a Unix stream socket at <paramref name="path"/>.</summary>
    public static VirtNic Socket(string path, byte[]? mac = null) => new(() => new SocketNetBackend(path), mac) { Spec = "socket:" + path };

    /// <summary>A NIC on the host's TAP interface <paramref name="name"/> (created if absent; needs CAP_NET_ADMIN).</summary>
    public static VirtNic Tap(string name, byte[]? mac = null) => new(() => new TapNetBackend(name), mac) { Spec = "tap:" + name };

    /// <summary>The NIC a <see cref="Spec"/> describes, or null.</summary>
    public static VirtNic? FromSpec(string spec, byte[]? mac) =>
        spec.StartsWith("socket:", StringComparison.Ordinal) ? Socket(spec["socket:".Length..], mac)
        : spec.StartsWith("tap:", StringComparison.Ordinal) ? Tap(spec["tap:".Length..], mac)
        : null;
}

/// <summary>Why a virt machine stopped.</summary>
public enum VirtStop
{
    /// <summary>The guest powered off (test device 0x5555, or the exit code of 0x3333).</summary>
    PowerOff,
    /// <summary>The guest asked for a reset (test device 0x7777).</summary>
    Reset,
    /// <summary>Someone called <see cref="VirtMachine.Stop"/>.</summary>
    Stopped,
    InstructionLimit,
}

public sealed record VirtResult(VirtStop Stop, int ExitCode, long Instructions, TimeSpan Elapsed, string? Message);

/// <summary>
/// A RISC-V machine with the memory map and devices of QEMU's <c>virt</c> board (see
/// <see cref="VirtMemoryMap"/>): RAM, CLINT, PLIC, an NS16550A UART, the SiFive test device and a
/// Goldfish RTC, described to the guest by a device tree built here. With firmware (OpenSBI's
/// fw_dynamic), the firmware is loaded at RAM base and the kernel at RAM base + 2 MiB; every hart
/// starts at RAM base in M-mode with a0 = hartid, a1 = the DTB and a2 = the fw_dynamic_info block.
/// mtime runs at 10 MHz from the host's clock. All harts run round-robin on the calling thread;
/// when every hart waits in WFI the thread sleeps until the next timer deadline or device input.
/// </summary>
public sealed partial class VirtMachine : IMachine
{
    /// <summary>
    /// Instructions a hart runs before the others get their turn and devices are polled. Short, so
    /// that a hart spinning on a lock another hart holds wastes little: 8 harts boot Linux in 2.1 s
    /// with 4096 against 4.9 s with 32768, and one hart is as fast.
    /// </summary>
    public const long Quantum = 1 << 12;

    /// <summary>The most harts a machine may have (the PLIC's contexts and OpenSBI's limit are far above).</summary>
    public const int MaxHarts = 64;

    private const ulong FwDynamicMagic = 0x4942534f, FwDynamicVersion = 2, NextModeSupervisor = 1;

    private readonly VirtOptions _options;
    private readonly Hart[] _harts;
    private readonly Clint _clint;
    private readonly PlicDevice _plic;
    private readonly Ns16550a _uart;
    private readonly GoldfishRtc _rtc;
    private readonly SifiveTest _test = new();
    private readonly List<VirtioMmio> _virtio = [];
    private readonly Stream _console;
    private readonly Stopwatch _clock = new();
    private readonly Stopwatch _wall = new();
    private readonly ConcurrentQueue<byte[]> _input = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private bool _consoleDirty;

    public PhysicalBus Bus { get; } = new();
    public string Board => "virt";
    public int HartCount => _harts.Length;
    public IReadOnlyList<PhysicalBus.Mapping> Devices => Bus.Devices;
    public Ram Ram { get; }
    public IReadOnlyList<Hart> Harts => _harts;
    public ulong KernelAddress { get; private set; }
    public ulong DtbAddress { get; private set; }
    public ulong FwDynamicInfoAddress { get; private set; }
    public (ulong Start, ulong End)? InitrdRange { get; private set; }
    public byte[] DeviceTree { get; private set; } = [];
    /// <summary>The virtio-mmio transports, slot by slot from <see cref="VirtMemoryMap.VirtioBase"/>.</summary>
    public IReadOnlyList<VirtioMmio> Virtio => _virtio;

    /// <summary>Builds the machine and loads the firmware, kernel, initrd and device tree into RAM.</summary>
    public VirtMachine(VirtOptions options) : this(options, loadImages: true)
    {
    }

    /// <summary>Builds the machine; without <paramref name="loadImages"/> RAM stays empty and the harts at reset (a snapshot fills them).</summary>
    private VirtMachine(VirtOptions options, bool loadImages, bool lockImages = true)
    {
        _lockImages = lockImages;
        _options = options;
        _console = options.Console ?? Stream.Null;
        if (options.Harts < 1 || options.Harts > MaxHarts)
            throw new MachineConfigurationException($"{options.Harts} harts: a virt machine has 1 to 64");
        if (options.HostThreads < 1 || options.HostThreads > options.Harts)
            throw new MachineConfigurationException($"{options.HostThreads} host threads for {options.Harts} harts: give 1 to {options.Harts}");
        if (options.MemorySize < (16ul << 20) || options.MemorySize % Ram.PageSize != 0)
            throw new MachineConfigurationException($"memory size {options.MemorySize} bytes: need at least 16 MiB, a multiple of 4 KiB");
        try
        {
            Ram = Bus.AddRam(RamBase, options.MemorySize);
        }
        catch (InsufficientMemoryException e)
        {
            throw new MachineConfigurationException(e.Message);
        }

        var code = new CodeCache(Bus);
        _harts = new Hart[options.Harts];
        for (int h = 0; h < _harts.Length; h++) _harts[h] = new Hart(Bus, (ulong)h, code, options.Hypervisor);

        _clint = new Clint(_harts.Length, () => (ulong)_clock.Elapsed.Ticks, // TimeSpan ticks are 100 ns: 10 MHz
            (h, on) => RaiseLocal(h, InterruptCause.MachineSoftware, on),
            (h, on) => RaiseLocal(h, InterruptCause.MachineTimer, on));
        foreach (var hart in _harts) hart.TimeSource = () => _clint.Mtime;
        SetUpWorkers(options.HostThreads);

        var contexts = new IInterruptLine[_harts.Length * 2];
        for (int h = 0; h < _harts.Length; h++)
        {
            var hart = _harts[h];
            contexts[2 * h] = InterruptLine.From(on => RaiseExternal(hart, InterruptCause.MachineExternal, on));
            contexts[2 * h + 1] = InterruptLine.From(on => RaiseExternal(hart, InterruptCause.SupervisorExternal, on));
        }
        _plic = new PlicDevice(PlicSources, contexts);
        _uart = new Ns16550a(_plic.Input(UartIrq)) { Output = WriteConsole };
        _rtc = new GoldfishRtc(_plic.Input(RtcIrq));
        _test.Requested += OnTestDevice;

        Bus.AddDevice(TestBase, _test);
        Bus.AddDevice(RtcBase, _rtc);
        Bus.AddDevice(ClintBase, _clint);
        Bus.AddDevice(PlicBase, _plic);
        Bus.AddDevice(UartBase, _uart);

        try
        {
            AddVirtioDevices(new BusGuestMemory(Bus, code.InvalidateStore));
            if (loadImages) LoadImages();
        }
        catch
        {
            foreach (var v in _virtio) v.Dispose();
            foreach (var hart in _harts) hart.Dispose();
            Ram.Dispose();
            throw;
        }
    }

    /// <summary>False while a migration's destination has the disk images open but not locked (<see cref="LockImages"/>).</summary>
    private readonly bool _lockImages;

    /// <summary>What the machine was built from (after a restore, the snapshot's configuration with this process's streams).</summary>
    public VirtOptions Options => _options;

    /// <summary>Fills the virtio-mmio slots: disks, then NICs, then the RNG, then the console.</summary>
    private void AddVirtioDevices(IGuestMemory memory)
    {
        var devices = new List<IVirtioDevice>();
        try
        {
            foreach (var disk in _options.Disks)
            {
                if (HostFile.NotRegular(disk.Path, "disk image") is { } notRegular) throw new MachineConfigurationException(notRegular);
                try
                {
                    var block = VirtioBlock.Open(disk.Path, disk.ReadOnly, _lockImages);
                    devices.Add(block);
                    if (block.Capacity == 0) throw new MachineConfigurationException($"{disk.Path}: the disk image is smaller than one 512-byte sector");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new MachineConfigurationException($"{disk.Path}: cannot open the disk image: {e.Message}");
                }
            }
            foreach (var nic in _options.Nics)
            {
                INetBackend backend;
                try
                {
                    backend = nic.Backend();
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException or ArgumentException)
                {
                    throw new MachineConfigurationException($"cannot set up the network backend: {e.Message}");
                }
                devices.Add(new VirtioNet(backend, nic.Mac ?? VirtioNet.RandomMac()) { FrameArrived = () => _wake.Set() });
            }
            if (_options.Rng) devices.Add(new VirtioRng());
            if (_options.VirtioConsole is { } output)
                devices.Add(new VirtioConsole
                {
                    Output = bytes =>
                    {
                        output.Write(bytes);
                        output.Flush();
                    },
                    InputArrived = () => _wake.Set(),
                });
            if (devices.Count > VirtioSlots)
                throw new MachineConfigurationException($"{devices.Count} virtio devices: a virt machine has {VirtioSlots} slots");
        }
        catch
        {
            foreach (var d in devices) d.Dispose();
            throw;
        }
        for (int i = 0; i < devices.Count; i++)
        {
            var transport = new VirtioMmio(devices[i], memory, _plic.Input(VirtioIrqBase + i));
            _virtio.Add(transport);
            Bus.AddDevice(VirtioBase + (ulong)i * VirtioStride, transport);
        }
        // Unused slots answer as QEMU's do (device id 0); the device tree lists only filled ones.
        for (int i = devices.Count; i < VirtioSlots; i++) Bus.AddDevice(VirtioBase + (ulong)i * VirtioStride, new VirtioMmioEmptySlot());
    }

    private void RaiseExternal(Hart hart, InterruptCause cause, bool on)
    {
        hart.SetInterruptPending(cause, on);
        if (on) WakeHart((int)hart.HartId);
    }

    /// <summary>The CLINT's lines: wake the hart's thread only when a line goes up (the timer is re-evaluated every round).</summary>
    private void RaiseLocal(int h, InterruptCause cause, bool on)
    {
        var hart = _harts[h];
        bool was = (hart.Mip & (1ul << (int)cause)) != 0;
        hart.SetInterruptPending(cause, on);
        if (on && !was) WakeHart(h);
    }

    private void WriteConsole(byte b)
    {
        _console.WriteByte(b);
        _consoleDirty = true;
    }

    private void OnTestDevice(TestDeviceRequest request, int code)
    {
        var (stop, exitCode) = request switch
        {
            TestDeviceRequest.Pass => (VirtStop.PowerOff, 0),
            TestDeviceRequest.Fail => (VirtStop.PowerOff, code),
            _ => (VirtStop.Reset, 0),
        };
        Halt(stop, exitCode, null);
    }

    // ---- Loading ---------------------------------------------------------------------------------

    private void LoadImages()
    {
        ulong entry;
        if (_options.Firmware is { } firmware)
        {
            var (fwEntry, _, fwEnd) = LoadImage(firmware, "firmware", RamBase);
            KernelAddress = RamBase + KernelOffset;
            if (fwEnd > KernelAddress)
                throw new MachineConfigurationException($"{firmware}: the firmware (ends at 0x{fwEnd:x}) overlaps the kernel at 0x{KernelAddress:x}");
            var (kernelEntry, _, _) = LoadImage(_options.Kernel, "kernel", KernelAddress);
            KernelAddress = kernelEntry;
            entry = fwEntry;
        }
        else
        {
            var (kernelEntry, _, _) = LoadImage(_options.Kernel, "kernel", RamBase);
            KernelAddress = entry = kernelEntry;
        }

        // From the top of RAM down: the DTB (2 MiB below the end, room to grow as firmware edits it),
        // the fw_dynamic_info block, then the initrd.
        DtbAddress = Ram.End - (2ul << 20);
        FwDynamicInfoAddress = DtbAddress - Ram.PageSize;
        if (_options.Initrd is { } initrdPath)
        {
            byte[] initrd = ReadFile(initrdPath, "initrd");
            ulong start = (FwDynamicInfoAddress - (ulong)initrd.Length) & ~(Ram.PageSize - 1);
            if (start < _kernelEnd || start < RamBase)
                throw new MachineConfigurationException(
                    $"{initrdPath}: the initrd ({initrd.Length >> 10} KiB) does not fit in RAM above the kernel; try a larger --memory");
            initrd.CopyTo(Ram.Span(start, initrd.Length));
            InitrdRange = (start, start + (ulong)initrd.Length);
        }

        DeviceTree = VirtDeviceTree.Build(new VirtDeviceTreeConfig
        {
            Harts = _harts.Length,
            Isa = _options.Hypervisor ? VirtDeviceTree.HypervisorIsa : VirtDeviceTree.DefaultIsa,
            MemorySize = _options.MemorySize,
            BootArgs = _options.BootArgs,
            Initrd = InitrdRange,
            VirtioSlots = _virtio.Count,
        });
        if ((ulong)DeviceTree.Length > (1ul << 20)) throw new MachineConfigurationException("the device tree is larger than 1 MiB");
        DeviceTree.CopyTo(Ram.Span(DtbAddress, DeviceTree.Length));

        var info = Ram.Span(FwDynamicInfoAddress, 6 * 8);
        BinaryPrimitives.WriteUInt64LittleEndian(info[0..], FwDynamicMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(info[8..], FwDynamicVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(info[16..], KernelAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(info[24..], NextModeSupervisor);
        BinaryPrimitives.WriteUInt64LittleEndian(info[32..], 0);  // options
        BinaryPrimitives.WriteUInt64LittleEndian(info[40..], 0);  // boot hart

        foreach (var hart in _harts)
        {
            hart.Pc = entry;
            hart.SetX(10, hart.HartId);
            hart.SetX(11, DtbAddress);
            hart.SetX(12, _options.Firmware is null ? 0 : FwDynamicInfoAddress);
        }
    }

    private ulong _kernelEnd;

    /// <summary>Loads an ELF file at its physical addresses or a raw image at <paramref name="address"/>; returns entry, start and end.</summary>
    private (ulong Entry, ulong Start, ulong End) LoadImage(string path, string what, ulong address)
    {
        byte[] data = ReadFile(path, what);
        ulong start, end, entry;
        if (data.Length >= 4 && data[0] == 0x7F && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F')
        {
            ElfFile elf;
            try
            {
                elf = ElfFile.Parse(path, data);
            }
            catch (ElfFormatException e)
            {
                throw new MachineConfigurationException(e.Message);
            }
            start = ulong.MaxValue;
            end = 0;
            foreach (var s in elf.Segments)
            {
                if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
                if (!Ram.Contains(s.PhysicalAddress, s.MemorySize))
                    throw new MachineConfigurationException($"{path}: {what} segment at 0x{s.PhysicalAddress:x} lies outside RAM; try a larger --memory");
                elf.SegmentBytes(s).CopyTo(Ram.Span(s.PhysicalAddress, (int)s.FileSize));
                start = Math.Min(start, s.PhysicalAddress);
                end = Math.Max(end, s.PhysicalAddress + s.MemorySize);
            }
            if (end == 0) throw new MachineConfigurationException($"{path}: the {what} ELF file has nothing to load");
            entry = elf.Entry;
        }
        else
        {
            ulong size = (ulong)data.Length;
            // A Linux RISC-V Image declares the memory it occupies once running (image_size at offset 16).
            if (data.Length >= 64 && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(56)) == 0x05435352)
                size = Math.Max(size, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(16)));
            if (!Ram.Contains(address, size))
                throw new MachineConfigurationException($"{path}: the {what} ({size >> 10} KiB) does not fit in RAM at 0x{address:x}; try a larger --memory");
            data.CopyTo(Ram.Span(address, data.Length));
            (entry, start, end) = (address, address, address + size);
        }
        if (what == "kernel") _kernelEnd = end;
        return (entry, start, end);
    }

    private static byte[] ReadFile(string path, string what)
    {
        if (HostFile.NotRegular(path, what) is { } notRegular) throw new MachineConfigurationException(notRegular);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) throw new MachineConfigurationException($"{path}: the {what} file is empty");
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MachineConfigurationException($"{path}: cannot read the {what}: {e.Message}");
        }
    }

    // ---- Running ---------------------------------------------------------------------------------
    //
    // The harts are dealt round-robin to HostThreads worker threads (hart h runs on worker h % M).
    // A worker runs each of its harts for a quantum in turn; a hart that waits in WFI costs nothing,
    // and when all of a worker's harts wait the worker sleeps until its next timer deadline or a
    // wake-up (an interrupt raised for one of its harts, input, a stop or a pause).
    //
    // With one host thread the thread calling Run is the only worker and also polls the devices
    // between rounds, so a run is a deterministic interleaving of the harts. With more, Run's thread
    // serves the devices (input, virtio backends, RTC, console) while the workers run the harts in
    // parallel; device registers are then reached by several threads, so every MMIO access and every
    // device poll holds the device lock (QEMU's big lock, in effect), while RAM, LR/SC and AMOs go
    // straight to host memory with host atomics.

    /// <summary>Queues bytes for the UART as if typed on its serial line (thread-safe).</summary>
    public void SendInput(ReadOnlySpan<byte> bytes)
    {
        _input.Enqueue(bytes.ToArray());
        _wake.Set();
    }

    /// <summary>Queues bytes for the virtio-console's input (thread-safe); false when the machine has none.</summary>
    public bool SendVirtioConsoleInput(ReadOnlySpan<byte> bytes)
    {
        if (_virtio.Select(v => v.Device).OfType<VirtioConsole>().FirstOrDefault() is not { } console) return false;
        console.SendInput(bytes);
        return true;
    }

    /// <summary>Asks <see cref="Run"/> to return (thread-safe), also from a pause.</summary>
    public void Stop()
    {
        _stopRequested = true;
        Halt(VirtStop.Stopped, 0, null);
        lock (_parkLock) Monitor.PulseAll(_parkLock);
    }

    /// <summary>Instructions retired by all harts of this machine (since it was built, or restored from a snapshot).</summary>
    public long Instructions => _harts.Sum(h => Volatile.Read(ref h.Instret)) - _instretBeforeRestore;

    /// <summary>What the harts had retired when this machine was restored from a snapshot: statistics count what it runs itself, as they count its own time and traps.</summary>
    private long _instretBeforeRestore;

    /// <summary>The number of host threads running harts.</summary>
    public int HostThreads => _workers.Length;

    /// <summary>True while the machine is paused (<see cref="Pause"/>): no hart runs, no device is polled, mtime stands still.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>
    /// Stops the machine between quanta (thread-safe): returns once no hart runs and no device is
    /// served, so that its state can be read or saved. Guest time (mtime) stops too, as on QEMU's
    /// <c>stop</c>. Does nothing when already paused; when the machine is not running, it simply
    /// stays paused once started.
    /// </summary>
    public void Pause()
    {
        lock (_pauseGate)
        {
            if (IsPaused) return;
            // Harts a debugger holds stopped wait inside its engine: it lets them come to this park.
            if (_options.Engine is Isomorph.Debugging.ExecutionControl debugger) debugger.LendParkedHarts(ParkEveryHart);
            else ParkEveryHart();
            _clock.Stop();
            _wall.Stop(); // statistics count time spent running
            IsPaused = true;
        }
    }

    private void ParkEveryHart()
    {
        lock (_parkLock)
        {
            _pauseRequested = true;
            foreach (var hart in _harts) hart.RequestStop();
            WakeAll();
            while (_participants > 0 && _parked < _participants) Monitor.Wait(_parkLock);
        }
    }

    /// <summary>Lets a paused machine run on (thread-safe).</summary>
    public void Resume()
    {
        lock (_pauseGate)
        {
            if (!IsPaused) return;
            IsPaused = false;
            if (_running)
            {
                _clock.Start();
                _wall.Start();
            }
            lock (_parkLock)
            {
                _pauseRequested = false;
                Monitor.PulseAll(_parkLock);
            }
        }
    }

    /// <summary>Wall time spent in <see cref="Run"/> so far, pauses left out.</summary>
    public TimeSpan Elapsed => _wall.Elapsed;

    /// <summary>Instructions, wall time, traps and SBI calls of every hart added up, MMIO accesses per device (thread-safe; counts may be a quantum old).</summary>
    public MachineStatistics Statistics() => new(
        _harts.Length,
        Instructions,
        _wall.Elapsed,
        TrapStatistics.Sum(_harts.Select(h => h.Statistics)),
        [.. Bus.AccessCounts.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value))]);

    /// <summary>Runs until the guest powers off or resets, <see cref="Stop"/> is called, or the instruction limit.</summary>
    public VirtResult Run()
    {
        _halt = null;
        _halted = false;
        if (_stopRequested) Halt(VirtStop.Stopped, 0, null);
        lock (_parkLock) _participants = _workers.Length == 1 ? 1 : _workers.Length + 1;
        _running = true;
        if (!_pauseRequested)
        {
            _clock.Start();
            _wall.Start();
        }
        try
        {
            if (_workers.Length == 1)
            {
                RunWorker(_workers[0], servesDevices: true);
            }
            else
            {
                var threads = _workers.Select(w => new Thread(() => RunWorker(w, servesDevices: false))
                {
                    Name = $"harts {string.Join(',', w.Harts.Select(h => h.HartId))}",
                    IsBackground = true,
                }).ToArray();
                foreach (var t in threads) t.Start();
                ServeDevices();
                foreach (var t in threads) t.Join();
            }
        }
        finally
        {
            foreach (var hart in _harts) hart.SettleStatistics(); // every worker has returned
            lock (_parkLock)
            {
                _running = false;
                Monitor.PulseAll(_parkLock); // a Dispose waiting for the run to end
            }
            _clock.Stop();
            _wall.Stop();
            FlushConsole();
        }
        var (stop, code, message) = _halt!.Value;
        return new VirtResult(stop, code, Instructions, _wall.Elapsed, message);
    }

    /// <summary>One host thread's share of the harts, and what wakes it.</summary>
    private sealed class Worker(Hart[] harts, ManualResetEventSlim wake)
    {
        public readonly Hart[] Harts = harts;
        public readonly ManualResetEventSlim Wake = wake;
    }

    private Worker[] _workers = [];
    private Worker[] _workerOfHart = [];
    private readonly object _pauseGate = new(), _parkLock = new();
    private readonly object _deviceLock = new();
    private int _participants, _parked;
    private volatile bool _pauseRequested, _running, _halted, _stopRequested;
    private (VirtStop Stop, int Code, string? Message)? _halt;

    private void SetUpWorkers(int hostThreads)
    {
        _workers = new Worker[hostThreads];
        for (int t = 0; t < hostThreads; t++)
        {
            var mine = _harts.Where(h => (int)h.HartId % hostThreads == t).ToArray();
            // A single worker shares the machine's wake-up event: input and backends wake it directly.
            _workers[t] = new Worker(mine, hostThreads == 1 ? _wake : new ManualResetEventSlim(false));
            // A hart spinning on a lock (PAUSE, or a WFI that does not wait) hands the thread on:
            // to the harts it shares it with, or, when they all spin, back to the host scheduler —
            // KVM's pause-loop exiting, in effect — so that a preempted lock holder gets to run.
            foreach (var h in mine) h.YieldOnPause = _harts.Length > 1;
        }
        _workerOfHart = _harts.Select(h => _workers[(int)h.HartId % hostThreads]).ToArray();
        if (hostThreads > 1) Bus.DeviceLock = _deviceLock;
    }

    /// <summary>Records why the machine stops (the first reason wins) and stops every hart.</summary>
    private void Halt(VirtStop stop, int code, string? message)
    {
        lock (_parkLock)
        {
            _halt ??= (stop, code, message);
            _halted = true;
        }
        foreach (var hart in _harts) hart.RequestStop();
        WakeAll();
    }

    private bool Halted => _halted;

    private void WakeAll()
    {
        _wake.Set();
        foreach (var w in _workers) w.Wake.Set();
    }

    /// <summary>Wakes the thread running hart <paramref name="hart"/> (an interrupt became pending).</summary>
    private void WakeHart(int hart)
    {
        if (_workerOfHart.Length > hart) _workerOfHart[hart].Wake.Set();
        _wake.Set();
    }

    /// <summary>Parks the calling thread while a pause is requested.</summary>
    private void ParkIfPaused()
    {
        if (!_pauseRequested) return;
        lock (_parkLock)
        {
            _parked++;
            Monitor.PulseAll(_parkLock);
            while (_pauseRequested && !Halted) Monitor.Wait(_parkLock);
            _parked--;
        }
    }

    private void LeaveRun()
    {
        lock (_parkLock)
        {
            _participants--;
            Monitor.PulseAll(_parkLock);
        }
    }

    private void RunWorker(Worker worker, bool servesDevices)
    {
        try
        {
            var harts = worker.Harts;
            var engine = _options.Engine ?? ExecutionEngines.Default;
            long runningSince = System.Diagnostics.Stopwatch.GetTimestamp();
            while (true)
            {
                ThrottleWorker(worker, ref runningSince);
                ParkIfPaused();
                worker.Wake.Reset();
                if (Halted) return;
                if (_options.MaxInstructions > 0)
                    foreach (var h in harts)
                        if (h.Instret >= _options.MaxInstructions)
                        {
                            Halt(VirtStop.InstructionLimit, 0, $"instruction limit of {_options.MaxInstructions} reached at pc 0x{h.Pc:x}");
                            return;
                        }
                if (servesDevices) PollDevices();

                bool allWaiting = true;
                int yielded = 0;
                foreach (var hart in harts)
                    switch (engine.Run(hart, Quantum))
                    {
                        case HartStop.WaitingForInterrupt: break;
                        case HartStop.Yielded: yielded++; allWaiting = false; break;
                        default: allWaiting = false; break;
                    }
                if (yielded == harts.Length) Thread.Yield();
                if (servesDevices)
                {
                    _clint.Update();
                    _rtc.Poll();
                    FlushConsole();
                }
                else
                {
                    lock (_deviceLock)
                        foreach (var hart in harts) _clint.Update((int)hart.HartId);
                }
                if (allWaiting && !Halted && !_pauseRequested) Idle(worker, servesDevices);
            }
        }
        finally
        {
            LeaveRun();
        }
    }

    /// <summary>Run's thread when harts run on worker threads: input, virtio backends, RTC and console.</summary>
    private void ServeDevices()
    {
        try
        {
            while (true)
            {
                ParkIfPaused();
                _wake.Reset();
                if (Halted) return;
                lock (_deviceLock)
                {
                    PollDevices();
                    _rtc.Poll();
                    FlushConsole();
                }
                _wake.Wait(TimeSpan.FromMilliseconds(5));
            }
        }
        finally
        {
            LeaveRun();
        }
    }

    private void PollDevices()
    {
        while (_uart.CanReceive && _input.TryDequeue(out var bytes)) _uart.Receive(bytes);
        foreach (var v in _virtio) v.Poll();
    }

    private void FlushConsole()
    {
        if (!_consoleDirty) return;
        _consoleDirty = false;
        _console.Flush();
    }

    /// <summary>
    /// Sleeps while every hart of <paramref name="worker"/> waits: until the next of their timer
    /// deadlines (mtimecmp, and Sstc's stimecmp and vstimecmp), or a wake-up. A virt machine never gives up on a guest whose harts all wait with
    /// no timer ahead: console input, the network, the API or a signal may still wake it.
    /// </summary>
    private void Idle(Worker worker, bool servesDevices)
    {
        ulong now = _clint.Mtime, next = ulong.MaxValue;
        foreach (var hart in worker.Harts)
        {
            ulong deadline = Math.Min(_clint.Mtimecmp((int)hart.HartId), hart.SupervisorTimerDeadline);
            if (deadline > now && deadline < next) next = deadline;
        }
        if (next == ulong.MaxValue)
        {
            // No timer ahead: only input or another hart can wake these harts. Wait for it in slices.
            worker.Wake.Wait(TimeSpan.FromMilliseconds(100));
            return;
        }
        ulong ticks = Math.Min(next - now, (ulong)TimeSpan.FromSeconds(1).Ticks);
        if (ticks > 0) worker.Wake.Wait(TimeSpan.FromTicks((long)ticks));
        if (servesDevices) _clint.Update();
    }

    /// <summary>
    /// Frees the machine: RAM, the harts' native state, the devices' backends. A machine still
    /// running on another thread is stopped first and waited for, so that no hart is left storing
    /// into RAM that is gone (a host crash, not a guest fault).
    /// </summary>
    public void Dispose()
    {
        if (_running)
        {
            Stop();
            lock (_parkLock)
                while (_running) Monitor.Wait(_parkLock);
        }
        foreach (var hart in _harts) hart.Dispose();
        foreach (var w in _workers) if (w.Wake != _wake) w.Wake.Dispose();
        foreach (var v in _virtio) v.Dispose();
        Ram.Dispose();
        _wake.Dispose();
    }
}
