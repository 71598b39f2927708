namespace Isomorph.Riscv.Isa;

/// <summary>CSR numbers of the unprivileged and privileged specifications.</summary>
public static class CsrNumber
{
    public const int Fflags = 0x001, Frm = 0x002, Fcsr = 0x003;
    public const int Cycle = 0xC00, Time = 0xC01, Instret = 0xC02, HpmCounter3 = 0xC03, HpmCounter31 = 0xC1F;

    public const int Sstatus = 0x100, Sie = 0x104, Stvec = 0x105, Scounteren = 0x106, Senvcfg = 0x10A;
    public const int Sscratch = 0x140, Sepc = 0x141, Scause = 0x142, Stval = 0x143, Sip = 0x144, Satp = 0x180;

    public const int Mvendorid = 0xF11, Marchid = 0xF12, Mimpid = 0xF13, Mhartid = 0xF14, Mconfigptr = 0xF15;
    public const int Mstatus = 0x300, Misa = 0x301, Medeleg = 0x302, Mideleg = 0x303, Mie = 0x304, Mtvec = 0x305, Mcounteren = 0x306;
    public const int Menvcfg = 0x30A, Mcountinhibit = 0x320, MhpmEvent3 = 0x323, MhpmEvent31 = 0x33F;
    public const int Mscratch = 0x340, Mepc = 0x341, Mcause = 0x342, Mtval = 0x343, Mip = 0x344;
    public const int Pmpcfg0 = 0x3A0, Pmpcfg15 = 0x3AF, Pmpaddr0 = 0x3B0, Pmpaddr63 = 0x3EF;
    public const int Mcycle = 0xB00, Minstret = 0xB02, MhpmCounter3 = 0xB03, MhpmCounter31 = 0xB1F;
    public const int Tselect = 0x7A0, Tdata1 = 0x7A1, Tdata2 = 0x7A2, Tdata3 = 0x7A3;
}

public static class CsrNames
{
    private static readonly Dictionary<int, string> Names = Build();

    private static Dictionary<int, string> Build()
    {
        var d = new Dictionary<int, string>
        {
            [0x001] = "fflags", [0x002] = "frm", [0x003] = "fcsr",
            [0xC00] = "cycle", [0xC01] = "time", [0xC02] = "instret",
            [0x100] = "sstatus", [0x104] = "sie", [0x105] = "stvec", [0x106] = "scounteren", [0x10A] = "senvcfg",
            [0x140] = "sscratch", [0x141] = "sepc", [0x142] = "scause", [0x143] = "stval", [0x144] = "sip", [0x180] = "satp",
            [0xF11] = "mvendorid", [0xF12] = "marchid", [0xF13] = "mimpid", [0xF14] = "mhartid", [0xF15] = "mconfigptr",
            [0x300] = "mstatus", [0x301] = "misa", [0x302] = "medeleg", [0x303] = "mideleg", [0x304] = "mie",
            [0x305] = "mtvec", [0x306] = "mcounteren", [0x30A] = "menvcfg", [0x320] = "mcountinhibit",
            [0x340] = "mscratch", [0x341] = "mepc", [0x342] = "mcause", [0x343] = "mtval", [0x344] = "mip",
            [0xB00] = "mcycle", [0xB02] = "minstret",
            [0x7A0] = "tselect", [0x7A1] = "tdata1", [0x7A2] = "tdata2", [0x7A3] = "tdata3",
        };
        for (int i = 3; i < 32; i++)
        {
            d[0xC00 + i] = $"hpmcounter{i}";
            d[0xB00 + i] = $"mhpmcounter{i}";
            d[0x320 + i] = $"mhpmevent{i}";
        }
        for (int i = 0; i < 16; i++) d[0x3A0 + i] = $"pmpcfg{i}";
        for (int i = 0; i < 64; i++) d[0x3B0 + i] = $"pmpaddr{i}";
        return d;
    }

    /// <summary>Every CSR the harts implement, by number, with its name (the debugger's target description reads this).</summary>
    public static IEnumerable<(int Number, string Name)> All => Names.OrderBy(n => n.Key).Select(n => (n.Key, n.Value));

    public static string Name(int csr) => Names.TryGetValue(csr, out var n) ? n : $"0x{csr:x3}";
}
