using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>The privileged instructions: environment calls, trap returns, WFI and sfence.vma.</summary>
[IsaExtension("Privileged")]
internal static unsafe partial class Privileged
{
    /// <summary>The semantics of every encoding that is not an instruction.</summary>
    internal static int IllegalInstruction(Hart h, ref Insn i, int idx) =>
        h.Raise(ExceptionCause.IllegalInstruction, i.Raw, idx);

    /// <summary>An instruction HS-mode allows that V mode may not run: HS-mode emulates it (the H extension).</summary>
    internal static int VirtualInstruction(Hart h, ref Insn i, int idx) =>
        h.Raise(ExceptionCause.VirtualInstruction, i.Raw, idx);

    [Instruction("ecall", "000000000000 00000 000 00000 1110011", "", Flow = ControlFlow.ChangesState)]
    private static int Ecall(Hart h, ref Insn i, int idx) => h.Raise(h.Privilege switch
    {
        PrivilegeLevel.User => ExceptionCause.EnvironmentCallFromU,
        PrivilegeLevel.Supervisor when h.Virtualized => ExceptionCause.EnvironmentCallFromVS,
        PrivilegeLevel.Supervisor => ExceptionCause.EnvironmentCallFromS,
        _ => ExceptionCause.EnvironmentCallFromM,
    }, 0, idx);

    [Instruction("ebreak", "000000000001 00000 000 00000 1110011", "", Flow = ControlFlow.ChangesState)]
    private static int Ebreak(Hart h, ref Insn i, int idx) => h.Raise(ExceptionCause.Breakpoint, h.PcOf(idx), idx);

    [Instruction("mret", "0011000 00010 00000 000 00000 1110011", "", Flow = ControlFlow.ChangesState)]
    private static int Mret(Hart h, ref Insn i, int idx)
    {
        if (h.Privilege != PrivilegeLevel.Machine) return IllegalInstruction(h, ref i, idx);
        h.ClearReservation();
        h.ReturnFromMachine();
        h.RequestInterruptCheck();
        return Hart.Exit;
    }

    [Instruction("sret", "0001000 00010 00000 000 00000 1110011", "", Flow = ControlFlow.ChangesState)]
    private static int Sret(Hart h, ref Insn i, int idx)
    {
        if (h.Virtualized && (h.Privilege == PrivilegeLevel.User || (h.Hstatus & HstatusBits.Vtsr) != 0))
            return VirtualInstruction(h, ref i, idx);
        if (h.Privilege < PrivilegeLevel.Supervisor
            || (h.Privilege == PrivilegeLevel.Supervisor && !h.Virtualized && (h.Mstatus & MstatusBits.Tsr) != 0))
            return IllegalInstruction(h, ref i, idx);
        h.ClearReservation();
        h.ReturnFromSupervisor();
        h.RequestInterruptCheck();
        return Hart.Exit;
    }

    [Instruction("wfi", "0001000 00101 00000 000 00000 1110011", "", Flow = ControlFlow.ChangesState)]
    private static int Wfi(Hart h, ref Insn i, int idx)
    {
        // TW makes WFI illegal below M-mode; WFI in U-mode is always illegal (no U-mode interrupts).
        // In V mode, with TW clear, VU-mode's WFI and VS-mode's under hstatus.VTW are HS-mode's to emulate.
        bool tw = (h.Mstatus & MstatusBits.Tw) != 0;
        if (h.Privilege < PrivilegeLevel.Machine && tw) return IllegalInstruction(h, ref i, idx);
        if (h.Virtualized && (h.Privilege == PrivilegeLevel.User || (h.Hstatus & HstatusBits.Vtw) != 0))
            return VirtualInstruction(h, ref i, idx);
        if (h.Privilege == PrivilegeLevel.User) return IllegalInstruction(h, ref i, idx);
        h.WaitingForInterrupt = true;
        // A WFI whose interrupt is already pending does not wait, and software loops on it (OpenSBI
        // 1.1 waits for HSM hart_start that way with an IPI still pending): hand the thread on.
        if (h.YieldOnPause) h.Yield();
        return h.ExitAfter(ref i, idx);
    }

    [Instruction("sfence.vma", "0001001 ..... ..... 000 00000 1110011", "xs1, xs2", Flow = ControlFlow.ChangesState)]
    private static int SfenceVma(Hart h, ref Insn i, int idx)
    {
        if (h.Virtualized && (h.Privilege == PrivilegeLevel.User || (h.Hstatus & HstatusBits.Vtvm) != 0))
            return VirtualInstruction(h, ref i, idx);
        if (h.Privilege == PrivilegeLevel.User
            || (h.Privilege == PrivilegeLevel.Supervisor && !h.Virtualized && (h.Mstatus & MstatusBits.Tvm) != 0))
            return IllegalInstruction(h, ref i, idx);
        // With an address, only that page's translations (in every address space and mode: the TLBs
        // keep no ASIDs or VMIDs; in V mode the address is a guest virtual one, and the entries of a
        // V-mode translation are kept by its VS-stage page size).
        if (i.Rs1 != 0) h.FlushTlbPage(h.X[i.Rs1]);
        else h.FlushTlb();
        return h.ExitAfter(ref i, idx);
    }
}
