using Isomorph.Devices.Bus;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// A virtio-mmio slot with no device behind it, as QEMU's virt board presents its unused slots:
/// the magic value, version 2, QEMU's vendor id and device id 0 ("no device", virtio 1.x 4.2.2.2:
/// the driver must ignore it), everything else reading 0 and writes ignored. A guest that probes
/// all eight slots instead of reading the device tree then finds nothing there rather than an
/// access fault. Holds no state.
/// </summary>
public sealed class VirtioMmioEmptySlot : IMmioDevice
{
    public string Name => "virtio-mmio (empty)";
    public ulong Size => VirtioMmio.WindowSize;

    public ulong Read(ulong offset, int size) => offset switch
    {
        0x000 => VirtioMmio.MagicValue,
        0x004 => VirtioMmio.VersionModern,
        0x00c => VirtioMmio.VendorId,
        _ => 0,
    };

    public void Write(ulong offset, int size, ulong value) { }
}
