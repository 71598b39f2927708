namespace Isomorph.Riscv;

/// <summary>
/// The LR/SC reservation. SC succeeds when the reservation is for the same address and memory
/// still holds the value LR read; the store is then a host compare-and-swap, which makes LR/SC
/// atomic across harts on different host threads.
/// </summary>
public sealed unsafe partial class Hart
{
    private ulong _reservedAddress = ulong.MaxValue;
    private ulong _reservedValue;
    private int _reservedSize;

    internal void Reserve(ulong address, ulong value, int size)
    {
        _reservedAddress = address;
        _reservedValue = value;
        _reservedSize = size;
    }

    /// <summary>Drops the reservation (SC, trap entry, xRET).</summary>
    public void ClearReservation() => _reservedAddress = ulong.MaxValue;

    internal bool TryStoreConditional(ulong address, void* host, ulong value, int size)
    {
        bool reserved = _reservedAddress == address && _reservedSize == size;
        ClearReservation();
        if (!reserved) return false;
        return size == 4
            ? Interlocked.CompareExchange(ref *(int*)host, (int)value, (int)_reservedValue) == (int)_reservedValue
            : Interlocked.CompareExchange(ref *(long*)host, (long)value, (long)_reservedValue) == (long)_reservedValue;
    }
}
