namespace Isomorph.Riscv;

/// <summary>Synchronous exception causes (mcause/scause with the interrupt bit clear).</summary>
public enum ExceptionCause : ulong
{
    InstructionAddressMisaligned = 0,
    InstructionAccessFault = 1,
    IllegalInstruction = 2,
    Breakpoint = 3,
    LoadAddressMisaligned = 4,
    LoadAccessFault = 5,
    StoreAddressMisaligned = 6,
    StoreAccessFault = 7,
    EnvironmentCallFromU = 8,
    EnvironmentCallFromS = 9,
    EnvironmentCallFromVS = 10,
    EnvironmentCallFromM = 11,
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
    InstructionGuestPageFault = 20,
    LoadGuestPageFault = 21,
    VirtualInstruction = 22,
    StoreGuestPageFault = 23,
}

/// <summary>Interrupt numbers (mip/mie bit positions; mcause with the interrupt bit set).</summary>
public enum InterruptCause : ulong
{
    SupervisorSoftware = 1,
    MachineSoftware = 3,
    SupervisorTimer = 5,
    MachineTimer = 7,
    SupervisorExternal = 9,
    MachineExternal = 11,
}

/// <summary>Trap entry and return, interrupts, and the trap statistics.</summary>
public sealed unsafe partial class Hart
{
    public const ulong InterruptBit = 1ul << 63;

    /// <summary>Traps taken by cause and by the privilege they came from and went to; SBI calls by extension.</summary>
    public TrapStatistics Statistics { get; } = new();

    /// <summary>Called on every trap before it is taken (tracing, the process VM's syscall hook).</summary>
    public Func<Hart, ulong, ulong, bool>? TrapHook;

    /// <summary>Raises a synchronous exception for the instruction in slot <paramref name="idx"/>.</summary>
    public int Raise(ExceptionCause cause, ulong tval, int idx)
    {
        Instret--; // the trapping instruction does not retire
        ExceptionsTaken++;
        _stopAt = 0; // the run loop's checks count the exception against the budget
        TakeTrap((ulong)cause, tval, PcOf(idx));
        return Exit;
    }

    /// <summary>Raises the exception a failed memory access left pending.</summary>
    public int RaisePending(int idx)
    {
        if (PendingCause == DebugHaltCause)
        {
            // A debugger's watchpoint halted the hart before this access: no trap, the pc stays here.
            Instret--;
            _stopAt = 0;
            Pc = PcOf(idx);
            return Exit;
        }
        Instret--;
        ExceptionsTaken++;
        _stopAt = 0;
        TakePendingTrap(PcOf(idx));
        return Exit;
    }

    /// <summary>Takes the trap a failed translation or access left pending, with what it knows of a guest physical address.</summary>
    internal void TakePendingTrap(ulong epc) =>
        TakeTrap(PendingCause, PendingTval, epc, PendingGuestPhysical, PendingTinst, PendingGuestVirtual);

    /// <summary>Enters the trap handler for <paramref name="cause"/>: delegation, the x-status stack, the vector.</summary>
    public void TakeTrap(ulong cause, ulong tval, ulong epc) => TakeTrap(cause, tval, epc, 0, 0, false);

    /// <summary>
    /// Enters the trap handler for <paramref name="cause"/>. With the hypervisor extension, a trap
    /// from V mode goes to VS-mode when hedeleg or hideleg delegate it there, and a trap into HS-
    /// or M-mode records the mode it came from (hstatus.SPV/SPVP, mstatus.MPV), whether tval is a
    /// guest virtual address (GVA), and for guest-page faults the guest physical address, shifted
    /// right by 2, in htval or mtval2 (<paramref name="guestPhysical"/>) and in htinst or mtinst the
    /// pseudoinstruction of a fault in the VS-stage walk (<paramref name="tinst"/>).
    /// </summary>
    internal void TakeTrap(ulong cause, ulong tval, ulong epc, ulong guestPhysical, ulong tinst, bool guestVirtual)
    {
        var from = Privilege;
        bool fromVirtual = Virtualized;
        var fromMode = Mode;
        if (TrapHook is not null && TrapHook(this, cause, epc))
        {
            Statistics.CountHostHandled(cause, fromMode);
            return;
        }

        bool interrupt = (cause & InterruptBit) != 0;
        int code = (int)(cause & 63);
        ulong delegated = interrupt ? _mideleg : _medeleg;
        bool gva = (fromVirtual || guestVirtual) && !interrupt && WritesAddress(code, tval);
        if (from <= PrivilegeLevel.Supervisor && ((delegated >> code) & 1) != 0)
        {
            ulong virtualDelegated = interrupt ? _hideleg : _hedeleg;
            if (fromVirtual && ((virtualDelegated >> code) & 1) != 0)
            {
                // Into VS-mode: the guest's own trap, through the VS CSRs. A VS interrupt shows there
                // as the supervisor interrupt one below it (VSEI as SEI).
                int guestCode = interrupt ? code - 1 : code;
                Statistics.CountTrap(cause, fromMode, PrivilegeMode.VirtualSupervisor);
                _vscause = interrupt ? InterruptBit | (ulong)guestCode : cause;
                _vsepc = epc;
                _vstval = tval;
                _vsstatus = PushSupervisorStatus(_vsstatus, from);
                SetMode(PrivilegeLevel.Supervisor, true);
                Pc = Vector(_vstvec, interrupt, guestCode);
                return;
            }
            Statistics.CountTrap(cause, fromMode, PrivilegeMode.Supervisor);
            _scause = cause;
            _sepc = epc;
            _stval = tval;
            _mstatus = PushSupervisorStatus(_mstatus, from);
            if (HasHypervisor)
            {
                ulong hs = _hstatus;
                hs = SetBit(hs, HstatusBits.Spv, fromVirtual);
                if (fromVirtual) hs = SetBit(hs, HstatusBits.Spvp, from == PrivilegeLevel.Supervisor);
                _hstatus = SetBit(hs, HstatusBits.Gva, gva);
                _htval = guestPhysical >> 2;
                _htinst = tinst;
            }
            SetMode(PrivilegeLevel.Supervisor, false);
            Pc = Vector(_stvec, interrupt, code);
        }
        else
        {
            Statistics.CountTrap(cause, fromMode, PrivilegeMode.Machine);
            // An ecall from S-mode that reaches M-mode is a call into the SBI; a7 holds the extension id.
            if (cause == (ulong)ExceptionCause.EnvironmentCallFromS) Statistics.CountSbiCall(X[17]);
            _mcause = cause;
            _mepc = epc;
            _mtval = tval;
            ulong s = _mstatus;
            s = SetBit(s, MstatusBits.Mpie, (s & MstatusBits.Mie) != 0);
            s &= ~MstatusBits.Mie;
            s = (s & ~MstatusBits.Mpp) | ((ulong)from << MstatusBits.MppShift);
            if (HasHypervisor)
            {
                s = SetBit(s, MstatusBits.Mpv, fromVirtual);
                s = SetBit(s, MstatusBits.Gva, gva);
                _mtval2 = guestPhysical >> 2;
                _mtinst = tinst;
            }
            _mstatus = s;
            SetMode(PrivilegeLevel.Machine, false);
            Pc = Vector(_mtvec, interrupt, code);
        }
        UpdateTranslationContext(); // with MPRV set, a new MPP changes how loads and stores translate
    }

    /// <summary>sstatus (or vsstatus) on a trap into its mode: SPIE = SIE, SIE = 0, SPP = the privilege the trap came from.</summary>
    private static ulong PushSupervisorStatus(ulong status, PrivilegeLevel from)
    {
        status = SetBit(status, MstatusBits.Spie, (status & MstatusBits.Sie) != 0);
        status &= ~MstatusBits.Sie;
        return SetBit(status, MstatusBits.Spp, from == PrivilegeLevel.Supervisor);
    }

    /// <summary>Whether an exception writes a (virtual) address to xtval: misaligned, access and page faults, and a breakpoint's pc.</summary>
    private static bool WritesAddress(int code, ulong tval) => code switch
    {
        0 or 1 or 4 or 5 or 6 or 7 or 12 or 13 or 15 or 20 or 21 or 23 => true,
        3 => tval != 0,
        _ => false,
    };

    private static ulong Vector(ulong tvec, bool interrupt, int code) =>
        (tvec & 3) == 1 && interrupt ? (tvec & ~3ul) + 4 * (ulong)code : tvec & ~3ul;

    private static ulong SetBit(ulong value, ulong bit, bool on) => on ? value | bit : value & ~bit;

    internal void SetPrivilege(PrivilegeLevel level) => SetMode(level, Virtualized);

    /// <summary>Enters privilege <paramref name="level"/> with virtualization mode <paramref name="virtualized"/>.</summary>
    internal void SetMode(PrivilegeLevel level, bool virtualized)
    {
        if (Privilege == level && Virtualized == virtualized) return;
        Privilege = level;
        Virtualized = virtualized;
        UpdateTranslationContext();
        UpdateFloatingPointGate();
    }

    /// <summary>MRET: returns to the privilege in mstatus.MPP (and, below M, to V = mstatus.MPV).</summary>
    internal void ReturnFromMachine()
    {
        ulong s = _mstatus;
        var to = (PrivilegeLevel)((s & MstatusBits.Mpp) >> MstatusBits.MppShift);
        bool virtualized = to != PrivilegeLevel.Machine && (s & MstatusBits.Mpv) != 0;
        s = SetBit(s, MstatusBits.Mie, (s & MstatusBits.Mpie) != 0);
        s |= MstatusBits.Mpie;
        s &= ~(MstatusBits.Mpp | MstatusBits.Mpv); // MPP becomes U, the least-privileged supported mode
        if (to != PrivilegeLevel.Machine) s &= ~MstatusBits.Mprv;
        _mstatus = s;
        SetMode(to, virtualized);
        UpdateTranslationContext(); // MPRV may have changed
        Pc = _mepc;
    }

    /// <summary>
    /// SRET: in HS-mode returns to the privilege in sstatus.SPP and to V = hstatus.SPV; in VS-mode
    /// to the privilege in vsstatus.SPP, staying in V mode.
    /// </summary>
    internal void ReturnFromSupervisor()
    {
        if (Virtualized)
        {
            ulong vs = _vsstatus;
            var guestTo = (vs & MstatusBits.Spp) != 0 ? PrivilegeLevel.Supervisor : PrivilegeLevel.User;
            vs = SetBit(vs, MstatusBits.Sie, (vs & MstatusBits.Spie) != 0);
            vs |= MstatusBits.Spie;
            vs &= ~MstatusBits.Spp;
            _vsstatus = vs;
            SetMode(guestTo, true);
            UpdateTranslationContext(); // vsstatus may have changed
            Pc = _vsepc;
            return;
        }
        ulong s = _mstatus;
        var to = (s & MstatusBits.Spp) != 0 ? PrivilegeLevel.Supervisor : PrivilegeLevel.User;
        bool virtualized = (_hstatus & HstatusBits.Spv) != 0;
        s = SetBit(s, MstatusBits.Sie, (s & MstatusBits.Spie) != 0);
        s |= MstatusBits.Spie;
        s &= ~MstatusBits.Spp;
        s &= ~MstatusBits.Mprv;
        _mstatus = s;
        _hstatus &= ~HstatusBits.Spv;
        SetMode(to, virtualized);
        UpdateTranslationContext(); // MPRV may have changed
        Pc = _sepc;
    }

    /// <summary>The interrupt-pending bits that devices drive (MSIP, MTIP, MEIP, SEIP); thread-safe.</summary>
    public void SetInterruptPending(InterruptCause irq, bool pending)
    {
        ulong bit = 1ul << (int)irq;
        ulong old, updated;
        do
        {
            old = Volatile.Read(ref _mipExternal);
            updated = pending ? old | bit : old & ~bit;
        }
        while (Interlocked.CompareExchange(ref _mipExternal, updated, old) != old);
        if (pending) RequestInterruptCheck();
    }

    /// <summary>
    /// mip as software sees it: the bits devices drive, those software wrote, and hvip's; with Sstc
    /// enabled (menvcfg.STCE) STIP is time &gt;= stimecmp instead of the bit software wrote, and
    /// (henvcfg.STCE) VSTIP also rises when the guest's time, time + htimedelta, reaches vstimecmp.
    /// </summary>
    public ulong Mip
    {
        get
        {
            ulong mip = _mip | Volatile.Read(ref _mipExternal) | HypervisorPending;
            if ((_menvcfg & Stce) == 0) return mip;
            const ulong stip = 1ul << 5, vstip = 1ul << 6;
            ulong time = TimeSource?.Invoke() ?? 0;
            mip = time >= _stimecmp ? mip | stip : mip & ~stip;
            if ((_henvcfg & Stce) != 0 && time + _htimedelta >= _vstimecmp) mip |= vstip;
            return mip;
        }
    }

    /// <summary>
    /// The time (mtime) at which a supervisor timer compare (Sstc) raises its interrupt, or
    /// ulong.MaxValue when none is armed: a machine whose harts all wait sleeps until then at most.
    /// </summary>
    public ulong SupervisorTimerDeadline
    {
        get
        {
            if ((_menvcfg & Stce) == 0) return ulong.MaxValue;
            ulong deadline = _stimecmp;
            if ((_henvcfg & Stce) != 0)
            {
                // The guest's time is time + htimedelta (modulo 2^64, as the hardware adds it).
                ulong now = TimeSource?.Invoke() ?? 0, guestNow = now + _htimedelta;
                ulong guest = _vstimecmp <= guestNow ? now : now + (_vstimecmp - guestNow);
                if (guest < deadline) deadline = guest;
            }
            return deadline;
        }
    }

    /// <summary>The interrupts by priority (privileged spec; the H extension's SGEI, VSEI, VSSI, VSTI last).</summary>
    private static readonly int[] InterruptPriority = [11, 3, 7, 9, 1, 5, 12, 10, 2, 6];

    /// <summary>
    /// Takes the highest-priority enabled pending interrupt, if any. Returns true when any interrupt
    /// is pending and enabled in mie (which is what wakes WFI), whether or not it was taken.
    /// </summary>
    private bool CheckInterrupts()
    {
        ulong pending = Mip & _mie;
        if (pending == 0) return false;
        // Each interrupt goes to M-mode, HS-mode or (delegated on by hideleg) VS-mode, and is taken
        // when that mode is above the current one, or is the current one with its interrupts enabled.
        bool vs = Privilege == PrivilegeLevel.Supervisor && Virtualized;
        bool hs = Privilege == PrivilegeLevel.Supervisor && !Virtualized;
        bool mEnabled = Privilege < PrivilegeLevel.Machine || (_mstatus & MstatusBits.Mie) != 0;
        bool hsEnabled = Privilege < PrivilegeLevel.Supervisor || Virtualized || (hs && (_mstatus & MstatusBits.Sie) != 0);
        bool vsEnabled = Virtualized && (Privilege == PrivilegeLevel.User || (vs && (_vsstatus & MstatusBits.Sie) != 0));
        ulong toMachine = pending & ~_mideleg;
        ulong toHypervisor = pending & _mideleg & ~_hideleg;
        ulong toGuest = pending & _mideleg & _hideleg;
        // Interrupts for M-mode come before those for HS-mode, and those before VS-mode's; then by the fixed priority.
        ulong candidates = mEnabled && toMachine != 0 ? toMachine
            : hsEnabled && toHypervisor != 0 ? toHypervisor
            : vsEnabled ? toGuest : 0;
        if (candidates != 0)
        {
            foreach (int irq in InterruptPriority)
            {
                if (((candidates >> irq) & 1) == 0) continue;
                WaitingForInterrupt = false;
                TakeTrap(InterruptBit | (ulong)irq, 0, Pc);
                break;
            }
        }
        return true;
    }
}
