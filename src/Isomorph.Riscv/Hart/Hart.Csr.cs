using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv;

/// <summary>Bit fields of mstatus (sstatus is a view of it).</summary>
public static class MstatusBits
{
    public const ulong Sie = 1ul << 1, Mie = 1ul << 3, Spie = 1ul << 5, Ube = 1ul << 6, Mpie = 1ul << 7, Spp = 1ul << 8;
    public const int MppShift = 11;
    public const ulong Mpp = 3ul << MppShift;
    public const int FsShift = 13;
    public const ulong Fs = 3ul << FsShift, Vs = 3ul << 9, Xs = 3ul << 15;
    public const ulong Mprv = 1ul << 17, Sum = 1ul << 18, Mxr = 1ul << 19, Tvm = 1ul << 20, Tw = 1ul << 21, Tsr = 1ul << 22;
    public const ulong Uxl = 3ul << 32, Sxl = 3ul << 34, Gva = 1ul << 38, Mpv = 1ul << 39, Sd = 1ul << 63;

    /// <summary>Bits of mstatus that software can write.</summary>
    public const ulong Writable = Sie | Mie | Spie | Mpie | Spp | Mpp | Fs | Mprv | Sum | Mxr | Tvm | Tw | Tsr;
    /// <summary>Bits of mstatus visible through sstatus.</summary>
    public const ulong SstatusView = Sie | Spie | Ube | Spp | Vs | Fs | Xs | Sum | Mxr | Uxl | Sd;
    public const ulong SstatusWritable = Sie | Spie | Spp | Fs | Sum | Mxr;
}

/// <summary>Bit fields of hstatus (the hypervisor extension).</summary>
public static class HstatusBits
{
    public const ulong Vsbe = 1ul << 5, Gva = 1ul << 6, Spv = 1ul << 7, Spvp = 1ul << 8, Hu = 1ul << 9;
    public const int VgeinShift = 12;
    public const ulong Vgein = 0x3Ful << VgeinShift, Vtvm = 1ul << 20, Vtw = 1ul << 21, Vtsr = 1ul << 22, Vsxl = 3ul << 32;

    /// <summary>Bits software writes (no guest external interrupt files: VGEIN stays 0; little-endian only: VSBE 0).</summary>
    public const ulong Writable = Gva | Spv | Spvp | Hu | Vtvm | Vtw | Vtsr;
}

/// <summary>The control and status registers: storage, and access through the table of their definitions.</summary>
public sealed unsafe partial class Hart
{
    /// <summary>misa without H: RV64 with I, M, A, F, D, C and the S and U modes.</summary>
    public const ulong BaseMisa = (2ul << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

    /// <summary>misa: <see cref="BaseMisa"/>, with H (bit 7) when the hart has the hypervisor extension.</summary>
    public ulong Misa => BaseMisa | (HasHypervisor ? 1ul << 7 : 0);

    /// <summary>mip bits that software may write (SSIP, STIP, SEIP); the M bits belong to devices.</summary>
    private const ulong MipWritable = (1ul << 1) | (1ul << 5) | (1ul << 9);
    private const ulong SupervisorInterrupts = (1ul << 1) | (1ul << 5) | (1ul << 9);
    /// <summary>The virtual-supervisor interrupts of the H extension: VSSI, VSTI, VSEI (hvip, hip, hie, hideleg).</summary>
    private const ulong VirtualSupervisorInterrupts = (1ul << 2) | (1ul << 6) | (1ul << 10);
    private const ulong AllInterrupts = SupervisorInterrupts | (1ul << 3) | (1ul << 7) | (1ul << 11);
    /// <summary>Exceptions that may be delegated (all but ecall from M; with H, the guest-page faults and virtual instructions too).</summary>
    private const ulong DelegableExceptions = 0xB3FF, HypervisorDelegableExceptions = 0xF0_B7FF;
    /// <summary>Exceptions that hedeleg may delegate on to VS-mode (not ecalls from HS, VS or M, guest-page faults or virtual instructions).</summary>
    private const ulong VirtualDelegableExceptions = 0xB1FF;

    private ulong _mstatus, _medeleg, _mideleg, _mie, _mip, _mipExternal, _mtvec, _mscratch, _mepc, _mcause, _mtval;
    private ulong _mcounteren, _scounteren, _menvcfg, _senvcfg, _mcountinhibit;
    private ulong _stvec, _sscratch, _sepc, _scause, _stval, _satp;
    private long _cycleOffset, _instretOffset;

    // The hypervisor extension: HS-mode's CSRs, M-mode's additions, and the VS CSRs that stand in for
    // the S CSRs while V=1.
    private ulong _hstatus, _hedeleg, _hideleg, _hvip, _hcounteren, _henvcfg, _htimedelta, _htval, _htinst, _hgatp;
    private ulong _mtval2, _mtinst;
    private ulong _vsstatus, _vstvec, _vsscratch, _vsepc, _vscause, _vstval, _vsatp;

    // Sstc: the supervisor timer compare, and with H the virtual supervisor's.
    private ulong _stimecmp, _vstimecmp;

    /// <summary>menvcfg.STCE and henvcfg.STCE (Sstc: stimecmp and vstimecmp drive STIP and VSTIP).</summary>
    private const ulong Stce = 1ul << 63;

    /// <summary>The interrupts this hart has (mie's writable bits): with H, the VS interrupts too.</summary>
    private ulong ImplementedInterrupts => AllInterrupts | (HasHypervisor ? VirtualSupervisorInterrupts : 0);

    /// <summary>The FP accrued exception flags (fflags) and dynamic rounding mode (frm).</summary>
    public uint FpFlags;
    public uint Frm;

    /// <summary>Reads the time CSR (the platform's mtime); zero when the platform has no timer.</summary>
    public Func<ulong>? TimeSource { get; set; }

    public ulong Mstatus => _mstatus;
    public ulong Hstatus => _hstatus;
    public ulong Satp => _satp;
    public ulong Mideleg => _mideleg;
    public ulong Mie => _mie;

    private void ResetCsrs()
    {
        _mstatus = (2ul << 32) | (2ul << 34); // UXL = SXL = 64-bit
        _medeleg = _mideleg = _mie = _mip = _mtvec = _mscratch = _mepc = _mcause = _mtval = 0;
        _stvec = _sscratch = _sepc = _scause = _stval = _satp = 0;
        _mcounteren = _scounteren = _menvcfg = _senvcfg = _mcountinhibit = 0;
        _hstatus = HasHypervisor ? 2ul << 32 : 0; // VSXL = 64-bit
        _hedeleg = _hideleg = _hvip = _hcounteren = _henvcfg = _htimedelta = _htval = _htinst = _hgatp = 0;
        _mtval2 = _mtinst = 0;
        _stimecmp = _vstimecmp = 0;
        _vsstatus = 2ul << 32; // UXL = 64-bit
        _vstvec = _vsscratch = _vsepc = _vscause = _vstval = _vsatp = 0;
        if (HasHypervisor) _mideleg = VirtualSupervisorInterrupts; // read-only one: VS interrupts always leave M-mode
        FpFlags = Frm = 0;
        ResetPmp();
        Privilege = PrivilegeLevel.Machine;
        Virtualized = false;
        UpdateTranslationContext();
        UpdateFloatingPointGate();
    }

    /// <summary>Marks the FP state dirty (mstatus.FS = Dirty, SD set; in V mode vsstatus.FS too).</summary>
    public void SetFsDirty()
    {
        _mstatus |= MstatusBits.Fs | MstatusBits.Sd;
        if (Virtualized) _vsstatus |= MstatusBits.Fs | MstatusBits.Sd;
        _floatingPointGate = MstatusBits.Fs | MstatusBits.Sd;
    }

    /// <summary>True when mstatus.FS is Off (or, in V mode, vsstatus.FS): FP instructions and CSRs are illegal.</summary>
    public bool FpDisabled => (_mstatus & MstatusBits.Fs) == 0 || (Virtualized && (_vsstatus & MstatusBits.Fs) == 0);

    /// <summary>
    /// FS | SD when every FS that governs the current mode is Dirty, else 0: translated FP code runs
    /// inline only then (nothing to mark, nothing disabled). Kept by <see cref="UpdateFloatingPointGate"/>.
    /// </summary>
    private ulong _floatingPointGate;

    private void UpdateFloatingPointGate()
    {
        const ulong dirty = MstatusBits.Fs;
        bool allDirty = (_mstatus & dirty) == dirty && (!Virtualized || (_vsstatus & dirty) == dirty);
        _floatingPointGate = allDirty ? MstatusBits.Fs | MstatusBits.Sd : 0;
    }

    /// <summary>Whether this hart has CSR <paramref name="csr"/> (its extension is present).</summary>
    public bool Implements(Csr csr) => csr.Extension is not { } letter || (Misa & (1ul << (letter - 'A'))) != 0;

    /// <summary>
    /// Whether the current privilege may access <paramref name="csr"/> at all (and write it, when
    /// <paramref name="write"/>): the privilege its number encodes, read-only numbers, then the
    /// CSR's own rule.
    /// </summary>
    private CsrFault CheckAccess(Csr csr, bool write)
    {
        if (write && csr.ReadOnly) return CsrFault.Illegal;
        if (Virtualized)
        {
            // VS and VU: M CSRs do not exist for them; hypervisor and VS CSRs (and, from VU, the S
            // CSRs) are HS-mode's, which emulates them after a virtual-instruction exception.
            if (csr.PrivilegeField == 3) return CsrFault.Illegal;
            if (csr.PrivilegeField == 2 || (int)Privilege < csr.PrivilegeField) return CsrFault.Virtual;
        }
        else
        {
            int level = Privilege switch { PrivilegeLevel.Machine => 3, PrivilegeLevel.Supervisor => 2, _ => 0 };
            if (level < csr.PrivilegeField) return CsrFault.Illegal;
        }
        return csr.Gate?.Invoke(this, write) ?? CsrFault.None;
    }

    /// <summary>The CSR an access reaches: in V mode a supervisor CSR's VS counterpart.</summary>
    private Csr Target(Csr csr) =>
        Virtualized && csr.VirtualCounterpart is { } counterpart ? CsrTable.ByNumber[counterpart]! : csr;

    /// <summary>
    /// The value a csrrs/csrrc modifies, given what the CSR read as. For mip, only the
    /// software-writable SEIP bit takes part, not the external interrupt line ORed into reads
    /// (privileged spec, mip/mie): otherwise setting or clearing another bit while a device asserts
    /// SEIP would latch SEIP in software forever.
    /// </summary>
    internal ulong ReadModifyWriteBasis(int csr, ulong read)
    {
        const ulong seip = 1ul << 9;
        return csr == CsrNumber.Mip ? (read & ~seip) | (_mip & seip) : read;
    }

    /// <summary>The definition of <paramref name="number"/> when this hart implements it.</summary>
    private Csr? Find(int number) =>
        (uint)number < 4096 && CsrTable.ByNumber[number] is { } csr && Implements(csr) ? csr : null;

    /// <summary>Reads a CSR as the instruction does; <see cref="CsrFault.Illegal"/> also when it does not exist.</summary>
    internal CsrFault ReadCsr(int number, out ulong value)
    {
        value = 0;
        if (Find(number) is not { } csr) return CsrFault.Illegal;
        var fault = CheckAccess(csr, write: false);
        if (fault == CsrFault.None) value = ReadValue(Target(csr));
        return fault;
    }

    /// <summary>Writes a CSR as the instruction does (see <see cref="ReadCsr"/>).</summary>
    internal CsrFault WriteCsr(int number, ulong value)
    {
        if (Find(number) is not { } csr) return CsrFault.Illegal;
        var fault = CheckAccess(csr, write: true);
        if (fault == CsrFault.None) WriteValue(Target(csr), value);
        return fault;
    }

    /// <summary>Reads a CSR; false when it does not exist or may not be accessed (an exception).</summary>
    public bool TryReadCsr(int csr, out ulong value) => ReadCsr(csr, out value) == CsrFault.None;

    /// <summary>Writes a CSR; false when it does not exist, is read-only or may not be accessed.</summary>
    public bool TryWriteCsr(int csr, ulong value) => WriteCsr(csr, value) == CsrFault.None;

    /// <summary>
    /// Reads a CSR as an external debugger does: whatever the current privilege and mstatus.FS;
    /// false only when the CSR does not exist.
    /// </summary>
    public bool DebugReadCsr(int number, out ulong value)
    {
        value = 0;
        if (Find(number) is not { } csr) return false;
        value = ReadValue(csr);
        return true;
    }

    /// <summary>Writes a CSR as an external debugger does (see <see cref="DebugReadCsr"/>); false when it does not exist or is read-only.</summary>
    public bool DebugWriteCsr(int number, ulong value)
    {
        if (Find(number) is not { } csr || csr.ReadOnly) return false;
        WriteValue(csr, value);
        return true;
    }

    /// <summary>Sets the privilege level as an external debugger does (the levels that exist: U, S, M; V is left as it is, below M).</summary>
    public bool DebugSetPrivilege(ulong level)
    {
        if (level is not (0 or 1 or 3)) return false;
        SetMode((PrivilegeLevel)level, Virtualized && level != 3);
        return true;
    }

    private ulong ReadValue(Csr csr) => csr.Read is { } read ? read(this) : csr.Storage is { } storage ? storage(this) : 0;

    private void WriteValue(Csr csr, ulong value)
    {
        if (csr.Write is { } write)
        {
            write(this, value);
        }
        else if (csr.Storage is { } storage)
        {
            ref ulong register = ref storage(this);
            register = (register & ~csr.Writable) | (value & csr.Writable);
            csr.AfterWrite?.Invoke(this);
        }
    }

    private ulong CounterValue(int index) => index switch
    {
        0 => (ulong)(Instret + _cycleOffset),
        1 => (TimeSource?.Invoke() ?? 0) + (Virtualized ? _htimedelta : 0),
        2 => (ulong)(Instret + _instretOffset),
        _ => 0,
    };

    /// <summary>A status register as read: SD set exactly when FS is Dirty.</summary>
    private static ulong WithSummaryDirty(ulong status)
    {
        ulong s = status & ~MstatusBits.Sd;
        return (s & MstatusBits.Fs) == MstatusBits.Fs ? s | MstatusBits.Sd : s;
    }

    private ulong MstatusValue() => WithSummaryDirty(_mstatus);

    private ulong SstatusValue() => MstatusValue() & MstatusBits.SstatusView;

    private ulong VsstatusValue() => WithSummaryDirty(_vsstatus) & MstatusBits.SstatusView;

    /// <summary>mstatus's writable bits: with H, MPV and GVA too.</summary>
    private ulong MstatusWritable => MstatusBits.Writable | (HasHypervisor ? MstatusBits.Mpv | MstatusBits.Gva : 0);

    /// <summary>tvec modes 0 (direct) and 1 (vectored) are legal; others keep the base in direct mode.</summary>
    private static ulong LegalTvec(ulong value) => (value & 3) >= 2 ? value & ~3ul : value;

    private void WriteMstatus(ulong value)
    {
        // MPP is WARL over the implemented modes U, S and M; the reserved value 2 is not kept.
        if ((value & MstatusBits.Mpp) == 2ul << MstatusBits.MppShift)
            value = (value & ~MstatusBits.Mpp) | (_mstatus & MstatusBits.Mpp);
        const ulong translationBits = MstatusBits.Mprv | MstatusBits.Sum | MstatusBits.Mxr | MstatusBits.Mpp | MstatusBits.Mpv;
        bool contextChanged = ((value ^ _mstatus) & translationBits) != 0;
        _mstatus = value & ~MstatusBits.Sd;
        if (contextChanged) UpdateTranslationContext();
        UpdateFloatingPointGate();
        RequestInterruptCheck();
    }

    private void WriteVsstatus(ulong value)
    {
        const ulong translationBits = MstatusBits.Sum | MstatusBits.Mxr;
        bool contextChanged = ((value ^ _vsstatus) & translationBits) != 0;
        _vsstatus = (_vsstatus & ~MstatusBits.SstatusWritable) | (value & MstatusBits.SstatusWritable);
        if (contextChanged) UpdateTranslationContext();
        UpdateFloatingPointGate();
        RequestInterruptCheck();
    }

    /// <summary>
    /// satp and vsatp: a MODE other than Bare, Sv39 and Sv48 leaves the register unchanged (WARL).
    /// The TLBs keep no ASID, so a new value flushes them; the same value again (a hypervisor
    /// loading a vCPU's vsatp on every entry) flushes nothing.
    /// </summary>
    private void WriteAddressTranslation(ref ulong register, ulong value)
    {
        ulong mode = value >> 60;
        if (mode is not (0 or 8 or 9) || register == value) return;
        register = value;
        FlushTlb();
    }

    /// <summary>The VMID bits hgatp implements (VMIDLEN: the most Sv39x4 and Sv48x4 allow).</summary>
    private const int VmidBits = 14;

    /// <summary>
    /// hgatp: MODE Bare, Sv39x4 or Sv48x4 (another MODE keeps the one it had: the fields are WARL),
    /// VMID[13:0], and a PPN whose two low bits read zero (the root table is 16 KiB and aligned).
    /// </summary>
    private void WriteHgatp(ulong value)
    {
        ulong mode = value >> 60;
        if (mode is not (0 or 8 or 9)) mode = _hgatp >> 60;
        ulong vmid = (value >> 44) & ((1ul << VmidBits) - 1);
        ulong ppn = value & 0xFFF_FFFF_FFFC;
        ulong legal = mode << 60 | vmid << 44 | ppn;
        if (legal == _hgatp) return; // as for satp: the same value again flushes nothing
        _hgatp = legal;
        FlushTlb();
    }

    /// <summary>mip as the hypervisor extension adds to it: VSSIP, VSTIP and VSEIP are hvip's (guest external interrupt files: none).</summary>
    private ulong HypervisorPending => _hvip & VirtualSupervisorInterrupts;

    /// <summary>Writes the VSSIP bit of hvip (mip, hip and, through hideleg, vsip write it too).</summary>
    private void WriteVirtualSoftwarePending(bool pending)
    {
        const ulong vssip = 1ul << 2;
        _hvip = pending ? _hvip | vssip : _hvip & ~vssip;
        RequestInterruptCheck();
    }

    // ---- Access rules beyond the privilege field ----

    private static CsrFault FloatingPointGate(Hart h, bool write) => h.FpDisabled ? CsrFault.Illegal : CsrFault.None;

    /// <summary>satp: mstatus.TVM traps it in HS-mode, hstatus.VTVM in VS-mode.</summary>
    private static CsrFault SatpGate(Hart h, bool write)
    {
        if (h.Privilege != PrivilegeLevel.Supervisor) return CsrFault.None;
        if (h.Virtualized) return (h._hstatus & HstatusBits.Vtvm) != 0 ? CsrFault.Virtual : CsrFault.None;
        return (h._mstatus & MstatusBits.Tvm) != 0 ? CsrFault.Illegal : CsrFault.None;
    }

    /// <summary>
    /// stimecmp (Sstc) below M-mode: mcounteren.TM and menvcfg.STCE (illegal), then in VS-mode
    /// hcounteren.TM and henvcfg.STCE (virtual instruction: HS-mode emulates the guest's timer).
    /// </summary>
    private static CsrFault StimecmpGate(Hart h, bool write)
    {
        if (h.Privilege == PrivilegeLevel.Machine) return CsrFault.None;
        if ((h._mcounteren & 2) == 0 || (h._menvcfg & Stce) == 0) return CsrFault.Illegal;
        if (h.Virtualized && ((h._hcounteren & 2) == 0 || (h._henvcfg & Stce) == 0)) return CsrFault.Virtual;
        return CsrFault.None;
    }

    /// <summary>hgatp: mstatus.TVM traps it in HS-mode.</summary>
    private static CsrFault HgatpGate(Hart h, bool write) =>
        h.Privilege == PrivilegeLevel.Supervisor && (h._mstatus & MstatusBits.Tvm) != 0 ? CsrFault.Illegal : CsrFault.None;

    /// <summary>
    /// cycle, time, instret and hpmcounterN below M-mode: mcounteren (illegal), then in V mode
    /// hcounteren (virtual instruction), then in U- or VU-mode scounteren.
    /// </summary>
    private static Func<Hart, bool, CsrFault> CounterGate(int bit) => (h, _) =>
    {
        if (h.Privilege < PrivilegeLevel.Machine && ((h._mcounteren >> bit) & 1) == 0) return CsrFault.Illegal;
        if (h.Virtualized && ((h._hcounteren >> bit) & 1) == 0) return CsrFault.Virtual;
        if (h.Privilege < PrivilegeLevel.Supervisor && ((h._scounteren >> bit) & 1) == 0)
            return h.Virtualized ? CsrFault.Virtual : CsrFault.Illegal;
        return CsrFault.None;
    };

    /// <summary>The table: every CSR's definition, one row each.</summary>
    internal static class CsrTable
    {
        public static readonly Csr?[] ByNumber = new Csr?[4096];
        public static readonly IReadOnlyList<Csr> All;

        static CsrTable()
        {
            var rows = new List<Csr>
            {
                // Floating point (F, D): views of fflags and frm, which the snapshot keeps itself.
                new(CsrNumber.Fflags, "fflags")
                {
                    Read = h => h.FpFlags, Gate = FloatingPointGate,
                    Write = (h, v) => { h.FpFlags = (uint)v & 0x1F; h.SetFsDirty(); },
                },
                new(CsrNumber.Frm, "frm")
                {
                    Read = h => h.Frm, Gate = FloatingPointGate,
                    Write = (h, v) => { h.Frm = (uint)v & 7; h.SetFsDirty(); },
                },
                new(CsrNumber.Fcsr, "fcsr")
                {
                    Read = h => h.Frm << 5 | h.FpFlags, Gate = FloatingPointGate,
                    Write = (h, v) => { h.FpFlags = (uint)v & 0x1F; h.Frm = (uint)(v >> 5) & 7; h.SetFsDirty(); },
                },

                // Supervisor.
                new(CsrNumber.Sstatus, "sstatus")
                {
                    VirtualCounterpart = CsrNumber.Vsstatus,
                    Read = h => h.SstatusValue(),
                    Write = (h, v) => h.WriteMstatus((h._mstatus & ~MstatusBits.SstatusWritable) | (v & MstatusBits.SstatusWritable)),
                },
                new(CsrNumber.Sie, "sie")
                {
                    VirtualCounterpart = CsrNumber.Vsie,
                    Read = h => h._mie & h._mideleg & SupervisorInterrupts,
                    Write = (h, v) =>
                    {
                        ulong visible = h._mideleg & SupervisorInterrupts;
                        h._mie = (h._mie & ~visible) | (v & visible);
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Stvec, "stvec") { VirtualCounterpart = CsrNumber.Vstvec, Storage = h => ref h._stvec, Write = (h, v) => h._stvec = LegalTvec(v) },
                new(CsrNumber.Scounteren, "scounteren") { Storage = h => ref h._scounteren, Writable = 0xFFFF_FFFF },
                new(CsrNumber.Senvcfg, "senvcfg") { Storage = h => ref h._senvcfg, Writable = 1 },
                new(CsrNumber.Sscratch, "sscratch") { VirtualCounterpart = CsrNumber.Vsscratch, Storage = h => ref h._sscratch },
                new(CsrNumber.Sepc, "sepc") { VirtualCounterpart = CsrNumber.Vsepc, Storage = h => ref h._sepc, Writable = ~1ul },
                new(CsrNumber.Scause, "scause") { VirtualCounterpart = CsrNumber.Vscause, Storage = h => ref h._scause },
                new(CsrNumber.Stval, "stval") { VirtualCounterpart = CsrNumber.Vstval, Storage = h => ref h._stval },
                new(CsrNumber.Sip, "sip")
                {
                    VirtualCounterpart = CsrNumber.Vsip,
                    Read = h => h.Mip & h._mideleg & SupervisorInterrupts,
                    Write = (h, v) =>
                    {
                        ulong writable = h._mideleg & (1ul << 1); // SSIP, when delegated
                        h._mip = (h._mip & ~writable) | (v & writable);
                        h.RequestInterruptCheck();
                    },
                },

                // Sstc: the supervisor timer compares (their interrupts: Mip).
                new(CsrNumber.Stimecmp, "stimecmp")
                {
                    VirtualCounterpart = CsrNumber.Vstimecmp, Storage = h => ref h._stimecmp, Gate = StimecmpGate,
                    AfterWrite = h => h.RequestInterruptCheck(),
                },
                new(CsrNumber.Vstimecmp, "vstimecmp") { Extension = 'H', Storage = h => ref h._vstimecmp, AfterWrite = h => h.RequestInterruptCheck() },

                // Virtual supervisor (H): what sstatus, sie, stvec, sscratch, sepc, scause, stval, sip and satp reach in V mode.
                new(CsrNumber.Vsstatus, "vsstatus")
                {
                    Extension = 'H', Storage = h => ref h._vsstatus, Read = h => h.VsstatusValue(), Write = (h, v) => h.WriteVsstatus(v),
                },
                new(CsrNumber.Vsie, "vsie")
                {
                    // The VS interrupts hideleg delegates, one bit down: VSSIE shows as SSIE, and so on.
                    Extension = 'H', Read = h => (h._mie & h._hideleg & VirtualSupervisorInterrupts) >> 1,
                    Write = (h, v) =>
                    {
                        ulong visible = h._hideleg & VirtualSupervisorInterrupts;
                        h._mie = (h._mie & ~visible) | ((v << 1) & visible);
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Vstvec, "vstvec") { Extension = 'H', Storage = h => ref h._vstvec, Write = (h, v) => h._vstvec = LegalTvec(v) },
                new(CsrNumber.Vsscratch, "vsscratch") { Extension = 'H', Storage = h => ref h._vsscratch },
                new(CsrNumber.Vsepc, "vsepc") { Extension = 'H', Storage = h => ref h._vsepc, Writable = ~1ul },
                new(CsrNumber.Vscause, "vscause") { Extension = 'H', Storage = h => ref h._vscause },
                new(CsrNumber.Vstval, "vstval") { Extension = 'H', Storage = h => ref h._vstval },
                new(CsrNumber.Vsip, "vsip")
                {
                    Extension = 'H', Read = h => (h.Mip & h._hideleg & VirtualSupervisorInterrupts) >> 1,
                    Write = (h, v) =>
                    {
                        if ((h._hideleg & (1ul << 2)) != 0) h.WriteVirtualSoftwarePending((v & (1ul << 1)) != 0);
                    },
                },
                new(CsrNumber.Vsatp, "vsatp") { Extension = 'H', Storage = h => ref h._vsatp, Write = (h, v) => h.WriteAddressTranslation(ref h._vsatp, v) },

                // Hypervisor (H), in HS-mode.
                new(CsrNumber.Hstatus, "hstatus") { Extension = 'H', Storage = h => ref h._hstatus, Writable = HstatusBits.Writable },
                new(CsrNumber.Hedeleg, "hedeleg") { Extension = 'H', Storage = h => ref h._hedeleg, Writable = VirtualDelegableExceptions },
                new(CsrNumber.Hideleg, "hideleg")
                {
                    Extension = 'H', Storage = h => ref h._hideleg, Writable = VirtualSupervisorInterrupts, AfterWrite = h => h.RequestInterruptCheck(),
                },
                new(CsrNumber.Hie, "hie")
                {
                    Extension = 'H', Read = h => h._mie & VirtualSupervisorInterrupts,
                    Write = (h, v) =>
                    {
                        h._mie = (h._mie & ~VirtualSupervisorInterrupts) | (v & VirtualSupervisorInterrupts);
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Htimedelta, "htimedelta") { Extension = 'H', Storage = h => ref h._htimedelta },
                new(CsrNumber.Hcounteren, "hcounteren") { Extension = 'H', Storage = h => ref h._hcounteren, Writable = 0xFFFF_FFFF },
                new(CsrNumber.Hgeie, "hgeie") { Extension = 'H', Write = (_, _) => { } }, // GEILEN = 0: no guest external interrupts
                // STCE is read-only zero while menvcfg.STCE is clear.
                new(CsrNumber.Henvcfg, "henvcfg")
                {
                    Extension = 'H', Storage = h => ref h._henvcfg, Read = h => h._henvcfg & ((h._menvcfg & Stce) != 0 ? ~0ul : ~Stce),
                    Writable = 1 | Stce, AfterWrite = h => h.RequestInterruptCheck(),
                },
                new(CsrNumber.Htval, "htval") { Extension = 'H', Storage = h => ref h._htval },
                new(CsrNumber.Hip, "hip")
                {
                    Extension = 'H', Read = h => h.Mip & VirtualSupervisorInterrupts,
                    Write = (h, v) => h.WriteVirtualSoftwarePending((v & (1ul << 2)) != 0), // only VSSIP is writable here
                },
                new(CsrNumber.Hvip, "hvip")
                {
                    Extension = 'H', Storage = h => ref h._hvip, Writable = VirtualSupervisorInterrupts, AfterWrite = h => h.RequestInterruptCheck(),
                },
                new(CsrNumber.Htinst, "htinst") { Extension = 'H', Storage = h => ref h._htinst },
                new(CsrNumber.Hgatp, "hgatp") { Extension = 'H', Storage = h => ref h._hgatp, Write = (h, v) => h.WriteHgatp(v), Gate = HgatpGate },
                new(CsrNumber.Hgeip, "hgeip") { Extension = 'H' },
                new(CsrNumber.Satp, "satp")
                {
                    VirtualCounterpart = CsrNumber.Vsatp, Storage = h => ref h._satp, Gate = SatpGate,
                    Write = (h, v) => h.WriteAddressTranslation(ref h._satp, v),
                },

                // Machine information: read-only constants.
                new(CsrNumber.Mvendorid, "mvendorid"),
                new(CsrNumber.Marchid, "marchid"),
                new(CsrNumber.Mimpid, "mimpid"),
                new(CsrNumber.Mhartid, "mhartid") { Read = h => h.HartId },
                new(CsrNumber.Mconfigptr, "mconfigptr"),

                // Machine trap setup and handling.
                new(CsrNumber.Mstatus, "mstatus")
                {
                    Storage = h => ref h._mstatus, Read = h => h.MstatusValue(),
                    Write = (h, v) => h.WriteMstatus((h._mstatus & ~h.MstatusWritable) | (v & h.MstatusWritable)),
                },
                new(CsrNumber.Misa, "misa") { Read = h => h.Misa, Write = (_, _) => { } }, // WARL, fixed
                new(CsrNumber.Medeleg, "medeleg")
                {
                    Storage = h => ref h._medeleg,
                    Write = (h, v) => h._medeleg = v & (h.HasHypervisor ? HypervisorDelegableExceptions : DelegableExceptions),
                },
                // With H, the VS interrupts' bits are read-only one (set at reset; the write keeps them).
                new(CsrNumber.Mideleg, "mideleg") { Storage = h => ref h._mideleg, Writable = SupervisorInterrupts, AfterWrite = h => h.RequestInterruptCheck() },
                new(CsrNumber.Mie, "mie")
                {
                    Storage = h => ref h._mie,
                    Write = (h, v) =>
                    {
                        h._mie = v & h.ImplementedInterrupts;
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Mtvec, "mtvec") { Storage = h => ref h._mtvec, Write = (h, v) => h._mtvec = LegalTvec(v) },
                new(CsrNumber.Mcounteren, "mcounteren") { Storage = h => ref h._mcounteren, Writable = 0xFFFF_FFFF },
                new(CsrNumber.Menvcfg, "menvcfg") { Storage = h => ref h._menvcfg, Writable = 1 | Stce, AfterWrite = h => h.RequestInterruptCheck() },
                new(CsrNumber.Mcountinhibit, "mcountinhibit") { Storage = h => ref h._mcountinhibit, Writable = 0xFFFF_FFFD },
                new(CsrNumber.Mscratch, "mscratch") { Storage = h => ref h._mscratch },
                new(CsrNumber.Mepc, "mepc") { Storage = h => ref h._mepc, Writable = ~1ul },
                new(CsrNumber.Mcause, "mcause") { Storage = h => ref h._mcause },
                new(CsrNumber.Mtval, "mtval") { Storage = h => ref h._mtval },
                new(CsrNumber.Mtinst, "mtinst") { Extension = 'H', Storage = h => ref h._mtinst },
                new(CsrNumber.Mtval2, "mtval2") { Extension = 'H', Storage = h => ref h._mtval2 },
                // mip: the bits software wrote are its storage; reads add the lines devices drive and hvip's
                // VS bits, of which VSSIP is writable here too.
                new(CsrNumber.Mip, "mip")
                {
                    Storage = h => ref h._mip, Read = h => h.Mip,
                    Write = (h, v) =>
                    {
                        h._mip = (h._mip & ~MipWritable) | (v & MipWritable);
                        if (h.HasHypervisor) h.WriteVirtualSoftwarePending((v & (1ul << 2)) != 0);
                        h.RequestInterruptCheck();
                    },
                },

                // Counters: the offsets are kept by the snapshot itself.
                new(CsrNumber.Mcycle, "mcycle") { Read = h => h.CounterValue(0), Write = (h, v) => h._cycleOffset = (long)v - h.Instret - 1 },
                // The write itself retires after: hence the - 1.
                new(CsrNumber.Minstret, "minstret") { Read = h => h.CounterValue(2), Write = (h, v) => h._instretOffset = (long)v - h.Instret - 1 },

                // Debug triggers: none (tselect reads 0, tdata1 0: no trigger is there).
                new(CsrNumber.Tselect, "tselect") { Write = (_, _) => { } },
                new(CsrNumber.Tdata1, "tdata1") { Write = (_, _) => { } },
                new(CsrNumber.Tdata2, "tdata2") { Write = (_, _) => { } },
                new(CsrNumber.Tdata3, "tdata3") { Write = (_, _) => { } },
            };
            string[] counterNames = ["cycle", "time", "instret"];
            for (int i = 0; i < 32; i++)
            {
                int index = i;
                rows.Add(new(CsrNumber.Cycle + i, i < 3 ? counterNames[i] : $"hpmcounter{i}")
                {
                    Read = h => h.CounterValue(index), Gate = CounterGate(index),
                });
            }
            for (int i = 3; i < 32; i++)
            {
                // Hardware performance monitors: none counts (WARL zero).
                rows.Add(new(CsrNumber.Mcycle + i, $"mhpmcounter{i}") { Write = (_, _) => { } });
                rows.Add(new(CsrNumber.Mcountinhibit + i, $"mhpmevent{i}") { Write = (_, _) => { } });
            }
            // PMP: the unit keeps its own state (Hart.Pmp), saved as a whole.
            for (int i = 0; i < 16; i += 2) // RV64 has only the even-numbered pmpcfg registers
            {
                int index = i;
                rows.Add(new(CsrNumber.Pmpcfg0 + i, $"pmpcfg{i}")
                {
                    Read = h => h.TryReadPmpcfg(index, out ulong v) ? v : 0,
                    Write = (h, v) => h.TryWritePmpcfg(index, v),
                });
            }
            for (int i = 0; i < 64; i++)
            {
                int index = i;
                rows.Add(new(CsrNumber.Pmpaddr0 + i, $"pmpaddr{i}") { Read = h => h.ReadPmpaddr(index), Write = (h, v) => h.WritePmpaddr(index, v) });
            }
            foreach (var row in rows.OrderBy(r => r.Number))
            {
                if (ByNumber[row.Number] is not null) throw new InvalidOperationException($"CSR 0x{row.Number:x3} is defined twice");
                ByNumber[row.Number] = row;
            }
            All = rows.OrderBy(r => r.Number).ToArray();
        }
    }
}
