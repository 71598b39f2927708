namespace Isomorph.Riscv;

/// <summary>
/// Physical memory protection: 16 entries (pmpcfg0/2, pmpaddr0–15; pmpaddr16–63 read as zero),
/// with OFF, TOR, NA4 and NAPOT matching and locked entries that bind M-mode too.
/// </summary>
public sealed unsafe partial class Hart
{
    public const int PmpEntries = 16;
    private const byte PmpR = 1, PmpW = 2, PmpX = 4, PmpLocked = 0x80;
    private const int PmpOff = 0, PmpTor = 1, PmpNa4 = 2, PmpNapot = 3;

    private readonly byte[] _pmpcfg = new byte[PmpEntries];
    private readonly ulong[] _pmpaddr = new ulong[PmpEntries];
    private bool _pmpActive;

    /// <summary>The entries' ranges as <see cref="PmpRange"/> gives them, recomputed when PMP changes (walks check every PTE read).</summary>
    private readonly ulong[] _pmpStart = new ulong[PmpEntries], _pmpEnd = new ulong[PmpEntries];

    private void ResetPmp()
    {
        Array.Clear(_pmpcfg);
        Array.Clear(_pmpaddr);
        Array.Clear(_pmpStart);
        Array.Clear(_pmpEnd);
        _pmpActive = false;
    }

    private static int PmpMode(byte cfg) => (cfg >> 3) & 3;

    private bool TryReadPmpcfg(int index, out ulong value)
    {
        value = 0;
        if ((index & 1) != 0) return false; // RV64 has only the even-numbered pmpcfg registers
        for (int i = 0; i < 8; i++)
        {
            int entry = index * 4 + i;
            if (entry < PmpEntries) value |= (ulong)_pmpcfg[entry] << (8 * i);
        }
        return true;
    }

    private bool TryWritePmpcfg(int index, ulong value)
    {
        if ((index & 1) != 0) return false;
        for (int i = 0; i < 8; i++)
        {
            int entry = index * 4 + i;
            if (entry >= PmpEntries || (_pmpcfg[entry] & PmpLocked) != 0) continue;
            _pmpcfg[entry] = (byte)((value >> (8 * i)) & 0x9F);
        }
        PmpChanged();
        return true;
    }

    private ulong ReadPmpaddr(int index) => index < PmpEntries ? _pmpaddr[index] : 0;

    private void WritePmpaddr(int index, ulong value)
    {
        if (index >= PmpEntries || (_pmpcfg[index] & PmpLocked) != 0) return;
        // An address register is also locked when the next entry is a locked TOR entry that uses it.
        if (index + 1 < PmpEntries && (_pmpcfg[index + 1] & PmpLocked) != 0 && PmpMode(_pmpcfg[index + 1]) == PmpTor) return;
        _pmpaddr[index] = value & 0x003F_FFFF_FFFF_FFFF; // 54 bits: physical address bits 55:2
        PmpChanged();
    }

    private void PmpChanged()
    {
        _pmpActive = false;
        foreach (var cfg in _pmpcfg)
            if (PmpMode(cfg) != PmpOff) _pmpActive = true;
        for (int i = 0; i < PmpEntries; i++) (_pmpStart[i], _pmpEnd[i]) = PmpRange(i);
        FlushTlb();
    }

    /// <summary>The byte range [start, end) entry <paramref name="i"/> matches; empty when OFF.</summary>
    private (ulong Start, ulong End) PmpRange(int i)
    {
        ulong addr = _pmpaddr[i];
        switch (PmpMode(_pmpcfg[i]))
        {
            case PmpTor:
                return (i == 0 ? 0 : _pmpaddr[i - 1] << 2, addr << 2);
            case PmpNa4:
                return (addr << 2, (addr << 2) + 4);
            case PmpNapot:
                int ones = System.Numerics.BitOperations.TrailingZeroCount(~addr);
                if (ones >= 54) return (0, ulong.MaxValue);
                ulong size = 1ul << (ones + 3);
                ulong start = (addr & ~((1ul << ones) - 1)) << 2;
                return (start, start + size);
            default:
                return (0, 0);
        }
    }

    /// <summary>
    /// Checks an access of <paramref name="size"/> bytes at physical <paramref name="pa"/>.
    /// <paramref name="pageUniform"/> tells whether every access to the same 4 KiB page gets the same answer.
    /// </summary>
    private bool PmpCheck(ulong pa, int size, AccessType access, PrivilegeLevel priv, out bool pageUniform)
    {
        pageUniform = true;
        if (!_pmpActive) return true;
        ulong end = pa + (ulong)size;
        ulong pageStart = pa & ~0xFFFul, pageEnd = pageStart + 0x1000;
        bool pageDecided = false;
        ulong[] starts = _pmpStart, ends = _pmpEnd;
        for (int i = 0; i < starts.Length; i++)
        {
            ulong start = starts[i], stop = ends[i];
            if (start >= stop) continue;
            if (!pageDecided && start < pageEnd && pageStart < stop)
            {
                pageDecided = true;
                pageUniform = start <= pageStart && pageEnd <= stop;
            }
            if (!(start < end && pa < stop)) continue;
            if (!(start <= pa && end <= stop)) return false; // only part of the access matches
            byte cfg = _pmpcfg[i];
            if (priv == PrivilegeLevel.Machine && (cfg & PmpLocked) == 0) return true;
            byte needed = access switch { AccessType.Read => PmpR, AccessType.Write => PmpW, _ => PmpX };
            return (cfg & needed) != 0;
        }
        return PmpDefault(priv);
    }

    /// <summary>
    /// An access no entry matches: M-mode succeeds; S and U fail once any entry is in use. With every
    /// entry OFF, S and U are not restricted (as on QEMU, where firmware need not program PMP).
    /// </summary>
    private bool PmpDefault(PrivilegeLevel priv) => priv == PrivilegeLevel.Machine || !_pmpActive;
}
