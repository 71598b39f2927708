using Isomorph.Devices.State;
using Isomorph.Machines.Snapshot;

namespace Isomorph.Machines.Virt;

/// <summary>What a live migration asks of the machine: its configuration, its state without RAM, the dirty log and the throttle.</summary>
public sealed partial class VirtMachine
{
    public byte[] SaveConfiguration()
    {
        var writer = new SnapshotWriter();
        SaveConfiguration(writer);
        return writer.Written.ToArray();
    }

    /// <summary>
    /// A machine built from <paramref name="configuration"/> (<see cref="SaveConfiguration()"/>), RAM
    /// zero and harts at reset, its disk images open but not locked (<see cref="LockImages"/>).
    /// </summary>
    public static VirtMachine FromConfiguration(byte[] configuration, MachineRestoreOptions options) =>
        FromConfiguration(new SnapshotReader(MachineSection, configuration), options, out _, lockImages: false);

    public void ReleaseImages()
    {
        foreach (var block in _virtio.Select(v => v.Device).OfType<Devices.Virtio.VirtioBlock>()) block.Unlock();
    }

    public void LockImages()
    {
        foreach (var (block, disk) in _virtio.Select(v => v.Device).OfType<Devices.Virtio.VirtioBlock>().Zip(_options.Disks))
            if (!block.Lock(out string? error)) throw new MachineConfigurationException($"{disk.Path}: {error}");
    }

    public long SaveState(Stream stream)
    {
        CheckSavable();
        _clint.Update();
        var scratch = _scratch ??= new SnapshotWriter();
        var snapshot = new SnapshotStreamWriter(stream);
        foreach (var (name, component) in Components()) snapshot.WriteSection(name, component, scratch);
        return snapshot.Finish();
    }

    public void RestoreState(SnapshotStreamReader state)
    {
        if (_running) throw new InvalidOperationException("state is restored only into a machine that has not run");
        foreach (var (name, component) in Components()) state.Restore(name, component);
        state.Finish();
        _instretBeforeRestore = _harts.Sum(h => h.Instret);
    }

    public void StartDirtyLog()
    {
        WhilePaused(() =>
        {
            Ram.StartDirtyLog();
            foreach (var hart in _harts) hart.FlushWriteTlb(); // pages already in a write TLB are marked on their next fill
        });
    }

    public void StopDirtyLog() => Ram.StopDirtyLog();

    public long CollectDirtyPages(ulong[] bitmap)
    {
        long count = 0;
        WhilePaused(() =>
        {
            count = (Ram.Dirty ?? throw new InvalidOperationException("no dirty log is kept")).Collect(bitmap);
            foreach (var hart in _harts) hart.FlushWriteTlb();
        });
        return count;
    }

    /// <summary>Runs <paramref name="action"/> with no hart running: pauses the machine if it runs, and lets it run on after.</summary>
    private void WhilePaused(Action action)
    {
        lock (_pauseGate)
        {
            bool wasPaused = IsPaused;
            Pause();
            try
            {
                action();
            }
            finally
            {
                if (!wasPaused) Resume();
            }
        }
    }

    private volatile int _throttle;

    public int Throttle
    {
        get => _throttle;
        set => _throttle = Math.Clamp(value, 0, 99);
    }

    /// <summary>
    /// Holds a worker back for its share of the throttle: after every 2 ms of running, it sleeps
    /// so that it runs (100 - <see cref="Throttle"/>)% of the time. A pause or a stop cuts the sleep short.
    /// </summary>
    private void ThrottleWorker(Worker worker, ref long runningSince)
    {
        int percent = _throttle;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (percent == 0)
        {
            runningSince = now;
            return;
        }
        var ran = System.Diagnostics.Stopwatch.GetElapsedTime(runningSince, now);
        if (ran < TimeSpan.FromMilliseconds(2)) return;
        worker.Wake.Wait(ran * percent / (100 - percent));
        runningSince = System.Diagnostics.Stopwatch.GetTimestamp();
    }
}
