using System.Text.Json;
using System.Text.Json.Serialization;
using Isomorph.Machines;
using Isomorph.Machines.Virt;

namespace Isomorph.Cli.Vm;

// The bodies of the machine's API (docs/api.md), shared by the server (isomorph boot --api-sock)
// and its client (isomorph vm). JSON names are camelCase.

/// <summary>GET /machine: what the machine is and whether it runs.</summary>
public sealed record MachineInfo(string Board, int Harts, ulong MemoryBytes, string State, long Instructions, IReadOnlyList<DeviceInfo> Devices);

/// <summary>A device on the machine's bus: its name and its MMIO window.</summary>
public sealed record DeviceInfo(string Name, string Base, string Size);

/// <summary>GET /stats.</summary>
public sealed record StatsInfo(
    int Harts, long Instructions, double WallSeconds, double Mips,
    IReadOnlyList<TrapInfo> Traps, IReadOnlyList<InterruptInfo> Interrupts,
    IReadOnlyList<SbiCallInfo> SbiCalls, IReadOnlyList<MmioInfo> Mmio)
{
    public static StatsInfo From(MachineStatistics s) => new(
        s.Harts, s.Instructions, s.WallTime.TotalSeconds, s.Mips,
        [.. s.Traps.Traps.Select(t => new TrapInfo(t.IsInterrupt ? "interrupt" : "exception", t.Code, t.Name,
            t.From.ToString(), t.To?.ToString() ?? "host", t.Count))],
        [.. s.Traps.Interrupts.Select(i => new InterruptInfo(i.Code, i.Name, i.Count))],
        [.. s.Traps.SbiCalls.Select(c => new SbiCallInfo(c.Extension.Name,
            c.Extension.IsRange ? $"0x{c.Extension.FirstId:x}-0x{c.Extension.LastId:x}" : c.Extension.FirstId == ulong.MaxValue ? "" : $"0x{c.Extension.FirstId:x}",
            c.Count))],
        [.. s.Mmio.Select(m => new MmioInfo(m.Device, m.Accesses))]);
}

/// <summary>Traps of one cause from one privilege to another ("host": handled by the host).</summary>
public sealed record TrapInfo(string Kind, ulong Code, string Cause, string From, string To, long Count);

public sealed record InterruptInfo(ulong Code, string Cause, long Count);

/// <summary>SBI calls to one extension; <see cref="Eid"/> is its EID (or EID range) in hex.</summary>
public sealed record SbiCallInfo(string Extension, string Eid, long Count);

public sealed record MmioInfo(string Device, long Accesses);

/// <summary>POST /snapshot's body.</summary>
public sealed record SnapshotRequest(string? Path);

/// <summary>What POST /machine/pause, /machine/resume and /machine/snapshot answer: the state after, and the snapshot written.</summary>
public sealed record ActionResult(string State, SnapshotInfo? Snapshot = null);

/// <summary>A snapshot written: where, its size, and how long the machine was paused for it (the save itself).</summary>
public sealed record SnapshotInfo(string Path, long Bytes, double Milliseconds);

/// <summary>POST /machine/migrate's body: the destination (HOST:PORT, where <c>isomorph receive --listen</c> waits), and optionally the downtime allowed and how long either side waits for the other.</summary>
public sealed record MigrationRequest(string? To, double? MaxDowntimeMs = null, double? TimeoutMs = null);

/// <summary>A migration's progress (GET /machine/migration) and outcome (POST /machine/migrate); <see cref="Phase"/> is a <see cref="Machines.Migration.MigrationPhase"/>.</summary>
public sealed record MigrationInfo(
    string Phase, string Destination, int Round, ulong RamBytes, long PagesSent, long BytesSent, long DirtyPages, int Throttle,
    double ElapsedMs, double? DowntimeMs, string? Message, double? StopAndCopyMs = null)
{
    public static MigrationInfo From(Machines.Migration.MigrationProgress p) => new(
        p.Phase.ToString(), p.Destination, p.Round, p.RamBytes, p.PagesSent, p.BytesSent, p.DirtyPages, p.Throttle,
        p.Elapsed.TotalMilliseconds, p.Downtime?.TotalMilliseconds, p.Message, p.StopAndCopy?.TotalMilliseconds);
}

/// <summary>POST /machine/gdb's body: where the gdb stub listens (tcp:[HOST]:PORT or unix:/absolute/path).</summary>
public sealed record GdbRequest(string? Listen);

/// <summary>What POST /machine/gdb answers: where the stub listens.</summary>
public sealed record GdbInfo(string Listening);

/// <summary>Every error: a message for a person.</summary>
public sealed record ApiError(string Error);

public static class VmJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // not HTML: quotes stay quotes
    };
}
