using System.Collections.Concurrent;

namespace Isomorph.Devices.Virtio;

/// <summary>Where a virtual NIC's Ethernet frames go: a socket to another VM, a TAP device, a test.</summary>
public interface INetBackend : IDisposable
{
    /// <summary>Sends one frame (without the virtio header); frames are dropped while no peer listens.</summary>
    void Send(ReadOnlySpan<byte> frame);

    /// <summary>Set by the device: called, from any thread, with each frame that arrives.</summary>
    Action<byte[]>? Received { set; }
}

/// <summary>
/// virtio-net with one receive and one transmit queue and a fixed MAC address
/// (VIRTIO_NET_F_MAC), no offloads. Frames from the backend wait in a bounded queue until the
/// driver offers receive buffers; <see cref="FrameArrived"/> tells the machine to wake up.
/// </summary>
public sealed class VirtioNet : IVirtioDevice
{
    public const ulong FeatureMac = 1ul << 5;
    /// <summary>virtio_net_hdr with num_buffers (the modern layout): 12 bytes.</summary>
    public const int HeaderSize = 12;
    private const int ReceiveQueue = 0, TransmitQueue = 1, MaxPending = 512, MaxFrame = 65536;

    private readonly INetBackend _backend;
    private readonly ConcurrentQueue<byte[]> _pending = new();
    private readonly byte[] _config = new byte[8];
    private IVirtioQueues? _queues;

    public VirtioNet(INetBackend backend, ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6) throw new ArgumentException("a MAC address has 6 bytes", nameof(mac));
        mac.CopyTo(_config);
        Mac = mac.ToArray();
        _backend = backend;
        _backend.Received = OnReceived;
    }

    /// <summary>A random locally administered unicast MAC address (52:54:00:xx:xx:xx, as QEMU's).</summary>
    public static byte[] RandomMac()
    {
        var mac = new byte[] { 0x52, 0x54, 0x00, 0, 0, 0 };
        Random.Shared.NextBytes(mac.AsSpan(3));
        return mac;
    }

    public byte[] Mac { get; }

    /// <summary>Called from the backend's thread when a frame waits for the guest.</summary>
    public Action? FrameArrived { get; set; }

    public string Name => "virtio-net";
    public VirtioDeviceId DeviceId => VirtioDeviceId.Net;
    public ulong Features => FeatureMac;
    public int QueueCount => 2;
    public ushort QueueSize => 256;

    public void ReadConfig(int offset, Span<byte> data) => VirtioConfig.Read(_config, offset, data);
    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { }
    public void Activate(IVirtioQueues queues) => _queues = queues;

    public void Reset()
    {
        _queues = null;
        _pending.Clear();
    }

    private void OnReceived(byte[] frame)
    {
        if (_queues is null || frame.Length > MaxFrame) return; // no driver: the cable is unplugged
        if (_pending.Count >= MaxPending) _pending.TryDequeue(out _);
        _pending.Enqueue(frame);
        FrameArrived?.Invoke();
    }

    public void Notify(int queue)
    {
        if (queue == TransmitQueue) Transmit();
        else Poll();
    }

    private void Transmit() =>
        _queues?.DrainOutgoing(TransmitQueue, HeaderSize + MaxFrame, (packet, length) =>
        {
            // A frame larger than any the backends carry is dropped, as a wire would.
            if (packet.Length > HeaderSize && length == packet.Length) _backend.Send(packet.AsSpan(HeaderSize));
        });

    /// <summary>Moves waiting frames into the receive buffers the driver offered.</summary>
    public void Poll()
    {
        if (_queues is not { } qs || _pending.IsEmpty) return;
        var q = qs.Queue(ReceiveQueue);
        bool any = false;
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        header[10] = 1; // num_buffers
        while (!_pending.IsEmpty && q.HasAvailable && q.TryPop(out var chain))
        {
            _pending.TryDequeue(out var frame);
            uint written = 0;
            if (chain.WritableLength >= HeaderSize + frame!.Length)
            {
                chain.Write(qs.Memory, 0, header);
                chain.Write(qs.Memory, HeaderSize, frame);
                written = (uint)(HeaderSize + frame.Length);
            }
            q.Push(chain, written);
            any = true;
        }
        if (any) qs.SignalUsed(ReceiveQueue);
    }

    public void Dispose() => _backend.Dispose();
}
