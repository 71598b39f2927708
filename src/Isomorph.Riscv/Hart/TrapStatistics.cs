namespace Isomorph.Riscv;

/// <summary>
/// The modes a hart runs in: the privilege levels U, S and M, and with the hypervisor extension the
/// virtualized VU and VS (the privilege level, plus 4 when V is set). S is HS-mode where H exists.
/// </summary>
public enum PrivilegeMode : byte { User = 0, Supervisor = 1, Machine = 3, VirtualUser = 4, VirtualSupervisor = 5 }

/// <summary>
/// The cost of trap-and-emulate made visible: one hart's traps counted by cause and by the
/// mode they were taken from and to (V modes included: a trap from VS or VU into HS- or M-mode is a
/// hypervisor exit), and its SBI calls (ecalls from S-mode into M-mode) by
/// extension. Plain counters in arrays sized at construction: counting is an increment and never
/// allocates. Only the hart's own thread writes them; readers on other threads see values at most
/// a few increments old. <see cref="Sum"/> adds several harts' counters into a report.
/// </summary>
public sealed class TrapStatistics
{
    // A row per cause: exception codes 0–63, then interrupt codes 0–63. A column per (from, to)
    // mode pair, each a PrivilegeMode.
    private const int Rows = 128, Levels = 8;
    private readonly long[] _traps = new long[Rows * Levels * Levels];
    private readonly long[] _hostHandled = new long[Rows * Levels];
    private readonly long[] _sbiCalls = new long[SbiExtensions.Count];

    /// <summary>Every trap counted (whoever handled it).</summary>
    public long Total;

    private static int Row(ulong cause) => ((cause & Hart.InterruptBit) != 0 ? 64 : 0) + (int)(cause & 63);

    /// <summary>A trap entering <paramref name="to"/> from <paramref name="from"/>.</summary>
    public void CountTrap(ulong cause, PrivilegeMode from, PrivilegeMode to)
    {
        _traps[(Row(cause) * Levels + (int)from) * Levels + (int)to]++;
        Total++;
    }

    /// <summary>A trap the host handled in place of the guest's trap handler (the process VM's system calls).</summary>
    public void CountHostHandled(ulong cause, PrivilegeMode from)
    {
        _hostHandled[Row(cause) * Levels + (int)from]++;
        Total++;
    }

    /// <summary>An SBI call: the extension id the caller put in a7.</summary>
    public void CountSbiCall(ulong extensionId) => _sbiCalls[SbiExtensions.IndexOf(extensionId)]++;

    /// <summary>The count of traps with <paramref name="cause"/> from one privilege to another.</summary>
    public long Traps(ulong cause, PrivilegeMode from, PrivilegeMode to) =>
        Volatile.Read(ref _traps[(Row(cause) * Levels + (int)from) * Levels + (int)to]);

    /// <summary>The counters of several harts added up, the non-zero ones only, in cause order.</summary>
    public static TrapReport Sum(IEnumerable<TrapStatistics> harts)
    {
        var traps = new long[Rows * Levels * Levels];
        var host = new long[Rows * Levels];
        var sbi = new long[SbiExtensions.Count];
        foreach (var h in harts)
        {
            for (int i = 0; i < traps.Length; i++) traps[i] += Volatile.Read(ref h._traps[i]);
            for (int i = 0; i < host.Length; i++) host[i] += Volatile.Read(ref h._hostHandled[i]);
            for (int i = 0; i < sbi.Length; i++) sbi[i] += Volatile.Read(ref h._sbiCalls[i]);
        }
        var trapCounts = new List<TrapCount>();
        for (int row = 0; row < Rows; row++)
        {
            ulong cause = row < 64 ? (ulong)row : Hart.InterruptBit | (uint)(row - 64);
            for (int from = 0; from < Levels; from++)
            {
                for (int to = 0; to < Levels; to++)
                    if (traps[(row * Levels + from) * Levels + to] is var n and > 0)
                        trapCounts.Add(new TrapCount(cause, (PrivilegeMode)from, (PrivilegeMode)to, n));
                if (host[row * Levels + from] is var h and > 0)
                    trapCounts.Add(new TrapCount(cause, (PrivilegeMode)from, null, h));
            }
        }
        var sbiCounts = new List<SbiCallCount>();
        for (int i = 0; i < sbi.Length; i++)
            if (sbi[i] > 0) sbiCounts.Add(new SbiCallCount(SbiExtensions.All[i], sbi[i]));
        return new TrapReport(trapCounts, sbiCounts);
    }
}

/// <summary>Traps with one cause taken from one mode into another (<see cref="To"/> null: handled by the host).</summary>
public sealed record TrapCount(ulong Cause, PrivilegeMode From, PrivilegeMode? To, long Count)
{
    public bool IsInterrupt => (Cause & Hart.InterruptBit) != 0;

    /// <summary>The exception or interrupt code (mcause without the interrupt bit).</summary>
    public ulong Code => Cause & ~Hart.InterruptBit;

    /// <summary>The cause's name as the privileged spec's mcause table gives it, e.g. "EnvironmentCallFromS", "SupervisorTimer".</summary>
    public string Name => IsInterrupt
        ? Enum.IsDefined((InterruptCause)Code) ? ((InterruptCause)Code).ToString() : $"Interrupt{Code}"
        : Enum.IsDefined((ExceptionCause)Code) ? ((ExceptionCause)Code).ToString() : $"Exception{Code}";
}

/// <summary>SBI calls to one extension.</summary>
public sealed record SbiCallCount(SbiExtension Extension, long Count);

/// <summary>Several harts' traps and SBI calls, added up.</summary>
public sealed record TrapReport(IReadOnlyList<TrapCount> Traps, IReadOnlyList<SbiCallCount> SbiCalls)
{
    /// <summary>Interrupts by cause, whatever privilege they were taken from or to.</summary>
    public IEnumerable<(string Name, ulong Code, long Count)> Interrupts =>
        Traps.Where(t => t.IsInterrupt).GroupBy(t => t.Code).OrderBy(g => g.Key).Select(g => (g.First().Name, g.Key, g.Sum(t => t.Count)));
}

/// <summary>An SBI extension: its EID (in a7) and its name as the SBI specification gives it.</summary>
public sealed record SbiExtension(string Name, ulong FirstId, ulong LastId)
{
    public bool IsRange => FirstId != LastId;
}

/// <summary>
/// The SBI extensions of the RISC-V Supervisor Binary Interface specification (v2.0), by EID:
/// the legacy extensions 0x00–0x08, the base extension 0x10, the extensions whose EIDs spell
/// their names in ASCII, and the experimental, vendor and firmware ranges.
/// </summary>
public static class SbiExtensions
{
    public static readonly IReadOnlyList<SbiExtension> All =
    [
        new("legacy set_timer", 0x00, 0x00),
        new("legacy console_putchar", 0x01, 0x01),
        new("legacy console_getchar", 0x02, 0x02),
        new("legacy clear_ipi", 0x03, 0x03),
        new("legacy send_ipi", 0x04, 0x04),
        new("legacy remote_fence_i", 0x05, 0x05),
        new("legacy remote_sfence_vma", 0x06, 0x06),
        new("legacy remote_sfence_vma_asid", 0x07, 0x07),
        new("legacy shutdown", 0x08, 0x08),
        new("BASE", 0x10, 0x10),
        new("TIME", 0x54494D45, 0x54494D45),     // "TIME"
        new("IPI", 0x735049, 0x735049),          // "sPI"
        new("RFENCE", 0x52464E43, 0x52464E43),   // "RFNC"
        new("HSM", 0x48534D, 0x48534D),          // "HSM"
        new("SRST", 0x53525354, 0x53525354),     // "SRST"
        new("PMU", 0x504D55, 0x504D55),          // "PMU"
        new("DBCN", 0x4442434E, 0x4442434E),     // "DBCN"
        new("SUSP", 0x53555350, 0x53555350),     // "SUSP"
        new("CPPC", 0x43505043, 0x43505043),     // "CPPC"
        new("NACL", 0x4E41434C, 0x4E41434C),     // "NACL"
        new("STA", 0x535441, 0x535441),          // "STA"
        new("experimental", 0x0800_0000, 0x08FF_FFFF),
        new("vendor", 0x0900_0000, 0x09FF_FFFF),
        new("firmware", 0x0A00_0000, 0x0AFF_FFFF),
        new("unknown", ulong.MaxValue, ulong.MaxValue),
    ];

    public static int Count => All.Count;

    /// <summary>The index in <see cref="All"/> of the extension <paramref name="eid"/> belongs to (the last, "unknown", when none).</summary>
    public static int IndexOf(ulong eid)
    {
        eid &= 0xFFFF_FFFF; // an EID is 32 bits wide; a7 holds it sign-extended on RV64
        if (eid <= 0x08) return (int)eid;
        switch (eid)
        {
            case 0x10: return 9;
            case 0x54494D45: return 10;
            case 0x735049: return 11;
            case 0x52464E43: return 12;
            case 0x48534D: return 13;
            case 0x53525354: return 14;
            case 0x504D55: return 15;
            case 0x4442434E: return 16;
            case 0x53555350: return 17;
            case 0x43505043: return 18;
            case 0x4E41434C: return 19;
            case 0x535441: return 20;
        }
        return (eid >> 24) switch { 0x08 => 21, 0x09 => 22, 0x0A => 23, _ => 24 };
    }
}
