using Isomorph.Devices.Bus;
using Isomorph.Machines.Snapshot;

namespace Isomorph.Machines;

/// <summary>
/// A running machine as its control plane sees it — the API, snapshots, migration — without
/// knowing the board: pause and resume, state saved to a stream and restored from one (with
/// <see cref="MachineBoards"/>), RAM for page-by-page copying, and statistics. The board runs the
/// machine on threads of its own; every member here is safe to call from another thread.
/// </summary>
public interface IMachine : IDisposable
{
    /// <summary>The board's name, as <see cref="MachineBoards"/> knows it ("virt").</summary>
    string Board { get; }

    /// <summary>The number of harts (vCPUs).</summary>
    int HartCount { get; }

    /// <summary>Guest RAM: what a snapshot or a migration copies page by page.</summary>
    Ram Ram { get; }

    /// <summary>The device windows on the machine's physical bus.</summary>
    IReadOnlyList<PhysicalBus.Mapping> Devices { get; }

    /// <summary>True while the machine is paused: no hart runs, no device is served, guest time stands still.</summary>
    bool IsPaused { get; }

    /// <summary>Pauses the machine; returns once nothing of it runs. Does nothing when paused.</summary>
    void Pause();

    /// <summary>Lets a paused machine run on.</summary>
    void Resume();

    /// <summary>Ends the machine's run (its owner's run loop returns), also from a pause.</summary>
    void Stop();

    /// <summary>Queues bytes for the machine's console (its serial line) as if typed there.</summary>
    void SendInput(ReadOnlySpan<byte> bytes);

    /// <summary>Instructions retired so far.</summary>
    long Instructions { get; }

    /// <summary>Instructions, time, traps and device accesses so far.</summary>
    MachineStatistics Statistics();

    /// <summary>Size and time of the last snapshot saved or restored.</summary>
    SnapshotStats? LastSnapshot { get; }

    /// <summary>
    /// Writes the whole machine — configuration, harts, devices and RAM — as a snapshot to
    /// <paramref name="stream"/>; legal only while the machine is paused or stopped. Returns the
    /// bytes written.
    /// </summary>
    long SaveSnapshot(Stream stream);

    /// <summary>Writes the machine to a file atomically (<see cref="SnapshotFileWriter"/>); paused or stopped only.</summary>
    void SaveSnapshot(string path);

    // ---- What a live migration needs besides: RAM copied page by page while the machine runs ----

    /// <summary>What the machine is built from (its shape, files and backends), for <see cref="MachineBoards.FromConfiguration"/> on another host.</summary>
    byte[] SaveConfiguration();

    /// <summary>Writes the harts' and devices' state, without RAM, as a snapshot to <paramref name="stream"/>; paused or stopped only. Returns the bytes written.</summary>
    long SaveState(Stream stream);

    /// <summary>Restores the harts' and devices' state written by <see cref="SaveState"/> into a machine built by <see cref="MachineBoards.FromConfiguration"/> and not yet run.</summary>
    void RestoreState(SnapshotStreamReader state);

    /// <summary>Makes the disk images durable and gives their locks up (paused only), for a migration's destination to take.</summary>
    void ReleaseImages();

    /// <summary>Takes the disk images' locks (again); throws <see cref="MachineConfigurationException"/> when another process holds one.</summary>
    void LockImages();

    /// <summary>Starts logging the RAM pages written (every page marked to begin with).</summary>
    void StartDirtyLog();

    /// <summary>Stops logging written pages.</summary>
    void StopDirtyLog();

    /// <summary>
    /// Moves the pages written since the last collection into <paramref name="bitmap"/> (bit p: RAM
    /// page p) and returns their number. A running machine is paused for the instant this takes
    /// (the harts' write TLBs are flushed, so that a page written afterwards is logged again).
    /// </summary>
    long CollectDirtyPages(ulong[] bitmap);

    /// <summary>
    /// The share of time, in percent (0 to 99), that the harts are held back: a migration whose guest
    /// writes memory faster than the link carries it slows the guest down until it converges.
    /// </summary>
    int Throttle { get; set; }
}

/// <summary>Size and time of a snapshot saved or restored.</summary>
public sealed record SnapshotStats(long FileBytes, ulong RamBytes, TimeSpan Elapsed);
