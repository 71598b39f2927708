using Isomorph.Riscv;

namespace Isomorph.Machines;

/// <summary>
/// What a machine has done so far, read while it runs or after: instructions and wall time,
/// every hart's traps and SBI calls added up, and MMIO accesses per device.
/// </summary>
public sealed record MachineStatistics(
    int Harts,
    long Instructions,
    TimeSpan WallTime,
    TrapReport Traps,
    IReadOnlyList<(string Device, long Accesses)> Mmio)
{
    /// <summary>Millions of instructions per second of wall time.</summary>
    public double Mips => Instructions / Math.Max(WallTime.TotalSeconds, 1e-9) / 1e6;
}
