namespace Isomorph.Riscv.Isa;

/// <summary>CSR numbers of the unprivileged and privileged specifications (and the H extension).</summary>
public static class CsrNumber
{
    public const int Fflags = 0x001, Frm = 0x002, Fcsr = 0x003;
    public const int Cycle = 0xC00, Time = 0xC01, Instret = 0xC02, HpmCounter3 = 0xC03, HpmCounter31 = 0xC1F;

    public const int Sstatus = 0x100, Sie = 0x104, Stvec = 0x105, Scounteren = 0x106, Senvcfg = 0x10A;
    public const int Sscratch = 0x140, Sepc = 0x141, Scause = 0x142, Stval = 0x143, Sip = 0x144, Stimecmp = 0x14D, Satp = 0x180;

    public const int Vsstatus = 0x200, Vsie = 0x204, Vstvec = 0x205, Vsscratch = 0x240, Vsepc = 0x241, Vscause = 0x242;
    public const int Vstval = 0x243, Vsip = 0x244, Vstimecmp = 0x24D, Vsatp = 0x280;

    public const int Hstatus = 0x600, Hedeleg = 0x602, Hideleg = 0x603, Hie = 0x604, Htimedelta = 0x605, Hcounteren = 0x606;
    public const int Hgeie = 0x607, Henvcfg = 0x60A, Htval = 0x643, Hip = 0x644, Hvip = 0x645, Htinst = 0x64A, Hgatp = 0x680;
    public const int Hgeip = 0xE12;

    public const int Mvendorid = 0xF11, Marchid = 0xF12, Mimpid = 0xF13, Mhartid = 0xF14, Mconfigptr = 0xF15;
    public const int Mstatus = 0x300, Misa = 0x301, Medeleg = 0x302, Mideleg = 0x303, Mie = 0x304, Mtvec = 0x305, Mcounteren = 0x306;
    public const int Menvcfg = 0x30A, Mcountinhibit = 0x320, MhpmEvent3 = 0x323, MhpmEvent31 = 0x33F;
    public const int Mscratch = 0x340, Mepc = 0x341, Mcause = 0x342, Mtval = 0x343, Mip = 0x344, Mtinst = 0x34A, Mtval2 = 0x34B;
    public const int Pmpcfg0 = 0x3A0, Pmpcfg15 = 0x3AF, Pmpaddr0 = 0x3B0, Pmpaddr63 = 0x3EF;
    public const int Mcycle = 0xB00, Minstret = 0xB02, MhpmCounter3 = 0xB03, MhpmCounter31 = 0xB1F;
    public const int Tselect = 0x7A0, Tdata1 = 0x7A1, Tdata2 = 0x7A2, Tdata3 = 0x7A3;
}

/// <summary>What an access to a CSR does when it is not allowed (privileged spec, "CSR field specifications" and the H extension).</summary>
public enum CsrFault : byte
{
    None,
    /// <summary>An illegal-instruction exception.</summary>
    Illegal,
    /// <summary>A virtual-instruction exception: allowed in HS-mode, not in VS- or VU-mode.</summary>
    Virtual,
}

/// <summary>Reads the storage of a CSR in a hart (a plain register's field).</summary>
internal delegate ref ulong CsrStorage(Hart hart);

/// <summary>
/// One control and status register, defined once: its number and name, the extension it belongs to,
/// its storage, which bits software writes and how, any access rule beyond the privilege its number
/// encodes, its virtual-supervisor counterpart, and its part in snapshots. Reads, writes, access
/// checks, snapshots, the disassembler, traces and the debugger's target description all read
/// this one row (<see cref="Hart"/> holds the table).
/// </summary>
public sealed class Csr
{
    internal Csr(int number, string name)
    {
        Number = number;
        Name = name;
    }

    /// <summary>The CSR's address (12 bits).</summary>
    public int Number { get; }

    /// <summary>The name the specification gives it (and assemblers take).</summary>
    public string Name { get; }

    /// <summary>The lowest privilege that may access it, as its number encodes it (bits 9:8): 0 U, 1 S, 2 HS (hypervisor), 3 M.</summary>
    public int PrivilegeField => (Number >> 8) & 3;

    /// <summary>Read-only by its number (bits 11:10 are 3).</summary>
    public bool ReadOnly => (Number >> 10) == 3;

    /// <summary>The misa letter of the extension that must be present for it to exist (null: always).</summary>
    public char? Extension { get; internal init; }

    /// <summary>In V mode an access to this (supervisor) CSR reaches this counterpart instead (vsstatus for sstatus); null when none.</summary>
    public int? VirtualCounterpart { get; internal init; }

    /// <summary>Whether snapshots keep its storage (false for views of other CSRs, constants and registers kept elsewhere).</summary>
    public bool Saved => Storage is not null;

    /// <summary>Its storage in the hart, when it is a register of its own.</summary>
    internal CsrStorage? Storage { get; init; }

    /// <summary>For a register with storage and no <see cref="Write"/>: the bits a write changes (the others keep their value).</summary>
    internal ulong Writable { get; init; } = ulong.MaxValue;

    /// <summary>How a read computes the value, when it is not the storage as it is.</summary>
    internal Func<Hart, ulong>? Read { get; init; }

    /// <summary>How a write legalises and applies a value (side effects included), when it is not a masked store.</summary>
    internal Action<Hart, ulong>? Write { get; init; }

    /// <summary>Called after a masked store to <see cref="Storage"/> (an interrupt check, a flush).</summary>
    internal Action<Hart>? AfterWrite { get; init; }

    /// <summary>An access rule beyond the privilege field (FS, TVM, the counter enables); the argument is whether it writes.</summary>
    internal Func<Hart, bool, CsrFault>? Gate { get; init; }
}

/// <summary>The CSRs by number and name, for the disassembler, traces and the debugger.</summary>
public static class Csrs
{
    /// <summary>Every CSR defined, in number order (whether a given hart implements it: <see cref="Hart.Implements"/>).</summary>
    public static IReadOnlyList<Csr> All => Hart.CsrTable.All;

    /// <summary>The definition of CSR <paramref name="number"/>, or null when none is defined.</summary>
    public static Csr? Find(int number) => (uint)number < 4096 ? Hart.CsrTable.ByNumber[number] : null;

    /// <summary>The name of CSR <paramref name="number"/>, or its number in hex when it has none.</summary>
    public static string Name(int number) => Find(number)?.Name ?? $"0x{number:x3}";
}
