using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Isomorph.Devices.HostIo;
using Isomorph.Machines;
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
                if (!Debugging.GdbEndpoint.TryParse(gdbSpec, out _, out string? gdbError)) return Fail($"--gdb {gdbError}");
            }
            if (parse.GetValue(maxInstructions) is < 1) return Fail($"invalid --max-instructions {parse.GetValue(maxInstructions)}: give 1 or more (without the option there is no limit)");
            if (parse.GetValue(hostThreads) < 1) return Fail($"invalid --host-threads {parse.GetValue(hostThreads)}: give 1 to --cpus");
            if (parse.GetValue(vmName) is not null && parse.GetValue(ownership) is null) return Fail("--vm-name names the VM in an --ownership store: give --ownership too");
            string? engineName = parse.GetValue(engine);
            string? api = parse.GetValue(apiSock);
            VirtualMachine vm;
            if (parse.GetValue(restore) is { } snapshot)
            {
                if (machineShape.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    return Fail($"{given.Name} cannot be given with --restore: the snapshot holds the machine's configuration");
                vm = VirtualMachine.FromSnapshot(snapshot.FullName);
            }
            else if (Configure(parse.GetValue(kernel), parse.GetValue(guest)!, parse.GetValue(initrd), parse.GetValue(append)!, parse.GetValue(memory)!,
                parse.GetValue(firmware)!, parse.GetValue(cpus), parse.GetValue(hypervisor), parse.GetValue(hostThreads),
                parse.GetValue(disks) ?? [], parse.GetValue(nets) ?? [], parse.GetValue(rng), parse.GetValue(virtioConsole) is not null, out string? error) is { } configured)
                vm = configured;
            else return Fail(error!);
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
            using var serialBackend = Serial.SerialBackend.Open(parse.GetValue(serial)!, out string? serialError);
            if (serialBackend is null) return Fail(serialError!);
            vm = vm with
            {
                Console = serialBackend.Output,
                VirtioConsole = parse.GetValue(virtioConsole)?.FullName,
                Engine = IsomorphCommand.LibraryEngine(engineName),
                HostThreads = parse.GetValue(hostThreads),
                MaxInstructions = parse.GetValue(maxInstructions) ?? 0,
                RebootOnReset = true,
                Gdb = parse.GetValue(gdb),
                WaitForGdb = parse.GetValue(waitGdb),
                Debuggable = api is not null,
                Diagnostics = Console.Error,
            };
            return Run(vm, IsomorphCommand.Engine(engineName), parse.GetValue(stats), serialBackend, api);
        });
        return command;
    }

    /// <summary>The session that runs this process's machine, once it runs: the API's gdb endpoint reaches it.</summary>
    private static MachineSession? s_session;

    /// <summary>
    /// <c>POST /machine/gdb</c>: gdb's stub on the running machine, listening at <paramref name="spec"/>;
    /// gdb attaching stops the machine, as with QEMU's <c>gdbserver</c> monitor command.
    /// </summary>
    internal static (int Status, string Message) AttachGdb(string spec)
    {
        if (Volatile.Read(ref s_session) is not { } session) return (409, "no machine runs here: it is resetting, has stopped, or has not arrived yet");
        try
        {
            return (200, session.AttachGdb(spec));
        }
        catch (ArgumentException e)
        {
            return (400, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return (409, e.Message);
        }
    }

    /// <summary>Parses PATH[,readonly].</summary>
    internal static VirtualDisk? ParseDisk(string text, out string? error)
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
        return new VirtualDisk(path, readOnly);
    }

    /// <summary>Parses socket:PATH or tap:NAME, then [,mac=XX:XX:XX:XX:XX:XX]; a NIC without a MAC gets a random one, kept across resets.</summary>
    internal static VirtualNic? ParseNet(string text, out string? error)
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
        byte[]? mac = null; // the library gives a random one
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
        var address = mac is null ? null : new System.Net.NetworkInformation.PhysicalAddress(mac);
        return socket ? VirtualNic.Socket(target, address) : VirtualNic.Tap(target, address);
    }

    /// <summary>The machine the options describe, checked; null with <paramref name="error"/> set when they are wrong.</summary>
    private static VirtualMachine? Configure(FileInfo? kernel, string guest, FileInfo? initrd, string append, string memoryText, string firmware,
        int cpus, bool hypervisor, int hostThreads, string[] diskTexts, string[] netTexts, bool rng, bool virtioConsole, out string? error)
    {
        var disks = new List<VirtualDisk>();
        foreach (var text in diskTexts)
        {
            if (ParseDisk(text, out error) is not { } disk) return null;
            disks.Add(disk);
        }
        var nics = new List<VirtualNic>();
        foreach (var text in netTexts)
        {
            if (ParseNet(text, out error) is not { } nic) return null;
            nics.Add(nic);
        }
        error = null;
        if (disks.Count + nics.Count + (rng ? 1 : 0) + (virtioConsole ? 1 : 0) > VirtMemoryMap.VirtioSlots)
            error = $"too many virtio devices: a virt machine has {VirtMemoryMap.VirtioSlots} slots";
        else if (IsomorphCommand.ParseMemory(memoryText, "256M or 1G", out ulong memory) is { } memoryError) error = memoryError;
        else if (cpus < 1 || cpus > VirtMachine.MaxHarts) error = $"invalid --cpus {cpus}: a virt machine has 1 to {VirtMachine.MaxHarts} harts";
        else if (hostThreads > cpus) error = $"invalid --host-threads {hostThreads}: give 1 to --cpus ({cpus})";
        else if (!GuestImages.Guests.ContainsKey(guest)) error = $"invalid --guest {guest}: give {string.Join(" or ", GuestImages.Guests.Keys)}";
        else if (kernel is not null && guest != "linux") error = "--guest names the project's guest to boot without --kernel: give one or the other";
        else
        {
            if (kernel is null)
            {
                if (GuestImages.Resolve(guest, out error) is not { } images) return null;
                kernel = new FileInfo(images.Kernel);
                initrd ??= new FileInfo(images.Initrd);
            }
            string? firmwarePath = firmware == "none" ? null : Path.GetFullPath(firmware);
            if (HostFile.Kind(kernel.FullName) == HostFileKind.Missing) error = $"{kernel.FullName}: no such kernel file";
            else if (initrd is not null && HostFile.Kind(initrd.FullName) == HostFileKind.Missing) error = $"{initrd.FullName}: no such initrd file";
            else if (firmwarePath is not null && HostFile.Kind(firmwarePath) == HostFileKind.Missing)
                error = firmware == VirtOptions.DefaultFirmware
                    ? $"{firmwarePath}: no such firmware (install Debian's opensbi package, or give --firmware)"
                    : $"{firmwarePath}: no such firmware file";
            else
            {
                // Each image is checked before anything is opened: a FIFO or a device would block or never end.
                foreach (var (image, what) in new[] { (kernel.FullName, "kernel"), (initrd?.FullName, "initrd"), (firmwarePath, "firmware") })
                    if (image is not null && HostFile.NotRegular(image, what) is { } notRegular)
                    {
                        error = notRegular;
                        return null;
                    }
                return new VirtualMachine(kernel.FullName)
                {
                    Initrd = initrd?.FullName,
                    Firmware = firmwarePath,
                    CommandLine = append,
                    MemoryBytes = memory,
                    Harts = cpus,
                    Hypervisor = hypervisor,
                    Disks = disks,
                    Networks = nics,
                    EntropySource = rng,
                };
            }
        }
        return null;
    }

    internal static bool TryOpenVirtioConsole(FileInfo? file, out FileStream? stream, out string? error)
    {
        (stream, error) = (null, null);
        if (file is null) return true;
        stream = HostFile.OpenOutput(file.FullName, "virtio-console output", out error);
        return stream is not null;
    }

    /// <summary>
    /// Starts <paramref name="vm"/> (through the library, as an embedder would) with the console on
    /// <paramref name="serial"/> and the API on <paramref name="apiSock"/> if given, and waits for its end:
    /// a reboot goes on with a fresh machine inside the session.
    /// </summary>
    private static int Run(VirtualMachine vm, Riscv.Execution.IExecutionEngine? engine, bool stats, Serial.SerialBackend serial, string? apiSock)
    {
        var slot = new MachineSlot(null);
        IAsyncDisposable? api = null;
        if (apiSock is not null && (api = StartApi(Path.GetFullPath(apiSock), slot, out string? error)) is null)
        {
            s_ownership?.Dispose();
            return Fail(error!);
        }
        return Run(vm, engine, stats, serial, slot, api);
    }

    /// <summary>As above, with the API (or null) already serving <paramref name="slot"/> (receive starts its API before the VM comes).</summary>
    internal static int Run(VirtualMachine vm, Riscv.Execution.IExecutionEngine? engine, bool stats, Serial.SerialBackend serial, MachineSlot slot, IAsyncDisposable? api)
    {
        using var ownership = s_ownership;
        if (stats) IsomorphCommand.CountRegionExits(engine);
        try
        {
            MachineSession session;
            try
            {
                session = vm.Start(slot);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException)
            {
                return Fail(IsomorphCommand.Reason(e));
            }
            using (session)
            {
                Volatile.Write(ref s_session, session);
                if (stats && vm.Kernel is null)
                    slot.Use(m =>
                    {
                        if (m.LastSnapshot is { } s)
                            Console.Error.WriteLine($"isomorph: restored {s.FileBytes:N0} bytes ({s.RamBytes >> 20} MiB of RAM) in {s.Elapsed.TotalMilliseconds:F0} ms");
                    });
                ownership?.Guard(slot);
                serial.Attach(session);
                int signal = 0;
                Console.CancelKeyPress += (_, e) =>
                {
                    e.Cancel = true;
                    signal = 2;
                    session.Stop();
                };
                // SIGTERM stops the machine too, so that socket files are removed and streams flushed.
                using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, e =>
                {
                    e.Cancel = true;
                    signal = 15;
                    session.Stop();
                });
                var end = session.WaitForEnd()!;
                if (stats) PrintStats(end, engine);
                switch (end.Reason)
                {
                    case MachineEndReason.PowerOff: return end.ExitCode;
                    case MachineEndReason.Reset: return Fail(end.Message!); // a reboot that could not build the machine again
                    case MachineEndReason.Stopped: return signal == 0 ? 0 : 128 + signal; // SIGINT or SIGTERM, or Ctrl-A X
                    default:
                        Console.Error.WriteLine($"isomorph: {end.Message}");
                        return BareCommand.LimitExceeded;
                }
            }
        }
        finally
        {
            api?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Starts the API server; a method of its own so that ASP.NET Core is loaded only when --api-sock is given.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static IAsyncDisposable? StartApi(string path, MachineSlot machine, out string? error) =>
        Vm.ApiServer.Start(path, machine, () => s_ownership?.Migration ?? new Machines.Migration.MigrationOptions(), AttachGdb, out error);

    /// <summary>The VM's owner in etcd (--ownership), or null.</summary>
    internal static OwnershipOption? s_ownership;

    private static void PrintStats(MachineEnd end, Riscv.Execution.IExecutionEngine? engine)
    {
        Vm.StatsView.Write(Vm.StatsView.ConsoleOn(Console.Error), Vm.StatsInfo.From(end.Statistics));
        if ((engine ?? Riscv.Execution.ExecutionEngines.Default) is Riscv.Translation.TranslatingEngine jit)
            Console.Error.WriteLine($"isomorph: {jit.Describe()}");
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }
}
