namespace Isomorph.Devices.Virtio;

/// <summary>Virtio device IDs (virtio 1.x, section 5).</summary>
public enum VirtioDeviceId : uint
{
    Net = 1,
    Block = 2,
    Console = 3,
    Entropy = 4,
}

/// <summary>Feature bits that concern the transport and the queues rather than one device.</summary>
public static class VirtioFeatures
{
    public const ulong IndirectDescriptors = 1ul << 28;
    public const ulong EventIndex = 1ul << 29;
    public const ulong Version1 = 1ul << 32;
}

/// <summary>What a transport gives an activated device: its queues, guest memory and interrupts.</summary>
public interface IVirtioQueues
{
    IGuestMemory Memory { get; }
    /// <summary>The features the driver accepted.</summary>
    ulong Features { get; }
    Virtqueue Queue(int index);
    /// <summary>Interrupts the driver if the queue wants it after chains were pushed.</summary>
    void SignalUsed(int queue);
    void SignalConfigChange();
}

public static class VirtioQueuesExtensions
{
    /// <summary>
    /// Drains a driver-to-device queue (transmit, output): hands the bytes of every available chain
    /// (at most <paramref name="limit"/> of them, and the chain's full readable length) to
    /// <paramref name="consume"/>, returns each chain with nothing written, and interrupts the
    /// driver once if it wants to know.
    /// </summary>
    public static void DrainOutgoing(this IVirtioQueues queues, int queue, int limit, Action<byte[], long> consume) =>
        queues.ServeAll(queue, chain =>
        {
            consume(chain.ReadAll(queues.Memory, 0, limit), chain.ReadableLength);
            return 0;
        });

    /// <summary>
    /// Serves every chain the driver made available on <paramref name="queue"/> with
    /// <paramref name="serve"/> (which returns the bytes it wrote into the chain), returns each to
    /// the used ring, and interrupts the driver once if it wants to know.
    /// </summary>
    public static void ServeAll(this IVirtioQueues queues, int queue, Func<DescriptorChain, uint> serve)
    {
        var q = queues.Queue(queue);
        bool any = false;
        while (q.TryPop(out var chain))
        {
            q.Push(chain, serve(chain));
            any = true;
        }
        if (any) queues.SignalUsed(queue);
    }
}

/// <summary>
/// A virtio device model, driven by a transport (virtio-mmio here, PCI or a KVM machine elsewhere):
/// it never learns which, nor anything of the guest ISA. All calls come from the machine's device
/// thread; host-side events (network input) reach the guest in <see cref="Poll"/>.
/// </summary>
public interface IVirtioDevice : IDisposable
{
    /// <summary>A short name for statistics ("virtio-blk").</summary>
    string Name { get; }
    VirtioDeviceId DeviceId { get; }
    /// <summary>Device-specific feature bits offered (the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX).</summary>
    ulong Features { get; }
    int QueueCount { get; }
    ushort QueueSize { get; }

    /// <summary>Reads the device-specific configuration space at <paramref name="offset"/>; bytes beyond it read as zero.</summary>
    void ReadConfig(int offset, Span<byte> data);
    void WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>The driver set DRIVER_OK: the queues are set up.</summary>
    void Activate(IVirtioQueues queues);
    /// <summary>The driver made buffers available on <paramref name="queue"/>.</summary>
    void Notify(int queue);
    /// <summary>Delivers host-side events (received frames); called often from the machine's loop.</summary>
    void Poll();
    /// <summary>The driver reset the device: forget the queues.</summary>
    void Reset();
}

/// <summary>Helpers for device configuration spaces kept as byte arrays.</summary>
public static class VirtioConfig
{
    public static void Read(ReadOnlySpan<byte> config, int offset, Span<byte> data)
    {
        data.Clear();
        if (offset < 0 || offset >= config.Length) return;
        var from = config[offset..];
        from[..Math.Min(from.Length, data.Length)].CopyTo(data);
    }
}
