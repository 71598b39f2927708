/* mstatus trap-control bits: TVM (satp / sfence.vma in S trap), TW (wfi in S traps),
   TSR (sret in S traps), and FS: Off makes FP instructions and FP CSRs illegal,
   FP state writes set FS=Dirty and SD. */
#include "test.h"

static long s_satp(long a) { return read_csr(satp); }
static long s_sfence(long a) { __asm__ volatile("sfence.vma"); return a; }
/* QEMU 7.2 bug: an illegal-instruction trap on wfi reports mepc = address of wfi + 4
   (the spec requires the address of the wfi).  A nop after each wfi keeps the default
   handler's "skip one instruction" correct either way. */
static long s_wfi(long a) { __asm__ volatile("wfi\n nop"); return a; }
static long s_sret(long a) { __asm__ volatile("la t0, 1f\n csrw sepc, t0\n sret\n 1:" ::: "t0"); return a; }
static long u_wfi(long a) { __asm__ volatile("wfi\n nop"); return a; }

static uint64_t fs(void) { return read_csr(mstatus) & MSTATUS_FS; }

int main(void)
{
    /* TVM */
    trap_reset();
    run_in_mode(PRV_S, s_satp, 0);
    run_in_mode(PRV_S, s_sfence, 0);
    CHECK("TVM=0: satp/sfence ok in S", trap.count, 0);
    set_csr(mstatus, MSTATUS_TVM);
    trap_reset();
    run_in_mode(PRV_S, s_satp, 0);
    CHECK("TVM=1: satp in S illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    run_in_mode(PRV_S, s_sfence, 0);
    CHECK("TVM=1: sfence.vma in S illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    (void)read_csr(satp);
    __asm__ volatile("sfence.vma");
    CHECK("TVM does not affect M", trap.count, 0);
    clear_csr(mstatus, MSTATUS_TVM);
    /* TW */
    set_csr(mstatus, MSTATUS_TW);
    trap_reset();
    run_in_mode(PRV_S, s_wfi, 0);
    CHECK("TW=1: wfi in S illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    run_in_mode(PRV_U, u_wfi, 0);
    CHECK("TW=1: wfi in U illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    clear_csr(mstatus, MSTATUS_TW);
    /* wfi in U with TW=0: QEMU 7.2 raises illegal instruction (allowed by the spec) */
    trap_reset();
    run_in_mode(PRV_U, u_wfi, 0);
    CHECK("TW=0: wfi in U illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    /* TSR */
    trap_reset();
    run_in_mode(PRV_S, s_sret, 0);
    CHECK("TSR=0: sret in S ok", trap.count, 0);
    set_csr(mstatus, MSTATUS_TSR);
    trap_reset();
    run_in_mode(PRV_S, s_sret, 0);
    CHECK("TSR=1: sret in S illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    clear_csr(mstatus, MSTATUS_TSR);
    /* sret / mret in U are illegal */
    trap_reset();
    run_in_mode(PRV_U, s_sret, 0);
    CHECK("sret in U illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);

    /* FS */
    clear_csr(mstatus, MSTATUS_FS);
    CHECK("FS=Off", fs(), 0);
    CHECK("SD=0 when FS=Off", read_csr(mstatus) >> 63, 0);
    trap_reset();
    __asm__ volatile("fadd.d ft0, ft0, ft0");
    CHECK("FS=Off: fadd.d illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    __asm__ volatile("fmv.x.d t0, ft0" ::: "t0");
    CHECK("FS=Off: fmv.x.d illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    __asm__ volatile("csrr t0, fcsr" ::: "t0");
    CHECK("FS=Off: fcsr illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    __asm__ volatile("fld ft0, 0(sp)");
    CHECK("FS=Off: fld illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    __asm__ volatile(".option push\n.option rvc\n c.fldsp ft0, 0(sp)\n.option pop");
    CHECK("FS=Off: c.fldsp illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("FS still Off", fs(), 0);
    /* Initial -> Dirty on FP register write */
    set_csr(mstatus, MSTATUS_FS_INITIAL);
    trap_reset();
    __asm__ volatile("fmv.d.x ft0, zero");
    CHECK("FS=Initial: no trap", trap.count, 0);
    CHECK("FS Dirty after fmv.d.x", fs(), MSTATUS_FS_DIRTY);
    CHECK("SD set", read_csr(mstatus) >> 63, 1);
    /* Clean -> Dirty via fcsr write */
    clear_csr(mstatus, MSTATUS_FS);
    set_csr(mstatus, MSTATUS_FS_CLEAN);
    CHECK("FS Clean", fs(), MSTATUS_FS_CLEAN);
    CHECK("SD clear when Clean", read_csr(mstatus) >> 63, 0);
    write_csr(fflags, 1);
    CHECK("FS Dirty after fflags write", fs(), MSTATUS_FS_DIRTY);
    /* Clean -> Dirty via arithmetic */
    clear_csr(mstatus, MSTATUS_FS);
    set_csr(mstatus, MSTATUS_FS_CLEAN);
    __asm__ volatile("fadd.d ft1, ft0, ft0");
    CHECK("FS Dirty after fadd", fs(), MSTATUS_FS_DIRTY);
    CHECK("sstatus.SD mirrors", read_csr(sstatus) >> 63, 1);
    CHECK("sstatus.FS mirrors", read_csr(sstatus) & MSTATUS_FS, MSTATUS_FS_DIRTY);
    write_csr(fcsr, 0);
    return test_result();
}
