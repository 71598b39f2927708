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
    public const ulong Uxl = 3ul << 32, Sxl = 3ul << 34, Sd = 1ul << 63;

    /// <summary>Bits of mstatus that software can write.</summary>
    public const ulong Writable = Sie | Mie | Spie | Mpie | Spp | Mpp | Fs | Mprv | Sum | Mxr | Tvm | Tw | Tsr;
    /// <summary>Bits of mstatus visible through sstatus.</summary>
    public const ulong SstatusView = Sie | Spie | Ube | Spp | Vs | Fs | Xs | Sum | Mxr | Uxl | Sd;
    public const ulong SstatusWritable = Sie | Spie | Spp | Fs | Sum | Mxr;
}

/// <summary>The control and status registers: storage, access rules and side effects.</summary>
public sealed unsafe partial class Hart
{
    /// <summary>misa: RV64 with I, M, A, F, D, C and the S and U modes.</summary>
    public const ulong Misa = (2ul << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

    /// <summary>mip bits that software may write (SSIP, STIP, SEIP); the M bits belong to devices.</summary>
    private const ulong MipWritable = (1ul << 1) | (1ul << 5) | (1ul << 9);
    private const ulong SupervisorInterrupts = (1ul << 1) | (1ul << 5) | (1ul << 9);
    private const ulong AllInterrupts = SupervisorInterrupts | (1ul << 3) | (1ul << 7) | (1ul << 11);
    /// <summary>Exceptions that may be delegated (all but ecall from M).</summary>
    private const ulong DelegableExceptions = 0xB3FF;

    private ulong _mstatus, _medeleg, _mideleg, _mie, _mip, _mipExternal, _mtvec, _mscratch, _mepc, _mcause, _mtval;
    private ulong _mcounteren, _scounteren, _menvcfg, _senvcfg, _mcountinhibit;
    private ulong _stvec, _sscratch, _sepc, _scause, _stval, _satp;
    private long _cycleOffset, _instretOffset;

    /// <summary>The FP accrued exception flags (fflags) and dynamic rounding mode (frm).</summary>
    public uint FpFlags;
    public uint Frm;

    /// <summary>Reads the time CSR (the platform's mtime); zero when the platform has no timer.</summary>
    public Func<ulong>? TimeSource { get; set; }

    public ulong Mstatus => _mstatus;
    public ulong Satp => _satp;
    public ulong Mideleg => _mideleg;
    public ulong Mie => _mie;

    private void ResetCsrs()
    {
        _mstatus = (2ul << 32) | (2ul << 34); // UXL = SXL = 64-bit
        _medeleg = _mideleg = _mie = _mip = _mtvec = _mscratch = _mepc = _mcause = _mtval = 0;
        _stvec = _sscratch = _sepc = _scause = _stval = _satp = 0;
        _mcounteren = _scounteren = _menvcfg = _senvcfg = _mcountinhibit = 0;
        FpFlags = Frm = 0;
        ResetPmp();
        Privilege = PrivilegeLevel.Machine;
        UpdateTranslationContext();
    }

    /// <summary>Marks the FP state dirty (mstatus.FS = Dirty, SD set).</summary>
    public void SetFsDirty() => _mstatus |= MstatusBits.Fs | MstatusBits.Sd;

    /// <summary>True when mstatus.FS is Off: FP instructions and CSRs are illegal.</summary>
    public bool FpDisabled => (_mstatus & MstatusBits.Fs) == 0;

    private ulong CounterValue(int index) => index switch
    {
        0 => (ulong)(Instret + _cycleOffset),
        1 => TimeSource?.Invoke() ?? 0,
        2 => (ulong)(Instret + _instretOffset),
        _ => 0,
    };

    /// <summary>
    /// Whether the current privilege may access <paramref name="csr"/> at all (and write it, when
    /// <paramref name="write"/>). An access that fails is an illegal instruction.
    /// </summary>
    private bool CsrAccessible(int csr, bool write)
    {
        int minimum = (csr >> 8) & 3;
        if ((int)Privilege < minimum) return false;
        if (write && (csr >> 10) == 3) return false;
        switch (csr)
        {
            case CsrNumber.Fflags or CsrNumber.Frm or CsrNumber.Fcsr:
                return !FpDisabled;
            case CsrNumber.Satp:
                return !(Privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusBits.Tvm) != 0);
            case >= CsrNumber.Cycle and <= CsrNumber.HpmCounter31:
                int bit = csr - CsrNumber.Cycle;
                if (Privilege < PrivilegeLevel.Machine && ((_mcounteren >> bit) & 1) == 0) return false;
                if (Privilege < PrivilegeLevel.Supervisor && ((_scounteren >> bit) & 1) == 0) return false;
                return true;
        }
        return true;
    }

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

    /// <summary>Reads a CSR; false when it does not exist or may not be accessed (illegal instruction).</summary>
    public bool TryReadCsr(int csr, out ulong value)
    {
        value = 0;
        return CsrAccessible(csr, write: false) && ReadCsrValue(csr, out value);
    }

    /// <summary>
    /// Reads a CSR as an external debugger does: whatever the current privilege and mstatus.FS;
    /// false only when the CSR does not exist.
    /// </summary>
    public bool DebugReadCsr(int csr, out ulong value) => ReadCsrValue(csr, out value);

    /// <summary>Writes a CSR as an external debugger does (see <see cref="DebugReadCsr"/>); false when it does not exist or is read-only.</summary>
    public bool DebugWriteCsr(int csr, ulong value) => (csr >> 10) != 3 && WriteCsrValue(csr, value);

    /// <summary>Sets the privilege level as an external debugger does (the levels that exist: U, S, M).</summary>
    public bool DebugSetPrivilege(ulong level)
    {
        if (level is not (0 or 1 or 3)) return false;
        SetPrivilege((PrivilegeLevel)level);
        return true;
    }

    private bool ReadCsrValue(int csr, out ulong value)
    {
        value = 0;
        switch (csr)
        {
            case CsrNumber.Fflags: value = FpFlags; return true;
            case CsrNumber.Frm: value = Frm; return true;
            case CsrNumber.Fcsr: value = Frm << 5 | FpFlags; return true;
            case >= CsrNumber.Cycle and <= CsrNumber.HpmCounter31: value = CounterValue(csr - CsrNumber.Cycle); return true;
            case CsrNumber.Mcycle: value = CounterValue(0); return true;
            case CsrNumber.Minstret: value = CounterValue(2); return true;
            case >= CsrNumber.MhpmCounter3 and <= CsrNumber.MhpmCounter31: return true;
            case >= CsrNumber.MhpmEvent3 and <= CsrNumber.MhpmEvent31: return true;

            case CsrNumber.Sstatus: value = SstatusValue(); return true;
            case CsrNumber.Sie: value = _mie & _mideleg; return true;
            case CsrNumber.Sip: value = Mip & _mideleg; return true;
            case CsrNumber.Stvec: value = _stvec; return true;
            case CsrNumber.Scounteren: value = _scounteren; return true;
            case CsrNumber.Senvcfg: value = _senvcfg; return true;
            case CsrNumber.Sscratch: value = _sscratch; return true;
            case CsrNumber.Sepc: value = _sepc; return true;
            case CsrNumber.Scause: value = _scause; return true;
            case CsrNumber.Stval: value = _stval; return true;
            case CsrNumber.Satp: value = _satp; return true;

            case CsrNumber.Mvendorid or CsrNumber.Marchid or CsrNumber.Mimpid or CsrNumber.Mconfigptr: return true;
            case CsrNumber.Mhartid: value = HartId; return true;
            case CsrNumber.Mstatus: value = MstatusValue(); return true;
            case CsrNumber.Misa: value = Misa; return true;
            case CsrNumber.Medeleg: value = _medeleg; return true;
            case CsrNumber.Mideleg: value = _mideleg; return true;
            case CsrNumber.Mie: value = _mie; return true;
            case CsrNumber.Mip: value = Mip; return true;
            case CsrNumber.Mtvec: value = _mtvec; return true;
            case CsrNumber.Mcounteren: value = _mcounteren; return true;
            case CsrNumber.Menvcfg: value = _menvcfg; return true;
            case CsrNumber.Mcountinhibit: value = _mcountinhibit; return true;
            case CsrNumber.Mscratch: value = _mscratch; return true;
            case CsrNumber.Mepc: value = _mepc; return true;
            case CsrNumber.Mcause: value = _mcause; return true;
            case CsrNumber.Mtval: value = _mtval; return true;
            case >= CsrNumber.Pmpcfg0 and <= CsrNumber.Pmpcfg15: return TryReadPmpcfg(csr - CsrNumber.Pmpcfg0, out value);
            case >= CsrNumber.Pmpaddr0 and <= CsrNumber.Pmpaddr63: value = ReadPmpaddr(csr - CsrNumber.Pmpaddr0); return true;
            case CsrNumber.Tselect: value = 0; return true; // no triggers: tselect reads 0, tdata1 0
            case CsrNumber.Tdata1 or CsrNumber.Tdata2 or CsrNumber.Tdata3: return true;
        }
        return false;
    }

    private ulong MstatusValue()
    {
        ulong s = _mstatus & ~MstatusBits.Sd;
        if ((s & MstatusBits.Fs) == MstatusBits.Fs) s |= MstatusBits.Sd;
        return s;
    }

    private ulong SstatusValue() => MstatusValue() & MstatusBits.SstatusView;

    /// <summary>Writes a CSR; false when it does not exist, is read-only or may not be accessed.</summary>
    public bool TryWriteCsr(int csr, ulong value) => CsrAccessible(csr, write: true) && WriteCsrValue(csr, value);

    private bool WriteCsrValue(int csr, ulong value)
    {
        switch (csr)
        {
            case CsrNumber.Fflags: FpFlags = (uint)value & 0x1F; SetFsDirty(); return true;
            case CsrNumber.Frm: Frm = (uint)value & 7; SetFsDirty(); return true;
            case CsrNumber.Fcsr: FpFlags = (uint)value & 0x1F; Frm = (uint)(value >> 5) & 7; SetFsDirty(); return true;
            case CsrNumber.Mcycle: _cycleOffset = (long)value - Instret - 1; return true;
            case CsrNumber.Minstret: _instretOffset = (long)value - Instret - 1; return true; // the write itself retires after
            case >= CsrNumber.MhpmCounter3 and <= CsrNumber.MhpmCounter31: return true;
            case >= CsrNumber.MhpmEvent3 and <= CsrNumber.MhpmEvent31: return true;

            case CsrNumber.Sstatus:
                WriteMstatus((_mstatus & ~MstatusBits.SstatusWritable) | (value & MstatusBits.SstatusWritable));
                return true;
            case CsrNumber.Sie: _mie = (_mie & ~_mideleg) | (value & _mideleg & SupervisorInterrupts); RequestInterruptCheck(); return true;
            case CsrNumber.Sip:
                ulong sw = _mideleg & (1ul << 1);
                _mip = (_mip & ~sw) | (value & sw);
                RequestInterruptCheck();
                return true;
            case CsrNumber.Stvec: _stvec = LegalTvec(value); return true;
            case CsrNumber.Scounteren: _scounteren = value & 0xFFFF_FFFF; return true;
            case CsrNumber.Senvcfg: _senvcfg = value & 1; return true;
            case CsrNumber.Sscratch: _sscratch = value; return true;
            case CsrNumber.Sepc: _sepc = value & ~1ul; return true;
            case CsrNumber.Scause: _scause = value; return true;
            case CsrNumber.Stval: _stval = value; return true;
            case CsrNumber.Satp: WriteSatp(value); return true;

            case CsrNumber.Mstatus: WriteMstatus((_mstatus & ~MstatusBits.Writable) | (value & MstatusBits.Writable)); return true;
            case CsrNumber.Misa: return true; // WARL, fixed
            case CsrNumber.Medeleg: _medeleg = value & DelegableExceptions; return true;
            case CsrNumber.Mideleg: _mideleg = value & SupervisorInterrupts; RequestInterruptCheck(); return true;
            case CsrNumber.Mie: _mie = value & AllInterrupts; RequestInterruptCheck(); return true;
            case CsrNumber.Mip: _mip = (_mip & ~MipWritable) | (value & MipWritable); RequestInterruptCheck(); return true;
            case CsrNumber.Mtvec: _mtvec = LegalTvec(value); return true;
            case CsrNumber.Mcounteren: _mcounteren = value & 0xFFFF_FFFF; return true;
            case CsrNumber.Menvcfg: _menvcfg = value & 1; return true;
            case CsrNumber.Mcountinhibit: _mcountinhibit = value & 0xFFFF_FFFD; return true;
            case CsrNumber.Mscratch: _mscratch = value; return true;
            case CsrNumber.Mepc: _mepc = value & ~1ul; return true;
            case CsrNumber.Mcause: _mcause = value; return true;
            case CsrNumber.Mtval: _mtval = value; return true;
            case >= CsrNumber.Pmpcfg0 and <= CsrNumber.Pmpcfg15: return TryWritePmpcfg(csr - CsrNumber.Pmpcfg0, value);
            case >= CsrNumber.Pmpaddr0 and <= CsrNumber.Pmpaddr63: WritePmpaddr(csr - CsrNumber.Pmpaddr0, value); return true;
            case CsrNumber.Tselect or CsrNumber.Tdata1 or CsrNumber.Tdata2 or CsrNumber.Tdata3: return true;
        }
        return false;
    }

    /// <summary>tvec modes 0 (direct) and 1 (vectored) are legal; others keep the base in direct mode.</summary>
    private static ulong LegalTvec(ulong value) => (value & 3) >= 2 ? value & ~3ul : value;

    private void WriteMstatus(ulong value)
    {
        // MPP is WARL over the implemented modes U, S and M; the reserved value 2 is not kept.
        if ((value & MstatusBits.Mpp) == 2ul << MstatusBits.MppShift)
            value = (value & ~MstatusBits.Mpp) | (_mstatus & MstatusBits.Mpp);
        const ulong translationBits = MstatusBits.Mprv | MstatusBits.Sum | MstatusBits.Mxr | MstatusBits.Mpp;
        bool contextChanged = ((value ^ _mstatus) & translationBits) != 0;
        _mstatus = value & ~MstatusBits.Sd;
        if (contextChanged) UpdateTranslationContext();
        RequestInterruptCheck();
    }

    private void WriteSatp(ulong value)
    {
        ulong mode = value >> 60;
        if (mode is not (0 or 8 or 9)) return; // unsupported modes leave satp unchanged (WARL)
        _satp = value;
        FlushTlb();
    }
}
