using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Isomorph.Devices.Bus;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Migration;

/// <summary>How a migration goes.</summary>
public sealed record MigrationOptions
{
    /// <summary>The longest the VM may stand still: pre-copy goes on until the rest fits (QEMU's default, 300 ms).</summary>
    public TimeSpan MaxDowntime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Rounds of pre-copy before the machine is stopped whatever remains (the throttle has reached its top long before).</summary>
    public int MaxRounds { get; init; } = 60;

    /// <summary>How long either side waits for the other before it gives up (connect, each message, the commit).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throttles the guest when it writes memory faster than the link carries it (auto-converge).</summary>
    public bool AutoConverge { get; init; } = true;

    /// <summary>The store that owns the VM (etcd), or null: source and destination decide between themselves.</summary>
    public IOwnership? Ownership { get; init; }

    /// <summary>The VM's name in <see cref="Ownership"/>.</summary>
    public string? Vm { get; init; }
}

/// <summary>Where a migration stands (see docs/migration.md for the handover).</summary>
public enum MigrationPhase
{
    Connecting,
    /// <summary>Pre-copy: RAM goes while the VM runs here.</summary>
    Copying,
    /// <summary>The VM is paused here; the last pages and the state go.</summary>
    Stopped,
    /// <summary>The commit was sent; waiting to hear that the VM runs there.</summary>
    Committing,
    /// <summary>The destination runs the VM; the source never will again.</summary>
    Succeeded,
    /// <summary>The migration failed before the commit: the VM runs here as before.</summary>
    Failed,
    /// <summary>
    /// The commit was sent and the link failed before the destination confirmed it: the source
    /// cannot know whether the destination runs the VM. The VM stays paused here; the operator
    /// checks the destination and resumes it here only if it does not run there.
    /// </summary>
    Undecided,
}

/// <summary>A migration's progress and, once it is over, its outcome.</summary>
public sealed record MigrationProgress(
    MigrationPhase Phase,
    string Destination,
    int Round,
    ulong RamBytes,
    long PagesSent,
    long BytesSent,
    long DirtyPages,
    int Throttle,
    TimeSpan Elapsed,
    TimeSpan? Downtime,
    string? Message)
{
    /// <summary>
    /// From the pause here until the last byte of the VM left (the rest of RAM and the state): what
    /// QEMU reports as its downtime. <see cref="Downtime"/> goes on until the VM runs at the destination.
    /// </summary>
    public TimeSpan? StopAndCopy { get; init; }

    public bool Over => Phase is MigrationPhase.Succeeded or MigrationPhase.Failed or MigrationPhase.Undecided;
}

/// <summary>
/// The sending side of a live migration: iterative pre-copy of RAM over a dirty log while the VM
/// runs, throttling a guest that dirties memory faster than the link carries it, then a short stop
/// to send the rest and the harts' and devices' state, and the handover (docs/migration.md). The
/// VM runs on here whenever the migration fails before the commit; after the commit it never runs
/// here again.
/// </summary>
public sealed class MigrationSource(IMachine machine, string destination, MigrationOptions options)
{
    private readonly Stopwatch _clock = new();
    private volatile MigrationProgress _progress = new(MigrationPhase.Connecting, destination, 0, machine.Ram.Size, 0, 0, 0, 0, TimeSpan.Zero, null, null);
    private int _round;
    private long _pagesSent, _dirty, _batches;
    private MigrationChannel? _channel;

    /// <summary>Where the migration stands now (thread-safe).</summary>
    public MigrationProgress Progress => _progress;

    private void Report(MigrationPhase phase, TimeSpan? downtime = null, string? message = null) =>
        _progress = new MigrationProgress(phase, destination, _round, machine.Ram.Size, _pagesSent, _channel?.BytesSent ?? 0,
            _dirty, machine.Throttle, _clock.Elapsed, downtime, message);

    /// <summary>Connects to <c>HOST:PORT</c> and migrates the machine there; returns the outcome (never throws for a failed migration).</summary>
    public MigrationProgress Run()
    {
        _clock.Start();
        Stream stream;
        try
        {
            stream = MigrationEndpoint.Connect(destination, options.Timeout);
        }
        catch (MigrationException e)
        {
            Report(MigrationPhase.Failed, message: e.Message);
            return _progress;
        }
        return Run(stream);
    }

    /// <summary>Migrates the machine over <paramref name="connection"/> (owned: closed at the end).</summary>
    public MigrationProgress Run(Stream connection)
    {
        _clock.Start();
        using var channel = _channel = new MigrationChannel(connection);
        bool wasPaused = machine.IsPaused, committed = false, imagesReleased = false;
        var stopped = new Stopwatch();
        try
        {
            Handshake(channel);
            PreCopy(channel);

            // An exchange with nothing queued (each round ended with the destination caught up) measures
            // the link's round trip for the downtime below.
            var roundTrip = Stopwatch.StartNew();
            channel.Send(MigrationMessage.Sync, []);
            channel.Expect(MigrationMessage.Synced);
            var oneWay = roundTrip.Elapsed / 2;

            // Stop and copy: from here the VM stands still until the destination runs it.
            stopped.Start();
            machine.Pause();
            imagesReleased = true;
            machine.ReleaseImages(); // durable, and the destination's to lock once the VM is its own
            SendTheRest(channel);
            var state = new MemoryStream();
            machine.SaveState(state);
            channel.Send(MigrationMessage.State, state.GetBuffer().AsSpan(0, (int)state.Length));
            var stopAndCopy = stopped.Elapsed;
            channel.Expect(MigrationMessage.Ready);

            TimeSpan goSent;
            ReadOnlyMemory<byte> running = default;
            if (options.Ownership is not { } ownership)
            {
                // The commit point. Sent, it is never taken back: the VM does not run here again.
                committed = true;
                Report(MigrationPhase.Committing);
                channel.Send(MigrationMessage.Go, []);
                goSent = stopped.Elapsed;
                running = channel.Expect(MigrationMessage.Running);
            }
            else
            {
                // The commit point is etcd's: the record names the destination, or it does not.
                Report(MigrationPhase.Committing);
                switch (ownership.HandOver(options.Vm!, _destinationHolder!, _destinationLease, Patience))
                {
                    case HandoverOutcome.StillOurs:
                        throw new MigrationException($"the hand-over did not happen: etcd still names this host for VM '{options.Vm}'");
                    case HandoverOutcome.Unknown:
                        committed = true;
                        throw new OwnershipUndecided($"etcd could not be asked whether VM '{options.Vm}' was handed over within {Patience.TotalSeconds:F0} s");
                }
                committed = true;
                goSent = stopped.Elapsed;
                try
                {
                    // The destination would learn it from etcd too; Go saves it the wait.
                    channel.Send(MigrationMessage.Go, []);
                    goSent = stopped.Elapsed;
                    running = channel.Expect(MigrationMessage.Running);
                }
                catch (MigrationException e)
                {
                    // It is the destination's all the same: it takes the VM from etcd once it hears nothing more.
                    machine.StopDirtyLog();
                    Report(MigrationPhase.Succeeded, message:
                        $"etcd names the destination, which did not confirm ({e.Message}) and takes the VM from etcd");
                    _progress = _progress with { StopAndCopy = stopAndCopy };
                    return _progress;
                }
            }
            machine.StopDirtyLog();
            // The downtime is from the pause here to the VM running there: until Go left, Go's way
            // there, and what the destination took from Go to releasing the VM (it says so in Running).
            // The answer's way back is not downtime, nor is the wait for this process to be scheduled
            // to read it.
            var there = running.Length == 8 ? TimeSpan.FromTicks((long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(running.Span) / 100, (ulong)TimeSpan.FromMinutes(1).Ticks)) : TimeSpan.Zero;
            Report(MigrationPhase.Succeeded, goSent + oneWay + there);
            _progress = _progress with { StopAndCopy = stopAndCopy };
        }
        catch (OwnershipUndecided e)
        {
            machine.Throttle = 0;
            Report(MigrationPhase.Undecided, message:
                $"{e.Message}: the VM stays paused here and runs nowhere until etcd answers; then it runs where /isomorph/vms/{options.Vm}/owner says " +
                "(resume it here with isomorph vm resume only if that record names this host)");
        }
        catch (Exception e) when (e is MigrationException or SnapshotException or InvalidOperationException or IOException)
        {
            machine.Throttle = 0;
            if (committed)
            {
                // The destination may or may not have the word: only one who can see both sides may resume the VM.
                Report(MigrationPhase.Undecided, message:
                    $"{e.Message} after the commit was sent: the destination may be running the VM. It stays paused here; " +
                    "if the destination does not run it, resume it here (isomorph vm resume), otherwise stop this process");
            }
            else
            {
                channel.TryAbort(e.Message);
                machine.StopDirtyLog();
                try
                {
                    if (imagesReleased) machine.LockImages();
                    if (!wasPaused) machine.Resume();
                    Report(MigrationPhase.Failed, message: e.Message);
                }
                catch (MachineConfigurationException locked)
                {
                    Report(MigrationPhase.Undecided, message: $"{e.Message}; and the VM cannot run on here: {locked.Message}. It stays paused");
                }
            }
        }
        return _progress;
    }

    /// <summary>How long the source waits for etcd to settle a hand-over, and the destination for it to say who owns the VM.</summary>
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private sealed class OwnershipUndecided(string message) : Exception(message);

    private string? _destinationHolder;
    private long _destinationLease;

    private void Handshake(MigrationChannel channel)
    {
        // The state is saved once to nowhere first (paused for the instant), so that the stop does not wait for code run the first time.
        bool running = !machine.IsPaused;
        machine.Pause();
        try
        {
            machine.SaveState(Stream.Null);
        }
        finally
        {
            if (running) machine.Resume();
        }
        channel.Send(MigrationMessage.Hello, MigrationEndpoint.Hello(machine.Board, options.Ownership is null ? null : options.Vm));
        channel.Send(MigrationMessage.Configuration, machine.SaveConfiguration());
        var accepted = channel.Expect(MigrationMessage.Accepted);
        if (options.Ownership is not null)
        {
            try
            {
                var r = new SnapshotReader("accepted", accepted.ToArray());
                _destinationHolder = r.ReadString() ?? throw r.Error("no holder");
                _destinationLease = r.ReadInt64();
                r.ExpectEnd();
            }
            catch (SnapshotException)
            {
                throw new MigrationException("the destination does not use etcd ownership: give both sides the same --ownership");
            }
            options.Ownership.Prepare(options.Vm!);
        }
    }

    private ulong[] _bitmap = [];
    private readonly uint[] _batch = new uint[PageBatch.MaxPages];
    private readonly PageBatch.Encoder _encoder = new();

    /// <summary>
    /// Rounds of copying while the VM runs, until what is left fits in the downtime allowed; returns
    /// with the pages still to send in <see cref="_bitmap"/>.
    /// </summary>
    private void PreCopy(MigrationChannel channel)
    {
        machine.StartDirtyLog();
        int ramPages = (int)(machine.Ram.Size >> Ram.PageShift);
        _bitmap = new ulong[(ramPages + 63) / 64];
        _dirty = machine.CollectDirtyPages(_bitmap); // every page the host backs, to begin with
        int overrun = 0;
        long previous = long.MaxValue;
        for (_round = 1; ; _round++)
        {
            Report(MigrationPhase.Copying);
            var round = Stopwatch.StartNew();
            long sent = SendPages(channel, skipZero: _round == 1); // the destination's RAM starts zero
            // The round ends when the destination has it all, not when the socket took it (buffers hide a slow link).
            channel.Send(MigrationMessage.Sync, []);
            channel.Expect(MigrationMessage.Synced);
            // What a page sent costs, scanned, compressed and carried (the link's speed and this host's), from
            // this round; the first round's pages left out as zero cost next to nothing and are not counted.
            double secondsPerPage = round.Elapsed.TotalSeconds / Math.Max(sent, 1);

            _dirty = machine.CollectDirtyPages(_bitmap);
            double estimate = _dirty * secondsPerPage;
            // Go on while rounds shrink what is left (the guest's working set is what remains); stop once
            // the rest is next to nothing, or fits in the downtime allowed and no longer shrinks.
            bool shrinking = previous == long.MaxValue || _dirty < previous / 4 * 3;
            previous = _dirty;
            if (estimate <= MinDowntime.TotalSeconds || _round >= options.MaxRounds
                || !shrinking && estimate <= options.MaxDowntime.TotalSeconds) return;

            // Auto-converge, as QEMU's: the guest dirtied more than half of what a round could send, twice running.
            if (options.AutoConverge && _round > 1 && _dirty > sent / 2 && estimate > options.MaxDowntime.TotalSeconds)
            {
                if (++overrun >= 2) machine.Throttle = machine.Throttle == 0 ? 20 : Math.Min(99, machine.Throttle + 10);
            }
            else overrun = 0;
        }
    }

    /// <summary>A rest this small is sent in the stop whatever the rounds would still gain.</summary>
    private static readonly TimeSpan MinDowntime = TimeSpan.FromMilliseconds(1);

    /// <summary>With the machine paused: the pages written since the last round, added to those pre-copy left, all sent.</summary>
    private void SendTheRest(MigrationChannel channel)
    {
        var more = new ulong[_bitmap.Length];
        machine.CollectDirtyPages(more);
        _dirty = 0;
        for (int i = 0; i < _bitmap.Length; i++)
        {
            _bitmap[i] |= more[i];
            _dirty += System.Numerics.BitOperations.PopCount(_bitmap[i]);
        }
        Report(MigrationPhase.Stopped);
        SendPages(channel, skipZero: false);
    }

    /// <summary>Sends the pages <see cref="_bitmap"/> names; returns how many went.</summary>
    private long SendPages(MigrationChannel channel, bool skipZero)
    {
        long sent = 0;
        int n = 0;
        for (int word = 0; word < _bitmap.Length; word++)
        {
            for (ulong bits = _bitmap[word]; bits != 0; bits &= bits - 1)
            {
                _batch[n++] = (uint)(word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits));
                if (n == _batch.Length)
                {
                    sent += SendBatch(channel, n, skipZero);
                    n = 0;
                }
            }
        }
        if (n > 0) sent += SendBatch(channel, n, skipZero);
        return sent;
    }

    private int SendBatch(MigrationChannel channel, int n, bool skipZero)
    {
        var message = _encoder.Encode(machine.Ram, _batch, n, out int zeroPages);
        if (skipZero && zeroPages == n) return 0;
        channel.Send(MigrationMessage.Pages, message);
        _pagesSent += n;
        if (++_batches % 16 == 0) Report(_progress.Phase); // the progress a client polls, every 4096 pages

        return n;
    }
}
