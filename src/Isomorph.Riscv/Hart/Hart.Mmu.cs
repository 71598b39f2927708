namespace Isomorph.Riscv;

/// <summary>
/// Address translation: Sv39 and Sv48 page-table walks with hardware A/D updates, and PMP checks
/// on the resulting physical address (and on the walk's own accesses).
/// </summary>
public sealed unsafe partial class Hart
{
    private const ulong PteV = 1, PteR = 2, PteW = 4, PteX = 8, PteU = 16, PteA = 64, PteD = 128;
    private const ulong PteReservedBits = 0xFFC0_0000_0000_0000; // bits 63:54 (no Svpbmt, no Svnapot)
    private const int SatpModeSv39 = 8, SatpModeSv48 = 9;

    /// <summary>The privilege that loads and stores are checked at (mstatus.MPRV applies MPP in M-mode).</summary>
    public PrivilegeLevel EffectiveDataPrivilege =>
        Privilege == PrivilegeLevel.Machine && (_mstatus & MstatusBits.Mprv) != 0
            ? (PrivilegeLevel)((_mstatus & MstatusBits.Mpp) >> MstatusBits.MppShift)
            : Privilege;

    private static ExceptionCause PageFault(AccessType access) => access switch
    {
        AccessType.Read => ExceptionCause.LoadPageFault,
        AccessType.Write => ExceptionCause.StorePageFault,
        _ => ExceptionCause.InstructionPageFault,
    };

    private static ExceptionCause AccessFault(AccessType access) => access switch
    {
        AccessType.Read => ExceptionCause.LoadAccessFault,
        AccessType.Write => ExceptionCause.StoreAccessFault,
        _ => ExceptionCause.InstructionAccessFault,
    };

    /// <summary>
    /// Translates <paramref name="va"/> for <paramref name="access"/>. On failure the page fault or
    /// access fault is left pending. <paramref name="cacheable"/> tells whether the result holds for
    /// the whole 4 KiB page, so that a TLB may remember it.
    /// </summary>
    public bool Translate(ulong va, AccessType access, out ulong pa, out bool cacheable)
    {
        var priv = access == AccessType.Execute ? Privilege : EffectiveDataPrivilege;
        int mode = (int)(_satp >> 60);
        cacheable = true;
        _leafLevel = 0;
        if (priv == PrivilegeLevel.Machine || mode == 0)
        {
            pa = va;
        }
        else if (!Walk(va, access, priv, mode == SatpModeSv48 ? 4 : 3, out pa))
        {
            cacheable = false;
            return false;
        }
        if (PageProtection is { } protection && !protection.Permits(va, access))
        {
            SetPending(PageFault(access), va);
            cacheable = false;
            return false;
        }
        if (!PmpCheck(pa, 1, access, priv, out bool uniform))
        {
            SetPending(AccessFault(access), va);
            cacheable = false;
            return false;
        }
        cacheable &= uniform;
        return true;
    }

    /// <summary>
    /// The level of the leaf PTE of the last successful <see cref="Translate"/> (0: a 4 KiB page or
    /// no translation, 1: a megapage, 2: a gigapage, 3: a terapage). The TLBs remember it beside
    /// each entry, so that sfence.vma with an address also forgets the pages of a superpage.
    /// </summary>
    private byte _leafLevel;

    private bool Walk(ulong va, AccessType access, PrivilegeLevel priv, int levels, out ulong pa)
    {
        pa = 0;
        int vaBits = 12 + 9 * levels;
        // The upper bits must all equal the highest translated bit.
        if ((ulong)((long)(va << (64 - vaBits)) >> (64 - vaBits)) != va)
        {
            SetPending(PageFault(access), va);
            return false;
        }
        ulong table = (_satp & 0xFFF_FFFF_FFFF) << 12;
        for (int level = levels - 1; level >= 0; level--)
        {
            ulong pteAddress = table + ((va >> (12 + 9 * level)) & 0x1FF) * 8;
            if (!PmpCheck(pteAddress, 8, AccessType.Read, PrivilegeLevel.Supervisor, out _)
                || Bus.FindRam(pteAddress) is not { } ram)
            {
                SetPending(AccessFault(access), va);
                return false;
            }
            ulong* ptePointer = (ulong*)ram.HostAddress(pteAddress);
            ulong pte = Volatile.Read(ref *ptePointer);
            if ((pte & PteV) == 0 || ((pte & PteR) == 0 && (pte & PteW) != 0) || (pte & PteReservedBits) != 0)
                break;
            ulong ppn = (pte >> 10) & 0xFFF_FFFF_FFFF;
            if ((pte & (PteR | PteX)) == 0)
            {
                table = ppn << 12;
                continue; // a pointer to the next level
            }
            if (!LeafPermits(pte, access, priv)) break;
            ulong lowerMask = (1ul << (9 * level)) - 1;
            if ((ppn & lowerMask) != 0) break; // misaligned superpage
            ulong needed = PteA | (access == AccessType.Write ? PteD : 0);
            if ((pte & needed) != needed)
            {
                // Hardware A/D update, atomic with respect to other harts.
                if (!PmpCheck(pteAddress, 8, AccessType.Write, PrivilegeLevel.Supervisor, out _))
                {
                    SetPending(AccessFault(access), va);
                    return false;
                }
                if (Interlocked.CompareExchange(ref *ptePointer, pte | needed, pte) != pte)
                {
                    level++;
                    continue; // the PTE changed under us: walk this level again
                }
                ram.MarkWritten(pteAddress, 8);
            }
            pa = ((ppn & ~lowerMask) << 12) | (va & ((lowerMask << 12) | 0xFFF));
            _leafLevel = (byte)level;
            return true;
        }
        SetPending(PageFault(access), va);
        return false;
    }

    private bool LeafPermits(ulong pte, AccessType access, PrivilegeLevel priv)
    {
        bool user = (pte & PteU) != 0;
        if (priv == PrivilegeLevel.User && !user) return false;
        if (priv == PrivilegeLevel.Supervisor && user
            && (access == AccessType.Execute || (_mstatus & MstatusBits.Sum) == 0)) return false;
        return access switch
        {
            AccessType.Read => (pte & PteR) != 0 || ((_mstatus & MstatusBits.Mxr) != 0 && (pte & PteX) != 0),
            AccessType.Write => (pte & PteW) != 0,
            _ => (pte & PteX) != 0,
        };
    }
}
