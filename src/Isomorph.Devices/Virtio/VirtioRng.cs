using System.Security.Cryptography;

namespace Isomorph.Devices.Virtio;

/// <summary>virtio-rng (entropy device): fills each buffer the driver offers from the host's RNG.</summary>
public sealed class VirtioRng : IVirtioDevice
{
    private const int MaxChunk = 64 << 10;
    private IVirtioQueues? _queues;

    public string Name => "virtio-rng";
    public VirtioDeviceId DeviceId => VirtioDeviceId.Entropy;
    public ulong Features => 0;
    public int QueueCount => 1;
    public ushort QueueSize => 64;

    public void ReadConfig(int offset, Span<byte> data) => data.Clear();
    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { }
    public void Activate(IVirtioQueues queues) => _queues = queues;
    public void Poll() { }
    public void Reset() => _queues = null;

    public void Notify(int queue)
    {
        if (_queues is not { } qs) return;
        qs.ServeAll(0, chain =>
        {
            var bytes = new byte[Math.Min(chain.WritableLength, MaxChunk)];
            RandomNumberGenerator.Fill(bytes);
            return (uint)chain.Write(qs.Memory, 0, bytes);
        });
    }

    public void Dispose() { }
}
