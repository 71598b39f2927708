namespace Isomorph.Riscv;

/// <summary>
/// Address translation: Sv39 and Sv48 page-table walks with hardware A/D updates; in V mode the
/// hypervisor extension's two stages (VS-stage through vsatp, G-stage through hgatp in Sv39x4 or
/// Sv48x4, which also translates every VS-stage page-table access); and PMP checks on the
/// resulting physical address (and on the walks' own accesses).
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

    /// <summary>The virtualization mode loads and stores are translated in (mstatus.MPRV applies MPV in M-mode, unless MPP is M).</summary>
    public bool EffectiveDataVirtualized =>
        Privilege == PrivilegeLevel.Machine && (_mstatus & MstatusBits.Mprv) != 0
            ? (_mstatus & MstatusBits.Mpv) != 0 && (_mstatus & MstatusBits.Mpp) != MstatusBits.Mpp
            : Virtualized;

    private static ExceptionCause PageFault(AccessType access) => access switch
    {
        AccessType.Read => ExceptionCause.LoadPageFault,
        AccessType.Write => ExceptionCause.StorePageFault,
        _ => ExceptionCause.InstructionPageFault,
    };

    private static ExceptionCause GuestPageFault(AccessType access) => access switch
    {
        AccessType.Read => ExceptionCause.LoadGuestPageFault,
        AccessType.Write => ExceptionCause.StoreGuestPageFault,
        _ => ExceptionCause.InstructionGuestPageFault,
    };

    private static ExceptionCause AccessFault(AccessType access) => access switch
    {
        AccessType.Read => ExceptionCause.LoadAccessFault,
        AccessType.Write => ExceptionCause.StoreAccessFault,
        _ => ExceptionCause.InstructionAccessFault,
    };

    /// <summary>
    /// Translates <paramref name="va"/> for <paramref name="access"/> in the current mode (loads
    /// and stores as mstatus.MPRV says). On failure the page fault or access fault is left pending.
    /// <paramref name="cacheable"/> tells whether the result holds for the whole 4 KiB page, so that
    /// a TLB may remember it.
    /// </summary>
    public bool Translate(ulong va, AccessType access, out ulong pa, out bool cacheable) =>
        access == AccessType.Execute
            ? TranslateAs(va, access, Privilege, Virtualized, false, out pa, out cacheable)
            : TranslateAs(va, access, EffectiveDataPrivilege, EffectiveDataVirtualized, false, out pa, out cacheable);

    /// <summary>
    /// Translates <paramref name="va"/> as an access at <paramref name="priv"/> in virtualization
    /// mode <paramref name="virtualized"/> (the hypervisor's HLV, HLVX and HSV name both);
    /// <paramref name="executableAsReadable"/> is HLVX's read that needs execute permission instead.
    /// </summary>
    internal bool TranslateAs(ulong va, AccessType access, PrivilegeLevel priv, bool virtualized, bool executableAsReadable,
        out ulong pa, out bool cacheable)
    {
        cacheable = true;
        _leafLevel = 0;
        if (priv == PrivilegeLevel.Machine)
        {
            pa = va;
        }
        else if (virtualized)
        {
            if (!TranslateGuest(va, access, priv, executableAsReadable, out pa))
            {
                cacheable = false;
                return false;
            }
        }
        else
        {
            int mode = (int)(_satp >> 60);
            var walk = new WalkContext(priv, Stage.Single, (_mstatus & MstatusBits.Sum) != 0, (_mstatus & MstatusBits.Mxr) != 0, executableAsReadable);
            if (mode == 0) pa = va;
            else if (!Walk(va, access, walk, (_satp & 0xFFF_FFFF_FFFF) << 12, mode == SatpModeSv48 ? 4 : 3, 0, out pa))
            {
                cacheable = false;
                return false;
            }
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

    /// <summary>Which page tables a walk reads: the one stage of HS- and U-mode, or the VS- or G-stage of V mode.</summary>
    private enum Stage : byte { Single, VirtualSupervisor, Guest }

    /// <summary>What a walk checks its leaf against: the privilege, its stage, SUM, MXR, and HLVX's execute-for-read.</summary>
    private readonly record struct WalkContext(PrivilegeLevel Priv, Stage Stage, bool Sum, bool Mxr, bool ExecutableAsReadable);

    /// <summary>
    /// Two-stage translation of a guest virtual address (V mode, or HLV/HSV): the VS-stage through
    /// vsatp, each of its page-table reads a guest physical address through the G-stage, then the
    /// G-stage of the result. A G-stage failure is a guest-page fault with the guest physical
    /// address for htval/mtval2 (<see cref="PendingGuestPhysical"/>).
    /// </summary>
    private bool TranslateGuest(ulong va, AccessType access, PrivilegeLevel priv, bool executableAsReadable, out ulong pa)
    {
        pa = 0;
        ulong guestPhysical = va;
        int mode = (int)(_vsatp >> 60);
        // VS-stage: vsstatus.SUM; MXR from vsstatus or mstatus (HS-level MXR makes executable pages readable at both stages).
        bool mxr = ((_vsstatus | _mstatus) & MstatusBits.Mxr) != 0;
        var walk = new WalkContext(priv, Stage.VirtualSupervisor, (_vsstatus & MstatusBits.Sum) != 0, mxr, executableAsReadable);
        if (mode != 0 && !Walk(va, access, walk, (_vsatp & 0xFFF_FFFF_FFFF) << 12, mode == SatpModeSv48 ? 4 : 3, va, out guestPhysical))
        {
            PendingGuestVirtual = true;
            return false;
        }
        byte vsLevel = _leafLevel; // the TLB flushes V-mode entries by the VS-stage's page size
        if (!TranslateGuestPhysical(guestPhysical, access, va, executableAsReadable, out pa))
        {
            PendingGuestVirtual = true;
            return false;
        }
        _leafLevel = vsLevel;
        return true;
    }

    /// <summary>
    /// The G-stage: guest physical address <paramref name="gpa"/> to a physical address through
    /// hgatp (Bare: the same address). Every access is checked as a U-mode one; MXR is mstatus's.
    /// A fault is a guest-page fault for <paramref name="access"/> at guest virtual address
    /// <paramref name="va"/>.
    /// </summary>
    private bool TranslateGuestPhysical(ulong gpa, AccessType access, ulong va, bool executableAsReadable, out ulong pa)
    {
        int mode = (int)(_hgatp >> 60);
        if (mode == 0)
        {
            pa = gpa;
            return true;
        }
        var walk = new WalkContext(PrivilegeLevel.User, Stage.Guest, false, (_mstatus & MstatusBits.Mxr) != 0, executableAsReadable);
        return Walk(gpa, access, walk, (_hgatp & 0xFFF_FFFF_FFFC) << 12, mode == SatpModeSv48 ? 4 : 3, va, out pa);
    }

    /// <summary>
    /// The level of the leaf PTE of the last successful <see cref="Translate"/> (0: a 4 KiB page or
    /// no translation, 1: a megapage, 2: a gigapage, 3: a terapage). The TLBs remember it beside
    /// each entry, so that sfence.vma with an address also forgets the pages of a superpage.
    /// </summary>
    private byte _leafLevel;

    /// <summary>
    /// Walks the page table at <paramref name="table"/> with <paramref name="levels"/> levels. In
    /// the G-stage the address is a guest physical one, two bits wider than the virtual addresses of
    /// its mode and zero-extended, and the root table is 16 KiB; in the VS-stage each PTE address is
    /// a guest physical one that the G-stage translates first. <paramref name="guestVa"/> is the
    /// guest virtual address faults report in two-stage translation.
    /// </summary>
    private bool Walk(ulong va, AccessType access, in WalkContext walk, ulong table, int levels, ulong guestVa, out ulong pa)
    {
        pa = 0;
        bool guestStage = walk.Stage == Stage.Guest;
        ulong faultAddress = walk.Stage == Stage.Single ? va : guestVa;
        var fault = guestStage ? GuestPageFault(access) : PageFault(access);
        int vaBits = 12 + 9 * levels;
        if (guestStage)
        {
            // Sv39x4 and Sv48x4: 41 and 50 bits, the bits above them zero.
            if (va >> (vaBits + 2) != 0)
            {
                SetGuestPageFault(fault, faultAddress, va, 0);
                return false;
            }
        }
        else if ((ulong)((long)(va << (64 - vaBits)) >> (64 - vaBits)) != va)
        {
            // The upper bits must all equal the highest translated bit.
            SetPending(fault, faultAddress);
            return false;
        }
        for (int level = levels - 1; level >= 0; level--)
        {
            ulong index = (va >> (12 + 9 * level)) & (guestStage && level == levels - 1 ? 0x7FFul : 0x1FFul);
            ulong pteAddress = table + index * 8;
            if (walk.Stage == Stage.VirtualSupervisor)
            {
                // The VS-stage's page tables are in guest physical memory: an implicit read through the G-stage.
                if (!TranslateGuestPhysical(pteAddress, AccessType.Read, guestVa, false, out pteAddress))
                {
                    ReportImplicitAccess(access, write: false);
                    return false;
                }
            }
            if (!PmpCheck(pteAddress, 8, AccessType.Read, PrivilegeLevel.Supervisor, out _)
                || Bus.FindRam(pteAddress) is not { } ram)
            {
                SetPending(AccessFault(access), faultAddress);
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
            if (!LeafPermits(pte, access, walk)) break;
            ulong lowerMask = (1ul << (9 * level)) - 1;
            if ((ppn & lowerMask) != 0) break; // misaligned superpage
            ulong needed = PteA | (access == AccessType.Write ? PteD : 0);
            if ((pte & needed) != needed)
            {
                // Hardware A/D update, atomic with respect to other harts. In the VS-stage it is a
                // write to guest physical memory, which the G-stage must allow.
                if (walk.Stage == Stage.VirtualSupervisor
                    && !TranslateGuestPhysical(table + index * 8, AccessType.Write, guestVa, false, out _))
                {
                    ReportImplicitAccess(access, write: true);
                    return false;
                }
                if (!PmpCheck(pteAddress, 8, AccessType.Write, PrivilegeLevel.Supervisor, out _))
                {
                    SetPending(AccessFault(access), faultAddress);
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
        if (guestStage) SetGuestPageFault(fault, faultAddress, va, 0);
        else SetPending(fault, faultAddress);
        return false;
    }

    /// <summary>
    /// A G-stage fault on the VS-stage's own page-table access is a guest-page fault of the
    /// original access's kind; htinst/mtinst hold the pseudoinstruction of a 64-bit read (or, for an
    /// A/D update, write) for VS-stage translation.
    /// </summary>
    private void ReportImplicitAccess(AccessType access, bool write)
    {
        PendingCause = (ulong)GuestPageFault(access);
        PendingTinst = write ? 0x3020ul : 0x3000ul;
    }

    private void SetGuestPageFault(ExceptionCause cause, ulong va, ulong gpa, ulong tinst)
    {
        SetPending(cause, va);
        PendingGuestPhysical = gpa;
        PendingTinst = tinst;
    }

    private bool LeafPermits(ulong pte, AccessType access, in WalkContext walk)
    {
        bool user = (pte & PteU) != 0;
        if (walk.Priv == PrivilegeLevel.User && !user) return false;
        if (walk.Priv == PrivilegeLevel.Supervisor && user && (access == AccessType.Execute || !walk.Sum)) return false;
        return access switch
        {
            AccessType.Read when walk.ExecutableAsReadable => (pte & PteX) != 0,
            AccessType.Read => (pte & PteR) != 0 || (walk.Mxr && (pte & PteX) != 0),
            AccessType.Write => (pte & PteW) != 0,
            _ => (pte & PteX) != 0,
        };
    }
}
