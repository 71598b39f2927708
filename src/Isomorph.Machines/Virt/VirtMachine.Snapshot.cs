using System.Diagnostics;
using Isomorph.Devices.HostIo;
using Isomorph.Devices.State;
using Isomorph.Devices.Virtio;
using Isomorph.Machines.Snapshot;

namespace Isomorph.Machines.Virt;

/// <summary>Whole-machine snapshots: one file with the configuration, every component's state and RAM.</summary>
public sealed partial class VirtMachine
{
    private const string MachineSection = "machine";
    private SnapshotWriter? _scratch;

    /// <summary>Size and time of the last snapshot saved or restored (for statistics).</summary>
    public SnapshotStats? LastSnapshot { get; private set; }

    /// <summary>
    /// Writes the machine to <paramref name="path"/> atomically (a temporary file beside it,
    /// fsync'd, renamed over it): legal only while the machine is not executing, after
    /// <see cref="Run"/> returned <see cref="VirtStop.Stopped"/> or while it is paused. Throws
    /// <see cref="SnapshotException"/> when the file cannot be written; an existing file at
    /// <paramref name="path"/> is then untouched.
    /// </summary>
    public void SaveSnapshot(string path) => SaveSnapshot(path, failAfter: long.MaxValue);

    /// <summary>For tests: a save whose write fails after <paramref name="failAfter"/> bytes.</summary>
    internal void SaveSnapshot(string path, long failAfter)
    {
        CheckSavable();
        // The rename would put a regular file in the place of whatever is there, /dev/null included.
        if (path.Contains('\0')) throw new SnapshotException($"{path.Replace('\0', '?')}: a path cannot hold a NUL byte");
        var kind = HostFile.Kind(path);
        if (kind is not (HostFileKind.Regular or HostFileKind.Missing))
            throw new SnapshotException($"{path} is {HostFile.Describe(kind)}: a snapshot replaces only a regular file, or is written where none exists");
        var sw = Stopwatch.StartNew();
        try
        {
            using var file = new SnapshotFileWriter(path, failAfter);
            Write(file.Snapshot);
            long bytes = file.Commit();
            LastSnapshot = new SnapshotStats(bytes, Ram.Size, sw.Elapsed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotException($"{path}: cannot write the snapshot: {e.Message}");
        }
    }

    /// <summary>
    /// Writes the machine as a snapshot to <paramref name="stream"/> (a pipe or a socket as well as
    /// a file), under the same rules as <see cref="SaveSnapshot(string)"/>; I/O errors are the
    /// stream's. Returns the bytes written.
    /// </summary>
    public long SaveSnapshot(Stream stream)
    {
        CheckSavable();
        var sw = Stopwatch.StartNew();
        var snapshot = new SnapshotStreamWriter(stream);
        Write(snapshot);
        long bytes = snapshot.Finish();
        LastSnapshot = new SnapshotStats(bytes, Ram.Size, sw.Elapsed);
        return bytes;
    }

    private void CheckSavable()
    {
        if (_running && !IsPaused)
            throw new InvalidOperationException("a snapshot can be taken only while the machine is stopped or paused");
        if (_halt is { Stop: VirtStop.PowerOff or VirtStop.Reset }) throw new InvalidOperationException("the machine has powered off or reset");
    }

    /// <summary>The configuration, every component, then RAM.</summary>
    private void Write(SnapshotStreamWriter snapshot)
    {
        // The interrupt lines as of the moment time stopped, so that a restore, which re-derives them, finds the same.
        _clint.Update();
        var scratch = _scratch ??= new SnapshotWriter();
        scratch.Clear();
        SaveConfiguration(scratch);
        snapshot.WriteSection(MachineSection, scratch.Written);
        foreach (var (name, component) in Components()) snapshot.WriteSection(name, component, scratch);
        RamImage.Write(snapshot, Ram);
    }

    /// <summary>
    /// Builds a machine from a snapshot file, ready to <see cref="Run"/> from where it was saved.
    /// The configuration comes from the file (disk images are reopened by path, network backends
    /// reconnect); the consoles from <paramref name="overrides"/>. Throws
    /// <see cref="SnapshotException"/> for a missing, damaged or incompatible snapshot and
    /// <see cref="MachineConfigurationException"/> when its machine cannot be built here (a disk
    /// image gone); both carry one line for the user.
    /// </summary>
    public static VirtMachine Restore(string path, MachineRestoreOptions overrides)
    {
        var sw = Stopwatch.StartNew();
        SnapshotStreamReader file;
        try
        {
            file = SnapshotFileReader.Open(path);
        }
        catch (SnapshotException e)
        {
            throw new SnapshotException($"{path}: {e.Message}");
        }
        using (file)
        {
            try
            {
                var machine = Restore(file, overrides);
                machine.LastSnapshot = new SnapshotStats(new FileInfo(path).Length, machine.Ram.Size, sw.Elapsed);
                return machine;
            }
            catch (Exception e) when (e is SnapshotException or IOException)
            {
                throw new SnapshotException($"{path}: {(e is SnapshotException ? "" : "cannot read the snapshot: ")}{e.Message}");
            }
        }
    }

    /// <summary>
    /// Builds a machine from a snapshot read from a stream; the machine is returned only once the
    /// snapshot's checksum matched (<see cref="SnapshotStreamReader.Finish"/>). Errors as
    /// <see cref="Restore(string, MachineRestoreOptions)"/>, without a file name.
    /// </summary>
    public static VirtMachine Restore(SnapshotStreamReader snapshot, MachineRestoreOptions overrides)
    {
        var sw = Stopwatch.StartNew();
        var machine = FromConfiguration(snapshot.ReadSection(MachineSection), overrides, out var ownedConsole);
        try
        {
            foreach (var (name, component) in machine.Components()) snapshot.Restore(name, component);
            RamImage.Read(snapshot, machine.Ram);
            snapshot.Finish();
            machine._instretBeforeRestore = machine._harts.Sum(h => h.Instret);
            machine.LastSnapshot = new SnapshotStats(0, machine.Ram.Size, sw.Elapsed);
            return machine;
        }
        catch (Exception e)
        {
            machine.Dispose();
            ownedConsole?.Dispose();
            if (e is EndOfStreamException) throw new SnapshotException("the snapshot ends in the middle of a section");
            throw;
        }
    }

    /// <summary>A machine built from a saved configuration, its RAM zero and its harts at reset, for a snapshot's or a migration's state to fill.</summary>
    private static VirtMachine FromConfiguration(SnapshotReader section, MachineRestoreOptions overrides, out Stream? ownedConsole, bool lockImages = true)
    {
        ownedConsole = null;
        var saved = ReadConfiguration(section);
        var options = saved.Options with { Console = overrides.Console, MaxInstructions = overrides.MaxInstructions, HostThreads = overrides.HostThreads, Engine = overrides.Engine };
        if (saved.HasVirtioConsole)
        {
            var stream = overrides.VirtioConsole;
            if (stream is null && options.VirtioConsolePath is { } consolePath)
                stream = ownedConsole = OpenVirtioConsole(consolePath);
            options = options with { VirtioConsole = stream ?? Stream.Null };
        }
        try
        {
            var machine = new VirtMachine(options, loadImages: false, lockImages);
            (machine.KernelAddress, machine.DtbAddress, machine.FwDynamicInfoAddress, machine.InitrdRange) =
                (saved.KernelAddress, saved.DtbAddress, saved.FwDynamicInfoAddress, saved.InitrdRange);
            return machine;
        }
        catch
        {
            ownedConsole?.Dispose();
            throw;
        }
    }

    private static FileStream OpenVirtioConsole(string path) =>
        HostFile.OpenOutput(path, "virtio-console output", out string? error) ?? throw new MachineConfigurationException(error!);

    /// <summary>Every component with state, by section name, in the order they are saved and restored.</summary>
    private IEnumerable<(string Name, ISnapshotState Component)> Components()
    {
        for (int h = 0; h < _harts.Length; h++) yield return ($"hart{h}", _harts[h]);
        yield return ("clint", _clint);
        yield return ("plic", _plic);
        yield return ("uart", _uart);
        yield return ("rtc", _rtc);
        for (int i = 0; i < _virtio.Count; i++) yield return ($"virtio{i}", _virtio[i]);
    }

    // ---- The machine's configuration ---------------------------------------------------------------

    private sealed record SavedConfiguration(VirtOptions Options, bool HasVirtioConsole, ulong KernelAddress, ulong DtbAddress,
        ulong FwDynamicInfoAddress, (ulong Start, ulong End)? InitrdRange);

    private void SaveConfiguration(SnapshotWriter w)
    {
        w.WriteInt32(_harts.Length);
        w.WriteBool(_options.Hypervisor);
        w.WriteUInt64(_options.MemorySize);
        w.WriteString(FullPath(_options.Firmware));
        w.WriteString(FullPath(_options.Kernel));
        w.WriteString(FullPath(_options.Initrd));
        w.WriteString(_options.BootArgs);
        w.WriteInt32(_options.Disks.Count);
        foreach (var disk in _options.Disks)
        {
            w.WriteString(Path.GetFullPath(disk.Path));
            w.WriteBool(disk.ReadOnly);
        }
        w.WriteInt32(_options.Nics.Count);
        for (int i = 0; i < _options.Nics.Count; i++)
        {
            var nic = _options.Nics[i];
            if (nic.Spec is null) throw new SnapshotException($"NIC {i} has a network backend that a restored machine cannot open again");
            w.WriteString(nic.Spec);
            // The MAC the guest sees, also when the NIC was given none and a random one was chosen.
            var mac = _virtio.Select(v => v.Device).OfType<VirtioNet>().ElementAt(i).Mac;
            w.WriteBytes(mac);
        }
        w.WriteBool(_options.Rng);
        w.WriteBool(_options.VirtioConsole is not null);
        w.WriteString(FullPath(_options.VirtioConsolePath));
        w.WriteUInt64(KernelAddress);
        w.WriteUInt64(DtbAddress);
        w.WriteUInt64(FwDynamicInfoAddress);
        w.WriteBool(InitrdRange is not null);
        w.WriteUInt64(InitrdRange?.Start ?? 0);
        w.WriteUInt64(InitrdRange?.End ?? 0);
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    private static SavedConfiguration ReadConfiguration(SnapshotReader r)
    {
        int harts = r.ReadInt32();
        if (harts < 1 || harts > MaxHarts) throw r.Error($"{harts} harts");
        bool hypervisor = r.ReadBool();
        ulong memory = r.ReadUInt64();
        string? firmware = ReadPath(r, "firmware");
        string kernel = ReadPath(r, "kernel") ?? throw r.Error("no kernel path");
        string? initrd = ReadPath(r, "initrd");
        string bootArgs = r.ReadString() ?? "";
        var disks = new VirtDisk[r.ReadCount(VirtMemoryMap.VirtioSlots, "disks")];
        for (int i = 0; i < disks.Length; i++) disks[i] = new VirtDisk(ReadPath(r, "disk") ?? throw r.Error("a disk without a path"), r.ReadBool());
        var nics = new VirtNic[r.ReadCount(VirtMemoryMap.VirtioSlots, "NICs")];
        for (int i = 0; i < nics.Length; i++)
        {
            string spec = r.ReadString() ?? throw r.Error("a NIC without a backend");
            if (spec.Contains('\0')) throw r.Error("a NIC backend with a NUL character");
            var mac = r.ReadBytes(6);
            if (mac.Length != 6) throw r.Error($"a MAC address of {mac.Length} bytes");
            nics[i] = VirtNic.FromSpec(spec, mac) ?? throw r.Error($"unknown network backend '{spec}'");
        }
        bool rng = r.ReadBool(), virtioConsole = r.ReadBool();
        string? virtioConsolePath = ReadPath(r, "virtio-console");
        ulong kernelAddress = r.ReadUInt64(), dtb = r.ReadUInt64(), fwInfo = r.ReadUInt64();
        bool hasInitrd = r.ReadBool();
        (ulong, ulong) initrdRange = (r.ReadUInt64(), r.ReadUInt64());
        r.ExpectEnd();
        var options = new VirtOptions
        {
            Harts = harts, Hypervisor = hypervisor, MemorySize = memory, Firmware = firmware, Kernel = kernel, Initrd = initrd, BootArgs = bootArgs,
            Disks = disks, Nics = nics, Rng = rng, VirtioConsolePath = virtioConsolePath,
        };
        return new SavedConfiguration(options, virtioConsole, kernelAddress, dtb, fwInfo, hasInitrd ? initrdRange : null);
    }

    /// <summary>A file path the snapshot names: absolute, as the saving machine recorded it, and without NUL.</summary>
    private static string? ReadPath(SnapshotReader r, string what)
    {
        string? path = r.ReadString();
        if (path is not null && (path.Length == 0 || path.Contains('\0') || !Path.IsPathRooted(path)))
            throw r.Error($"the {what} path '{path.Replace("\0", "\\0")}' is not an absolute path");
        return path;
    }
}
