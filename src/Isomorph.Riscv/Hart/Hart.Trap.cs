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
        TakeTrap(PendingCause, PendingTval, PcOf(idx));
        return Exit;
    }

    /// <summary>Enters the trap handler for <paramref name="cause"/>: delegation, the x-status stack, the vector.</summary>
    public void TakeTrap(ulong cause, ulong tval, ulong epc)
    {
        var from = Privilege;
        if (TrapHook is not null && TrapHook(this, cause, epc))
        {
            Statistics.CountHostHandled(cause, from);
            return;
        }

        bool interrupt = (cause & InterruptBit) != 0;
        int code = (int)(cause & 63);
        ulong delegated = interrupt ? _mideleg : _medeleg;
        if (from <= PrivilegeLevel.Supervisor && ((delegated >> code) & 1) != 0)
        {
            Statistics.CountTrap(cause, from, PrivilegeLevel.Supervisor);
            _scause = cause;
            _sepc = epc;
            _stval = tval;
            ulong s = _mstatus;
            s = SetBit(s, MstatusBits.Spie, (s & MstatusBits.Sie) != 0);
            s &= ~MstatusBits.Sie;
            s = SetBit(s, MstatusBits.Spp, from == PrivilegeLevel.Supervisor);
            _mstatus = s;
            SetPrivilege(PrivilegeLevel.Supervisor);
            Pc = Vector(_stvec, interrupt, code);
        }
        else
        {
            Statistics.CountTrap(cause, from, PrivilegeLevel.Machine);
            // An ecall from S-mode that reaches M-mode is a call into the SBI; a7 holds the extension id.
            if (cause == (ulong)ExceptionCause.EnvironmentCallFromS) Statistics.CountSbiCall(X[17]);
            _mcause = cause;
            _mepc = epc;
            _mtval = tval;
            ulong s = _mstatus;
            s = SetBit(s, MstatusBits.Mpie, (s & MstatusBits.Mie) != 0);
            s &= ~MstatusBits.Mie;
            s = (s & ~MstatusBits.Mpp) | ((ulong)from << MstatusBits.MppShift);
            _mstatus = s;
            SetPrivilege(PrivilegeLevel.Machine);
            Pc = Vector(_mtvec, interrupt, code);
        }
        UpdateTranslationContext(); // with MPRV set, a new MPP changes how loads and stores translate
    }

    private static ulong Vector(ulong tvec, bool interrupt, int code) =>
        (tvec & 3) == 1 && interrupt ? (tvec & ~3ul) + 4 * (ulong)code : tvec & ~3ul;

    private static ulong SetBit(ulong value, ulong bit, bool on) => on ? value | bit : value & ~bit;

    internal void SetPrivilege(PrivilegeLevel level)
    {
        if (Privilege != level)
        {
            Privilege = level;
            UpdateTranslationContext();
        }
    }

    /// <summary>MRET: returns to the privilege in mstatus.MPP.</summary>
    internal void ReturnFromMachine()
    {
        ulong s = _mstatus;
        var to = (PrivilegeLevel)((s & MstatusBits.Mpp) >> MstatusBits.MppShift);
        s = SetBit(s, MstatusBits.Mie, (s & MstatusBits.Mpie) != 0);
        s |= MstatusBits.Mpie;
        s &= ~MstatusBits.Mpp; // MPP becomes U, the least-privileged supported mode
        if (to != PrivilegeLevel.Machine) s &= ~MstatusBits.Mprv;
        _mstatus = s;
        SetPrivilege(to);
        UpdateTranslationContext(); // MPRV may have changed
        Pc = _mepc;
    }

    /// <summary>SRET: returns to the privilege in mstatus.SPP.</summary>
    internal void ReturnFromSupervisor()
    {
        ulong s = _mstatus;
        var to = (s & MstatusBits.Spp) != 0 ? PrivilegeLevel.Supervisor : PrivilegeLevel.User;
        s = SetBit(s, MstatusBits.Sie, (s & MstatusBits.Spie) != 0);
        s |= MstatusBits.Spie;
        s &= ~MstatusBits.Spp;
        s &= ~MstatusBits.Mprv;
        _mstatus = s;
        SetPrivilege(to);
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

    /// <summary>mip as software sees it: the bits devices drive and those software wrote.</summary>
    public ulong Mip => _mip | Volatile.Read(ref _mipExternal);

    private static readonly int[] InterruptPriority = [11, 3, 7, 9, 1, 5];

    /// <summary>
    /// Takes the highest-priority enabled pending interrupt, if any. Returns true when any interrupt
    /// is pending and enabled in mie (which is what wakes WFI), whether or not it was taken.
    /// </summary>
    private bool CheckInterrupts()
    {
        ulong pending = Mip & _mie;
        if (pending == 0) return false;
        bool mEnabled = Privilege < PrivilegeLevel.Machine || (_mstatus & MstatusBits.Mie) != 0;
        bool sEnabled = Privilege < PrivilegeLevel.Supervisor || (Privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusBits.Sie) != 0);
        ulong takeable = (pending & ~_mideleg & (mEnabled ? ~0ul : 0)) | (pending & _mideleg & (sEnabled ? ~0ul : 0));
        if (takeable != 0)
        {
            // Interrupts for M-mode come before those delegated to S-mode, then by the fixed priority.
            ulong toMachine = takeable & ~_mideleg;
            ulong candidates = toMachine != 0 ? toMachine : takeable;
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
