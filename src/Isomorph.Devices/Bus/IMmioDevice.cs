namespace Isomorph.Devices.Bus;

/// <summary>
/// A device register window on the physical bus. Offsets are relative to the window's base;
/// sizes are 1, 2, 4 or 8 bytes. Devices know nothing of the guest ISA.
/// </summary>
public interface IMmioDevice
{
    /// <summary>A short name for statistics and traces ("uart", "plic", "htif").</summary>
    string Name { get; }

    /// <summary>The size in bytes of the register window.</summary>
    ulong Size { get; }

    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="offset"/>, zero-extended.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
