/* Trap delegation (medeleg/mideleg) to S-mode, stvec direct and vectored mode,
   sret/mret privilege transitions (SPP/SPIE, MPP/MPIE). */
#include "test.h"

#define S_COUNT s_trap_info[3]
#define S_CAUSE s_trap_info[0]
volatile uint64_t svec_hits[8];
extern char s_vector_table[];

__asm__(".text\n.option push\n.option norvc\n.align 6\n s_vector_table:\n"
        " j s_trap_entry\n j svt1\n j s_trap_entry\n j s_trap_entry\n j s_trap_entry\n j s_trap_entry\n"
        "svt1: csrw sscratch, t0\n la t0, svec_hits\n sd t0, 8(t0)\n csrr t0, sscratch\n j s_trap_entry\n"
        ".option pop\n");

static long u_ecall_illegal(long a)
{
    __asm__ volatile("ecall\n .word 0xffffffff\n ebreak");
    return a;
}

static long s_ecall(long a)
{
    __asm__ volatile("ecall");
    return a;
}

/* ecall (delegated to S), then tell M to stop delegating cause 9 (via an illegal
   M-CSR access that the hook handles) so the run_in_mode return ecall reaches M. */
static long s_ecall_undeleg(long a)
{
    __asm__ volatile("ecall\n csrr zero, mscratch");
    return a;
}

static int undeleg_hook(struct trap_frame *f, uint64_t cause)
{
    if (cause == CAUSE_ILLEGAL_INSTRUCTION) {
        write_csr(medeleg, 0);
        f->x[0] += 4;
        return 1;
    }
    return 0;
}

static long s_soft_irq(long a)
{
    __asm__ volatile("csrs sie, %0\n csrs sstatus, %1\n csrs sip, %0\n nop\n nop\n csrc sstatus, %1"
                     :: "r"((uint64_t)MIP_SSIP), "r"((uint64_t)MSTATUS_SIE));
    return a;
}

static long s_soft_irq_masked(long a)
{
    /* SIE=0 in S-mode: delegated interrupt stays pending */
    __asm__ volatile("csrs sie, %0\n csrc sstatus, %1\n csrs sip, %0\n nop\n nop" ::
                     "r"((uint64_t)MIP_SSIP), "r"((uint64_t)MSTATUS_SIE));
    uint64_t p;
    __asm__ volatile("csrr %0, sip\n csrc sip, %1" : "=r"(p) : "r"((uint64_t)MIP_SSIP));
    return p;
}

static long s_sret_to_u(long a)
{
    /* sret with SPP=U, SPIE=1 -> continue in U-mode, then ecall (goes to M) */
    __asm__ volatile("la t0, 1f\n csrw sepc, t0\n csrc sstatus, %0\n csrs sstatus, %1\n sret\n 1: ecall"
                     :: "r"((uint64_t)MSTATUS_SPP), "r"((uint64_t)MSTATUS_SPIE) : "t0");
    return a;
}

static long s_sstatus(long a)
{
    return read_csr(sstatus);
}

int main(void)
{
    write_csr(stvec, (uint64_t)s_trap_entry);
    CHECK("stvec", read_csr(stvec), (uint64_t)s_trap_entry);
    /* medeleg */
    write_csr(medeleg, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_ILLEGAL_INSTRUCTION));
    CHECK("medeleg bits", read_csr(medeleg) & 0xffff, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_ILLEGAL_INSTRUCTION));
    trap_reset(); s_trap_reset();
    run_in_mode(PRV_U, u_ecall_illegal, 0);
    CHECK("delegated traps in S", S_COUNT, 2);
    CHECK("last delegated cause", S_CAUSE, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("delegated stval", s_trap_info[1], 0xffffffff);
    CHECK("non-delegated ebreak in M", trap.count, 1);
    CHECK("non-delegated cause", trap.cause, CAUSE_BREAKPOINT);
    /* S-mode traps delegated to S stay in S */
    write_csr(medeleg, 1 << CAUSE_SUPERVISOR_ECALL);
    trap_reset(); s_trap_reset();
    trap_hook = undeleg_hook;
    run_in_mode(PRV_S, s_ecall_undeleg, 0);
    trap_hook = 0;
    CHECK("S ecall delegated", S_CAUSE, CAUSE_SUPERVISOR_ECALL);
    CHECK("S ecall delegated count", S_COUNT, 1);
    CHECK("S ecall not in M", trap.count == 1 && trap.cause == CAUSE_ILLEGAL_INSTRUCTION, 1);
    /* M-mode traps are never delegated */
    write_csr(medeleg, 1 << CAUSE_MACHINE_ECALL);
    trap_reset(); s_trap_reset();
    __asm__ volatile("ecall");
    CHECK("M ecall stays in M", trap.cause, CAUSE_MACHINE_ECALL);
    CHECK("M ecall not in S", S_COUNT, 0);
    write_csr(medeleg, 0);
    /* not delegated -> M even from S */
    trap_reset(); s_trap_reset();
    run_in_mode(PRV_S, s_ecall, 0);
    CHECK("S ecall undelegated", trap.cause, CAUSE_SUPERVISOR_ECALL);
    CHECK("S ecall undelegated S count", S_COUNT, 0);

    /* mideleg: supervisor software interrupt handled in S */
    write_csr(mideleg, MIP_SSIP);
    CHECK("mideleg SSIP", read_csr(mideleg) & MIP_SSIP, MIP_SSIP);
    trap_reset(); s_trap_reset();
    run_in_mode(PRV_S, s_soft_irq, 0);
    CHECK("SSI delegated", S_CAUSE, (1ull << 63) | 1);
    CHECK("SSI count", S_COUNT, 1);
    CHECK("SSI not in M", trap.count, 0);
    s_trap_reset();
    CHECK("SSI masked by SIE stays pending", run_in_mode(PRV_S, s_soft_irq_masked, 0) & MIP_SSIP, MIP_SSIP);
    CHECK("SSI masked not taken", S_COUNT, 0);
    /* stvec vectored: interrupt 1 -> base + 4 */
    write_csr(stvec, (uint64_t)s_vector_table | 1);
    CHECK("stvec vectored", read_csr(stvec), (uint64_t)s_vector_table | 1);
    s_trap_reset();
    run_in_mode(PRV_S, s_soft_irq, 0);
    CHECK("vectored SSI via slot 1", svec_hits[1] != 0, 1);
    CHECK("vectored SSI cause", S_CAUSE, (1ull << 63) | 1);
    /* exceptions in vectored stvec -> base */
    write_csr(medeleg, 1 << CAUSE_USER_ECALL);
    svec_hits[1] = 0; s_trap_reset();
    run_in_mode(PRV_U, u_ecall_illegal, 0);   /* illegal + ebreak go to M */
    CHECK("vectored exception to base", S_CAUSE, CAUSE_USER_ECALL);
    CHECK("vectored exception no slot", svec_hits[1], 0);
    write_csr(medeleg, 0);
    write_csr(mideleg, 0);
    write_csr(stvec, (uint64_t)s_trap_entry);
    /* interrupt not delegated: SSIP pending in M with MIE, msie -> M handles cause 1 */

    /* sret to U */
    trap_reset();
    run_in_mode(PRV_S, s_sret_to_u, 0);
    CHECK("sret to U then ecall", trap.cause, CAUSE_USER_ECALL);
    CHECK("sret set SIE from SPIE", !!(trap.mstatus & MSTATUS_SIE), 1);
    CHECK("sret cleared SPP", !!(trap.mstatus & MSTATUS_SPP), 0);
    clear_csr(mstatus, MSTATUS_SIE | MSTATUS_SPIE);
    /* mret: MPP -> mode, MPIE -> MIE, MPIE := 1, MPP := U (least privileged) */
    uint64_t st = run_in_mode(PRV_S, s_sstatus, 0);
    CHECK("S sees SPP/SIE clear", st & (MSTATUS_SIE | MSTATUS_SPP), 0);
    uint64_t ms;
    __asm__ volatile("li t0, 0x1800\n csrs mstatus, t0\n li t0, 0x80\n csrs mstatus, t0\n li t0, 0x8\n csrc mstatus, t0\n"
                     " la t0, 1f\n csrw mepc, t0\n mret\n 1: csrr %0, mstatus" : "=r"(ms) :: "t0");
    CHECK("mret MIE=MPIE", !!(ms & MSTATUS_MIE), 1);
    CHECK("mret MPIE=1", !!(ms & MSTATUS_MPIE), 1);
    CHECK("mret MPP=U", ms & MSTATUS_MPP, 0);
    clear_csr(mstatus, MSTATUS_MIE);
    /* (MPP is WARL and 2 is reserved; QEMU 7.2 nevertheless stores MPP=2, so not tested) */
    return test_result();
}
