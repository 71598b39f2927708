using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Isomorph.Devices.HostIo;
using Isomorph.Debugging;
using Isomorph.Devices.State;
using Isomorph.Machines;
using Isomorph.Machines.Debugging;
using Isomorph.Machines.Virt;

namespace Isomorph.Cli;

/// <summary>
/// <c>isomorph boot</c>: a RISC-V virt machine (QEMU's memory map) that boots firmware and a
/// kernel, with the UART on the terminal, a file or a Unix socket (--serial).
/// </summary>
public static class BootCommand
{
    public static Command Create()
    {
        var kernel = new Option<FileInfo?>("--kernel")
        {
            Description = "the kernel: a Linux Image, or any raw or ELF image (default: the project's Linux guest with its BusyBox initramfs, built on first use)",
        };
        var initrd = new Option<FileInfo?>("--initrd") { Description = "an initial RAM disk (e.g. a gzipped cpio initramfs)" };
        var append = new Option<string>("--append") { Description = "the kernel command line", DefaultValueFactory = _ => "console=ttyS0" };
        var memory = new Option<string>("--memory") { Description = "RAM size, e.g. 256M, 1G (at most 1T)", DefaultValueFactory = _ => "256M" };
        var firmware = new Option<string>("--firmware")
        {
            Description = $"M-mode firmware loaded at RAM base (default {VirtOptions.DefaultFirmware}), or 'none' to enter the kernel in M-mode",
            DefaultValueFactory = _ => VirtOptions.DefaultFirmware,
        };
        var cpus = new Option<int>("--cpus") { Description = "the number of harts (vCPUs)", DefaultValueFactory = _ => 1 };
        var hypervisor = IsomorphCommand.HypervisorOption();
        var guest = new Option<string>("--guest")
        {
            Description = "without --kernel, the project's guest to boot: linux (BusyBox) or kvm (the same, with kvmtool and a nested guest: run `nested` in it)",
            DefaultValueFactory = _ => "linux",
        };
        var hostThreads = new Option<int>("--host-threads")
        {
            Description = "host threads running the harts: 1 multiplexes every hart on one thread, deterministically; up to --cpus runs them in parallel",
            DefaultValueFactory = _ => 1,
        };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = "stop after N (at least 1) instructions on a hart; without it there is no limit" };
        var stats = new Option<bool>("--stats") { Description = "print instructions, wall time, MIPS, traps by cause and privilege, interrupts, SBI calls by extension and MMIO accesses per device on stderr at the end" };
        var disks = new Option<string[]>("--disk")
        {
            Description = "a raw disk image as a virtio-blk disk: PATH or PATH,readonly (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var nets = new Option<string[]>("--net")
        {
            Description = "a virtio-net NIC: socket:PATH joins it to another VM's (the first VM listens on the Unix socket PATH, the second connects), tap:NAME puts it on a host TAP interface; optionally ,mac=52:54:00:12:34:56 (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var rng = new Option<bool>("--rng") { Description = "a virtio-rng device fed by the host's RNG" };
        var virtioConsole = new Option<FileInfo?>("--virtio-console") { Description = "a virtio-console (the guest's /dev/hvc1 in the project's guest, whose hvc0 is the SBI console) whose output is appended to FILE" };
        var serial = new Option<string>("--serial")
        {
            Description = "the UART's host side: stdio (the terminal; Ctrl-A X quits), none, FILE (output appended, no input) or unix:PATH (listen on a Unix socket; one client at a time gets the console, output before it connects is kept up to 64 KiB)",
            DefaultValueFactory = _ => "stdio",
        };
        var apiSock = new Option<string?>("--api-sock")
        {
            Description = "serve the machine's REST API (docs/api.md; the client is isomorph vm) on a Unix socket at PATH",
        };
        var restore = new Option<FileInfo?>("--restore")
        {
            Description = "resume the machine saved in a snapshot FILE where it stopped; the snapshot holds the machine's configuration (disk images are reopened by path)",
        };

        var engine = IsomorphCommand.EngineOption();
        var (gdb, waitGdb) = IsomorphCommand.GdbOptions();
        var ownership = OwnershipOption.StoreOption();
        var vmName = OwnershipOption.VmNameOption();
        var command = new Command("boot", "Boot a RISC-V virt machine: OpenSBI, then Linux")
        {
            kernel, guest, initrd, append, memory, firmware, cpus, hypervisor, hostThreads, maxInstructions, stats, disks, nets, rng, virtioConsole, serial, apiSock, restore, engine, gdb, waitGdb,
            ownership, vmName,
        };
        Option[] machineShape = [kernel, guest, initrd, append, memory, firmware, cpus, hypervisor, disks, nets, rng];
        command.SetAction(parse =>
        {
            if (parse.GetValue(waitGdb) && parse.GetValue(gdb) is null) return Fail("--wait-gdb needs --gdb tcp:[HOST]:PORT or unix:PATH");
            if (parse.GetValue(gdb) is { } gdbSpec)
            {
                if (parse.GetValue(restore) is not null) return Fail("--gdb cannot be given with --restore");
                var option = GdbOption.Create(gdbSpec, IsomorphCommand.Engine(parse.GetValue(engine)), parse.GetValue(waitGdb), out var gdbError);
                if (option is null) return Fail($"--gdb {gdbError}");
                s_gdb = option;
            }
            if (parse.GetValue(vmName) is not null && parse.GetValue(ownership) is null) return Fail("--vm-name names the VM in an --ownership store: give --ownership too");
            if (parse.GetValue(ownership) is { } store)
            {
                string name = parse.GetValue(vmName) ?? $"vm-{Guid.NewGuid().ToString("N")[..8]}";
                if (OwnershipOption.Connect(store, name, out string? storeError) is not { } owner) return Fail(storeError!);
                try
                {
                    owner.Store.Claim(name);
                }
                catch (Machines.Migration.OwnershipException e)
                {
                    owner.Dispose();
                    return Fail(e.Message);
                }
                Console.Error.WriteLine($"isomorph: this host owns VM '{name}' in etcd");
                s_ownership = owner;
            }
            if (parse.GetValue(restore) is { } snapshot)
            {
                if (machineShape.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    return Fail($"{given.Name} cannot be given with --restore: the snapshot holds the machine's configuration");
                return Restore(snapshot, Debuggable(IsomorphCommand.Engine(parse.GetValue(engine)), parse.GetValue(apiSock)), parse.GetValue(hostThreads), parse.GetValue(maxInstructions), parse.GetValue(stats), parse.GetValue(virtioConsole), parse.GetValue(serial)!, parse.GetValue(apiSock));
            }
            return Execute(s_gdb?.Control ?? Debuggable(IsomorphCommand.Engine(parse.GetValue(engine)), parse.GetValue(apiSock)),
                parse.GetValue(kernel), parse.GetValue(guest)!, parse.GetValue(initrd), parse.GetValue(append)!, parse.GetValue(memory)!,
                parse.GetValue(firmware)!, parse.GetValue(cpus), parse.GetValue(hypervisor), parse.GetValue(hostThreads), parse.GetValue(maxInstructions), parse.GetValue(stats),
                parse.GetValue(disks) ?? [], parse.GetValue(nets) ?? [], parse.GetValue(rng), parse.GetValue(virtioConsole), parse.GetValue(serial)!, parse.GetValue(apiSock));
        });
        return command;
    }

    /// <summary>The gdb stub of this boot (--gdb, or attached through the API), or null.</summary>
    private static GdbOption? s_gdb;
    private static readonly Lock s_gdbLock = new();

    /// <summary>The engine the machine runs under when gdb may attach later, through the API (--api-sock without --gdb), or null.</summary>
    private static ExecutionControl? s_debuggable;

    /// <summary>
    /// With an API, the chosen engine wrapped for a debugger that may come (<c>POST /machine/gdb</c>):
    /// until one attaches, the wrapper costs a field read per quantum.
    /// </summary>
    private static Riscv.Execution.IExecutionEngine? Debuggable(Riscv.Execution.IExecutionEngine? engine, string? apiSock)
    {
        if (apiSock is null) return engine;
        s_debuggable = new ExecutionControl(engine ?? Riscv.Execution.ExecutionEngines.Default, startHalted: false);
        return s_debuggable;
    }

    /// <summary>The running machine as gdb sees it: its harts, a kill that stops it, and snapshots of it as stopped.</summary>
    private static MachineDebugTarget DebugTarget(VirtMachine machine, MachineSlot slot) =>
        new(machine.Harts, () => slot.Use(m => m.Stop()), path =>
        {
            string said = "no machine runs here";
            slot.Use(m =>
            {
                bool wasRunning = !m.IsPaused;
                m.Pause();
                try
                {
                    m.SaveSnapshot(path);
                }
                finally
                {
                    if (wasRunning) m.Resume();
                }
                said = $"snapshot of {m.LastSnapshot!.FileBytes:N0} bytes written to {path}";
            });
            return said;
        });

    /// <summary>
    /// <c>POST /machine/gdb</c>: gdb's stub on the running machine, listening at <paramref name="spec"/>;
    /// gdb attaching stops the machine, as with QEMU's <c>gdbserver</c> monitor command.
    /// </summary>
    internal static (int Status, string Message) AttachGdb(MachineSlot slot, string spec)
    {
        lock (s_gdbLock)
        {
            if (s_gdb is { } listening) return (409, $"a gdb stub listens already on {listening.Endpoint.Text}");
            if (s_debuggable is not { } control) return (409, "this machine's engine has no debugger: gdb attaches to machines that isomorph boot started with --api-sock");
            if (GdbOption.Create(spec, control, out string? error) is not { } option) return (400, error!);
            string? startError = "no machine runs here: it is resetting, has stopped, or has not arrived yet";
            slot.Use(m => startError = option.Start(DebugTarget((VirtMachine)m, slot)));
            if (startError is not null)
            {
                option.Dispose();
                return (409, startError);
            }
            s_gdb = option;
            return (200, option.Endpoint.Text);
        }
    }

    /// <summary>Parses PATH[,readonly].</summary>
    internal static VirtDisk? ParseDisk(string text, out string? error)
    {
        error = null;
        var parts = text.Split(',');
        bool readOnly = false;
        foreach (var flag in parts.Skip(1))
        {
            if (flag is "readonly" or "ro") readOnly = true;
            else
            {
                error = $"invalid --disk '{text}': unknown option '{flag}' (expected PATH or PATH,readonly)";
                return null;
            }
        }
        string path = Path.GetFullPath(parts[0]);
        if (parts[0].Length == 0 || HostFile.Kind(path) == HostFileKind.Missing)
        {
            error = $"{path}: no such disk image";
            return null;
        }
        if (HostFile.NotRegular(path, "disk image") is { } notRegular)
        {
            error = notRegular;
            return null;
        }
        return new VirtDisk(path, readOnly);
    }

    /// <summary>Parses socket:PATH or tap:NAME, then [,mac=XX:XX:XX:XX:XX:XX]; a NIC without a MAC gets a random one, kept across resets.</summary>
    internal static VirtNic? ParseNet(string text, out string? error)
    {
        error = null;
        var parts = text.Split(',');
        bool socket = parts[0].StartsWith("socket:", StringComparison.Ordinal), tap = parts[0].StartsWith("tap:", StringComparison.Ordinal);
        string target = socket ? parts[0]["socket:".Length..] : tap ? parts[0]["tap:".Length..] : "";
        if (target.Length == 0)
        {
            error = $"invalid --net '{text}': expected socket:PATH or tap:NAME";
            return null;
        }
        byte[] mac = Devices.Virtio.VirtioNet.RandomMac();
        foreach (var option in parts.Skip(1))
        {
            var bytes = option.StartsWith("mac=", StringComparison.Ordinal) ? option[4..].Split(':') : [];
            if (bytes.Length != 6 || !bytes.All(b => b.Length == 2 && byte.TryParse(b, System.Globalization.NumberStyles.HexNumber, null, out _)))
            {
                error = $"invalid --net '{text}': unknown option '{option}' (expected mac=XX:XX:XX:XX:XX:XX)";
                return null;
            }
            mac = bytes.Select(b => byte.Parse(b, System.Globalization.NumberStyles.HexNumber)).ToArray();
            if ((mac[0] & 1) != 0)
            {
                error = $"invalid --net '{text}': {option[4..]} is a multicast address";
                return null;
            }
        }
        return socket ? VirtNic.Socket(Path.GetFullPath(target), mac) : VirtNic.Tap(target, mac);
    }

    private static int Execute(Riscv.Execution.IExecutionEngine? engine, FileInfo? kernel, string guest, FileInfo? initrd, string append, string memoryText, string firmware,
        int cpus, bool hypervisor, int hostThreads, long? maxInstructions, bool stats, string[] diskTexts, string[] netTexts, bool rng, FileInfo? virtioConsole, string serialText, string? apiSock)
    {
        var disks = new List<VirtDisk>();
        foreach (var text in diskTexts)
        {
            if (ParseDisk(text, out string? error) is not { } disk) return Fail(error!);
            disks.Add(disk);
        }
        var nics = new List<VirtNic>();
        foreach (var text in netTexts)
        {
            if (ParseNet(text, out string? error) is not { } nic) return Fail(error!);
            nics.Add(nic);
        }
        if (disks.Count + nics.Count + (rng ? 1 : 0) + (virtioConsole is null ? 0 : 1) > VirtMemoryMap.VirtioSlots)
            return Fail($"too many virtio devices: a virt machine has {VirtMemoryMap.VirtioSlots} slots");

        if (IsomorphCommand.ParseMemory(memoryText, "256M or 1G", out ulong memory) is { } memoryError) return Fail(memoryError);
        if (cpus < 1 || cpus > VirtMachine.MaxHarts) return Fail($"invalid --cpus {cpus}: a virt machine has 1 to {VirtMachine.MaxHarts} harts");
        if (hostThreads < 1 || hostThreads > cpus) return Fail($"invalid --host-threads {hostThreads}: give 1 to --cpus ({cpus})");
        if (maxInstructions is < 1) return Fail($"invalid --max-instructions {maxInstructions}: give 1 or more (without the option there is no limit)");
        if (!GuestImages.Guests.ContainsKey(guest)) return Fail($"invalid --guest {guest}: give {string.Join(" or ", GuestImages.Guests.Keys)}");
        if (kernel is not null && guest != "linux") return Fail("--guest names the project's guest to boot without --kernel: give one or the other");
        if (kernel is null)
        {
            if (GuestImages.Resolve(guest, out string? error) is not { } images) return Fail(error!);
            kernel = new FileInfo(images.Kernel);
            initrd ??= new FileInfo(images.Initrd);
        }
        if (HostFile.Kind(kernel.FullName) == HostFileKind.Missing) return Fail($"{kernel.FullName}: no such kernel file");
        if (initrd is not null && HostFile.Kind(initrd.FullName) == HostFileKind.Missing) return Fail($"{initrd.FullName}: no such initrd file");
        string? firmwarePath = firmware == "none" ? null : Path.GetFullPath(firmware);
        if (firmwarePath is not null && HostFile.Kind(firmwarePath) == HostFileKind.Missing)
            return Fail(firmware == VirtOptions.DefaultFirmware
                ? $"{firmwarePath}: no such firmware (install Debian's opensbi package, or give --firmware)"
                : $"{firmwarePath}: no such firmware file");

        // Each image is checked before anything is opened: a FIFO or a device would block or never end.
        foreach (var (image, what) in new[] { (kernel.FullName, "kernel"), (initrd?.FullName, "initrd"), (firmwarePath, "firmware") })
            if (image is not null && HostFile.NotRegular(image, what) is { } notRegular) return Fail(notRegular);

        if (!TryOpenVirtioConsole(virtioConsole, out var hvc, out string? hvcError)) return Fail(hvcError!);
        using var hvcOutput = hvc;
        using var serial = Serial.SerialBackend.Open(serialText, out string? serialError);
        if (serial is null) return Fail(serialError!);
        var options = new VirtOptions
        {
            MemorySize = memory,
            Harts = cpus,
            Hypervisor = hypervisor,
            HostThreads = hostThreads,
            Firmware = firmwarePath,
            Kernel = kernel.FullName,
            Initrd = initrd?.FullName,
            BootArgs = append,
            Console = serial.Output,
            MaxInstructions = maxInstructions ?? 0,
            Disks = disks,
            Nics = nics,
            Rng = rng,
            VirtioConsole = hvc,
            VirtioConsolePath = virtioConsole?.FullName,
            Engine = engine,
        };
        VirtMachine machine;
        try
        {
            machine = new VirtMachine(options);
        }
        catch (MachineConfigurationException e)
        {
            return Fail(e.Message);
        }
        return Run(machine, stats, serial, apiSock);
    }

    internal static bool TryOpenVirtioConsole(FileInfo? file, out FileStream? stream, out string? error)
    {
        (stream, error) = (null, null);
        if (file is null) return true;
        stream = HostFile.OpenOutput(file.FullName, "virtio-console output", out error);
        return stream is not null;
    }

    /// <summary><c>isomorph boot --restore FILE</c>: the machine in a snapshot, resumed.</summary>
    private static int Restore(FileInfo snapshot, Riscv.Execution.IExecutionEngine? engine, int hostThreads, long? maxInstructions, bool stats, FileInfo? virtioConsole, string serialText, string? apiSock)
    {
        if (maxInstructions is < 1) return Fail($"invalid --max-instructions {maxInstructions}: give 1 or more (without the option there is no limit)");
        if (hostThreads < 1) return Fail($"invalid --host-threads {hostThreads}: give 1 to the snapshot's number of harts");
        if (!TryOpenVirtioConsole(virtioConsole, out var hvc, out string? hvcError)) return Fail(hvcError!);
        using var hvcOutput = hvc;
        using var serial = Serial.SerialBackend.Open(serialText, out string? serialError);
        if (serial is null) return Fail(serialError!);
        VirtMachine machine;
        try
        {
            machine = VirtMachine.Restore(snapshot.FullName, new MachineRestoreOptions
            {
                Console = serial.Output, VirtioConsole = hvc, MaxInstructions = maxInstructions ?? 0, HostThreads = hostThreads, Engine = engine,
            });
        }
        catch (Exception e) when (e is MachineConfigurationException or SnapshotException)
        {
            return Fail(e.Message);
        }
        if (stats && machine.LastSnapshot is { } s)
            Console.Error.WriteLine($"isomorph: restored {s.FileBytes:N0} bytes ({s.RamBytes >> 20} MiB of RAM) in {s.Elapsed.TotalMilliseconds:F0} ms");
        return Run(machine, stats, serial, apiSock);
    }

    /// <summary>Runs a machine with the console on <paramref name="serial"/> until it powers off or stops; a reset builds it anew from the same files.</summary>
    internal static int Run(VirtMachine first, bool stats, Serial.SerialBackend serial, string? apiSock)
    {
        var slot = new MachineSlot(first);
        IAsyncDisposable? api = null;
        if (apiSock is not null)
        {
            api = StartApi(Path.GetFullPath(apiSock), slot, out string? error);
            if (api is null)
            {
                first.Dispose();
                return Fail(error!);
            }
        }
        return Run(first, stats, serial, slot, api);
    }

    /// <summary>As above, with the slot holding <paramref name="first"/> and the API (or null) already there (receive starts its API before the VM comes).</summary>
    internal static int Run(VirtMachine first, bool stats, Serial.SerialBackend serial, MachineSlot slot, IAsyncDisposable? api)
    {
        var options = first.Options;
        using var ownership = s_ownership;
        ownership?.Guard(slot);
        serial.Attach(slot);
        if (s_gdb?.Start(DebugTarget(first, slot)) is { } gdbError)
        {
            first.Dispose();
            return Fail(gdbError);
        }
        int signal = 0;
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            signal = 2;
            slot.Use(m => m.Stop());
        };
        // SIGTERM stops the machine too, so that socket files are removed and streams flushed.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, e =>
        {
            e.Cancel = true;
            signal = 15;
            slot.Use(m => m.Stop());
        });
        try
        {
            var machine = first;
            while (true)
            {
                VirtResult result;
                using (machine)
                {
                    result = machine.Run();
                    slot.Retire(); // nobody reaches it once disposed
                    if (stats) PrintStats(machine);
                    // The debugging session ends with the machine (a reset makes new harts): W or X before they go.
                    lock (s_gdbLock)
                    {
                        if (s_gdb is { } gdb) gdb.Ended(result.ExitCode, result.Stop == VirtStop.PowerOff ? 0 : result.Stop == VirtStop.Reset ? 1 : 9);
                        if (result.Stop == VirtStop.Reset)
                        {
                            // gdb may attach to the new machine through the API.
                            s_gdb?.Dispose();
                            s_gdb = null;
                        }
                    }
                }
                switch (result.Stop)
                {
                    case VirtStop.PowerOff: return result.ExitCode;
                    case VirtStop.Reset:
                        // A reset is a fresh machine from the same files, as at power-on.
                        try
                        {
                            machine = new VirtMachine(options);
                            slot.Install(machine);
                            if (signal != 0) machine.Stop(); // a signal that came while there was no machine
                        }
                        catch (MachineConfigurationException e)
                        {
                            return Fail(e.Message);
                        }
                        continue;
                    case VirtStop.Stopped: return signal == 0 ? 0 : 128 + signal; // SIGINT or SIGTERM, or Ctrl-A X
                    default:
                        Console.Error.WriteLine($"isomorph: {result.Message}");
                        return BareCommand.LimitExceeded;
                }
            }
        }
        finally
        {
            api?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            lock (s_gdbLock) s_gdb?.Dispose();
        }
    }

    /// <summary>Starts the API server; a method of its own so that ASP.NET Core is loaded only when --api-sock is given.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static IAsyncDisposable? StartApi(string path, MachineSlot machine, out string? error) =>
        Vm.ApiServer.Start(path, machine, () => s_ownership?.Migration ?? new Machines.Migration.MigrationOptions(), spec => AttachGdb(machine, spec), out error);

    /// <summary>The VM's owner in etcd (--ownership), or null.</summary>
    internal static OwnershipOption? s_ownership;

    private static void PrintStats(VirtMachine machine)
    {
        Vm.StatsView.Write(Vm.StatsView.ConsoleOn(Console.Error), Vm.StatsInfo.From(machine.Statistics()));
        var engine = machine.Options.Engine ?? Riscv.Execution.ExecutionEngines.Default;
        if ((engine is ExecutionControl debugged ? debugged.Inner : engine) is Riscv.Translation.TranslatingEngine jit)
            Console.Error.WriteLine($"isomorph: {jit.Describe()}");
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }
}
