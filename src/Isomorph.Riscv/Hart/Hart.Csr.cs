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

/// <summary>The control and status registers: storage, and access through the table of their definitions.</summary>
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
        int level = Privilege switch { PrivilegeLevel.Machine => 3, PrivilegeLevel.Supervisor => 1, _ => 0 };
        if (level < csr.PrivilegeField) return CsrFault.Illegal;
        return csr.Gate?.Invoke(this, write) ?? CsrFault.None;
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

    /// <summary>The definition of <paramref name="number"/> when this hart implements it.</summary>
    private Csr? Find(int number) =>
        (uint)number < 4096 && CsrTable.ByNumber[number] is { } csr && Implements(csr) ? csr : null;

    /// <summary>Reads a CSR as the instruction does; <see cref="CsrFault.Illegal"/> also when it does not exist.</summary>
    internal CsrFault ReadCsr(int number, out ulong value)
    {
        value = 0;
        if (Find(number) is not { } csr) return CsrFault.Illegal;
        var fault = CheckAccess(csr, write: false);
        if (fault == CsrFault.None) value = ReadValue(csr);
        return fault;
    }

    /// <summary>Writes a CSR as the instruction does (see <see cref="ReadCsr"/>).</summary>
    internal CsrFault WriteCsr(int number, ulong value)
    {
        if (Find(number) is not { } csr) return CsrFault.Illegal;
        var fault = CheckAccess(csr, write: true);
        if (fault == CsrFault.None) WriteValue(csr, value);
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

    /// <summary>Sets the privilege level as an external debugger does (the levels that exist: U, S, M).</summary>
    public bool DebugSetPrivilege(ulong level)
    {
        if (level is not (0 or 1 or 3)) return false;
        SetPrivilege((PrivilegeLevel)level);
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
        1 => TimeSource?.Invoke() ?? 0,
        2 => (ulong)(Instret + _instretOffset),
        _ => 0,
    };

    private ulong MstatusValue()
    {
        ulong s = _mstatus & ~MstatusBits.Sd;
        if ((s & MstatusBits.Fs) == MstatusBits.Fs) s |= MstatusBits.Sd;
        return s;
    }

    private ulong SstatusValue() => MstatusValue() & MstatusBits.SstatusView;

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

    // ---- Access rules beyond the privilege field ----

    private static CsrFault FloatingPointGate(Hart h, bool write) => h.FpDisabled ? CsrFault.Illegal : CsrFault.None;

    private static CsrFault SatpGate(Hart h, bool write) =>
        h.Privilege == PrivilegeLevel.Supervisor && (h._mstatus & MstatusBits.Tvm) != 0 ? CsrFault.Illegal : CsrFault.None;

    /// <summary>cycle, time, instret and hpmcounterN below M-mode: mcounteren, then (in U-mode) scounteren.</summary>
    private static Func<Hart, bool, CsrFault> CounterGate(int bit) => (h, _) =>
    {
        if (h.Privilege < PrivilegeLevel.Machine && ((h._mcounteren >> bit) & 1) == 0) return CsrFault.Illegal;
        if (h.Privilege < PrivilegeLevel.Supervisor && ((h._scounteren >> bit) & 1) == 0) return CsrFault.Illegal;
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
                    Read = h => h.SstatusValue(),
                    Write = (h, v) => h.WriteMstatus((h._mstatus & ~MstatusBits.SstatusWritable) | (v & MstatusBits.SstatusWritable)),
                },
                new(CsrNumber.Sie, "sie")
                {
                    Read = h => h._mie & h._mideleg & SupervisorInterrupts,
                    Write = (h, v) =>
                    {
                        ulong visible = h._mideleg & SupervisorInterrupts;
                        h._mie = (h._mie & ~visible) | (v & visible);
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Stvec, "stvec") { Storage = h => ref h._stvec, Write = (h, v) => h._stvec = LegalTvec(v) },
                new(CsrNumber.Scounteren, "scounteren") { Storage = h => ref h._scounteren, Writable = 0xFFFF_FFFF },
                new(CsrNumber.Senvcfg, "senvcfg") { Storage = h => ref h._senvcfg, Writable = 1 },
                new(CsrNumber.Sscratch, "sscratch") { Storage = h => ref h._sscratch },
                new(CsrNumber.Sepc, "sepc") { Storage = h => ref h._sepc, Writable = ~1ul },
                new(CsrNumber.Scause, "scause") { Storage = h => ref h._scause },
                new(CsrNumber.Stval, "stval") { Storage = h => ref h._stval },
                new(CsrNumber.Sip, "sip")
                {
                    Read = h => h.Mip & h._mideleg & SupervisorInterrupts,
                    Write = (h, v) =>
                    {
                        ulong writable = h._mideleg & (1ul << 1); // SSIP, when delegated
                        h._mip = (h._mip & ~writable) | (v & writable);
                        h.RequestInterruptCheck();
                    },
                },
                new(CsrNumber.Satp, "satp") { Storage = h => ref h._satp, Write = (h, v) => h.WriteSatp(v), Gate = SatpGate },

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
                    Write = (h, v) => h.WriteMstatus((h._mstatus & ~MstatusBits.Writable) | (v & MstatusBits.Writable)),
                },
                new(CsrNumber.Misa, "misa") { Read = _ => Misa, Write = (_, _) => { } }, // WARL, fixed
                new(CsrNumber.Medeleg, "medeleg") { Storage = h => ref h._medeleg, Writable = DelegableExceptions },
                new(CsrNumber.Mideleg, "mideleg") { Storage = h => ref h._mideleg, Writable = SupervisorInterrupts, AfterWrite = h => h.RequestInterruptCheck() },
                new(CsrNumber.Mie, "mie") { Storage = h => ref h._mie, Writable = AllInterrupts, AfterWrite = h => h.RequestInterruptCheck() },
                new(CsrNumber.Mtvec, "mtvec") { Storage = h => ref h._mtvec, Write = (h, v) => h._mtvec = LegalTvec(v) },
                new(CsrNumber.Mcounteren, "mcounteren") { Storage = h => ref h._mcounteren, Writable = 0xFFFF_FFFF },
                new(CsrNumber.Menvcfg, "menvcfg") { Storage = h => ref h._menvcfg, Writable = 1 },
                new(CsrNumber.Mcountinhibit, "mcountinhibit") { Storage = h => ref h._mcountinhibit, Writable = 0xFFFF_FFFD },
                new(CsrNumber.Mscratch, "mscratch") { Storage = h => ref h._mscratch },
                new(CsrNumber.Mepc, "mepc") { Storage = h => ref h._mepc, Writable = ~1ul },
                new(CsrNumber.Mcause, "mcause") { Storage = h => ref h._mcause },
                new(CsrNumber.Mtval, "mtval") { Storage = h => ref h._mtval },
                // mip: the bits software wrote are its storage; reads add the lines devices drive.
                new(CsrNumber.Mip, "mip") { Storage = h => ref h._mip, Read = h => h.Mip, Writable = MipWritable, AfterWrite = h => h.RequestInterruptCheck() },

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
