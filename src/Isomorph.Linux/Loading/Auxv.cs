namespace Isomorph.Linux.Loading;

/// <summary>Auxiliary vector keys (AT_*), as the kernel passes them on the initial stack.</summary>
public static class Auxv
{
    public const ulong Null = 0, Phdr = 3, Phent = 4, Phnum = 5, Pagesz = 6, Base = 7, Flags = 8, Entry = 9,
        Uid = 11, Euid = 12, Gid = 13, Egid = 14, Platform = 15, Hwcap = 16, Clktck = 17, Secure = 23,
        Random = 25, Hwcap2 = 26, Execfn = 31, MinSigStkSz = 51;

    /// <summary>AT_HWCAP for RV64IMAFDC: one bit per single-letter extension ('a' is bit 0).</summary>
    public const ulong HwcapImafdc = (1ul << ('I' - 'A')) | (1ul << ('M' - 'A')) | (1ul << ('A' - 'A'))
        | (1ul << ('F' - 'A')) | (1ul << ('D' - 'A')) | (1ul << ('C' - 'A'));

    /// <summary>The smallest signal stack riscv64 Linux reports (MINSIGSTKSZ).</summary>
    public const ulong MinimumSignalStack = 2048;
}
