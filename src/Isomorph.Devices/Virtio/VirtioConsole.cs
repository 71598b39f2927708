using System.Collections.Concurrent;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// virtio-console with a single port (no VIRTIO_CONSOLE_F_MULTIPORT), an hvc terminal in a Linux guest. What the
/// guest writes goes to <see cref="Output"/>; bytes given to <see cref="SendInput"/> wait until
/// the driver offers receive buffers.
/// </summary>
public sealed class VirtioConsole : IVirtioDevice, ISnapshotState
{
    private const int ReceiveQueue = 0, TransmitQueue = 1;
    /// <summary>The most bytes of one output buffer passed on; the rest of a larger one is dropped.</summary>
    private const int MaxOutput = 1 << 20;
    private readonly ConcurrentQueue<byte[]> _input = new();
    private byte[]? _partial;
    private int _partialAt;
    private IVirtioQueues? _queues;

    /// <summary>Receives the guest's output (on the machine's thread).</summary>
    public Action<byte[]>? Output { get; set; }

    /// <summary>Called from the sending thread when input waits for the guest.</summary>
    public Action? InputArrived { get; set; }

    public string Name => "virtio-console";
    public VirtioDeviceId DeviceId => VirtioDeviceId.Console;
    public ulong Features => 0;
    public int QueueCount => 2;
    public ushort QueueSize => 64;

    public void ReadConfig(int offset, Span<byte> data) => data.Clear();
    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { }
    public void Activate(IVirtioQueues queues) => _queues = queues;
    public void Reset() => _queues = null;

    /// <summary>Queues bytes for the guest to read (thread-safe).</summary>
    public void SendInput(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        _input.Enqueue(bytes.ToArray());
        InputArrived?.Invoke();
    }

    public void Notify(int queue)
    {
        if (queue == TransmitQueue) Transmit();
        else Poll();
    }

    private void Transmit() =>
        _queues?.DrainOutgoing(TransmitQueue, MaxOutput, (bytes, _) =>
        {
            if (bytes.Length > 0) Output?.Invoke(bytes);
        });

    public void Poll()
    {
        if (_queues is not { } qs || (_partial is null && _input.IsEmpty)) return;
        var q = qs.Queue(ReceiveQueue);
        bool any = false;
        while (q.HasAvailable && (_partial is not null || _input.TryDequeue(out _partial)))
        {
            q.TryPop(out var chain);
            int n = chain.Write(qs.Memory, 0, _partial.AsSpan(_partialAt));
            _partialAt += n;
            if (_partialAt == _partial.Length)
            {
                _partial = null;
                _partialAt = 0;
            }
            q.Push(chain, (uint)n);
            any = true;
        }
        if (any) qs.SignalUsed(ReceiveQueue);
    }

    /// <summary>Saves the input not yet delivered to the guest (the rest of a partly delivered chunk first).</summary>
    public void Save(SnapshotWriter w)
    {
        var chunks = _input.ToArray();
        w.WriteInt32(chunks.Length + (_partial is null ? 0 : 1));
        if (_partial is not null) w.WriteBytes(_partial.AsSpan(_partialAt));
        foreach (var chunk in chunks) w.WriteBytes(chunk);
    }

    public void Restore(SnapshotReader r)
    {
        int n = r.ReadCount(r.Remaining / 4, "input chunks");
        _partial = null;
        _partialAt = 0;
        _input.Clear();
        for (int i = 0; i < n; i++) _input.Enqueue(r.ReadBytes());
    }

    public void Dispose() { }
}
