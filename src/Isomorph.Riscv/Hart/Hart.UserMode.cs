namespace Isomorph.Riscv;

/// <summary>
/// Page permissions for user-mode emulation (a process VM): the guest runs in U-mode with satp =
/// Bare, so virtual and physical addresses coincide, and the operating system's page protections
/// (mmap, mprotect, munmap) are checked here instead of in page tables. Only slow paths consult
/// it; the TLBs remember pages it permitted, so whoever reduces a permission flushes them.
/// </summary>
public interface IPageProtection
{
    /// <summary>True when the guest may access the page holding <paramref name="address"/> this way.</summary>
    bool Permits(ulong address, AccessType access);
}

public sealed partial class Hart
{
    /// <summary>The process VM's page permissions, checked on every translation when set.</summary>
    public IPageProtection? PageProtection { get; set; }

    /// <summary>
    /// Drops to U-mode at <paramref name="pc"/> with the FP unit on and the counters readable, as an
    /// operating system does when it starts a process.
    /// </summary>
    public void EnterUserMode(ulong pc)
    {
        _mstatus = (_mstatus & ~MstatusBits.Fs) | (1ul << MstatusBits.FsShift); // FS = Initial
        _mcounteren = _scounteren = 7; // cycle, time, instret
        SetPrivilege(PrivilegeLevel.User);
        UpdateFloatingPointGate();
        FlushTlb();
        Pc = pc;
    }
}
