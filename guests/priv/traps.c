/* Synchronous exceptions taken in M-mode: illegal instruction (mtval = instruction bits),
   ecall from M/S/U (causes 11/9/8), ebreak (cause 3, mtval 0), load/store access faults on
   unmapped physical addresses (causes 5/7, mtval = address), mepc/mstatus on trap.
   Also writes a signature (trap causes and tvals) between begin_signature/end_signature.
   QEMU 7.2 notes: mtval for an illegal instruction holds the instruction bits when the
   decoder rejects it (e.g. 0xffffffff, a 16-bit 0x0000 reports 0); for an access to a
   nonexistent CSR QEMU 7.2 reports mtval = 0, so the CSR case only checks the cause. */
#include "test.h"

/* signature region: 16 doublewords, laid out explicitly so end_signature follows it */
__asm__(".pushsection .data.signature, \"aw\"\n .align 4\n .globl begin_signature\n begin_signature:\n"
        " .fill 16, 8, 0\n .globl end_signature\n end_signature:\n .popsection\n");
extern uint64_t begin_signature[16], end_signature[];
static int sig_n;
static void sig(uint64_t v) { begin_signature[sig_n++] = v; }

static long do_ecall(long arg)
{
    __asm__ volatile("ecall");
    return arg + 1;
}

static long do_ebreak(long arg)
{
    __asm__ volatile("ebreak");
    return arg;
}

int main(void)
{
    uint64_t pc;
    /* illegal instruction: all-ones word */
    trap_reset();
    __asm__ volatile("1: .word 0xffffffff\n la %0, 1b" : "=r"(pc));
    CHECK("illegal cause", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("illegal mtval", trap.tval, 0xffffffff);
    CHECK("illegal mepc", trap.epc, pc);
    sig(trap.cause); sig(trap.tval);
    /* unimplemented opcode (custom-0) */
    trap_reset();
    __asm__ volatile(".word 0x0000000b");
    CHECK("custom-0 illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("custom-0 mtval", trap.tval, 0x0000000b);
    /* reserved compressed encoding 0x0000 */
    trap_reset();
    __asm__ volatile(".2byte 0x0000\n .2byte 0x0001");   /* illegal, then c.nop */
    CHECK("c.illegal cause", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    /* nonexistent CSR */
    trap_reset();
    __asm__ volatile("csrr t0, 0x7ff" ::: "t0");
    CHECK("bad csr cause", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    /* mret/sret/wfi are fine in M; an S-mode CSR doesn't trap in M */
    trap_reset();
    (void)read_csr(sstatus);
    CHECK("sstatus in M", trap.count, 0);

    /* trap sets MPP=M, MPIE=old MIE, MIE=0 */
    set_csr(mstatus, MSTATUS_MIE);
    trap_reset();
    __asm__ volatile("1: ecall\n la %0, 1b" : "=r"(pc));
    CHECK("ecall M cause", trap.cause, CAUSE_MACHINE_ECALL);
    CHECK("ecall M mtval", trap.tval, 0);
    CHECK("ecall mepc", trap.epc, pc);
    CHECK("trap mstatus.MPP=M", (trap.mstatus & MSTATUS_MPP) >> 11, 3);
    CHECK("trap mstatus.MPIE=1", !!(trap.mstatus & MSTATUS_MPIE), 1);
    CHECK("trap mstatus.MIE=0", !!(trap.mstatus & MSTATUS_MIE), 0);
    CHECK("mret restores MIE", !!(read_csr(mstatus) & MSTATUS_MIE), 1);
    clear_csr(mstatus, MSTATUS_MIE);
    sig(trap.cause);

    trap_reset();
    CHECK("ecall S returns", run_in_mode(PRV_S, do_ecall, 41), 42);
    CHECK("ecall S cause", trap.cause, CAUSE_SUPERVISOR_ECALL);
    CHECK("ecall S MPP", (trap.mstatus & MSTATUS_MPP) >> 11, 1);
    sig(trap.cause);
    trap_reset();
    CHECK("ecall U returns", run_in_mode(PRV_U, do_ecall, 7), 8);
    CHECK("ecall U cause", trap.cause, CAUSE_USER_ECALL);
    CHECK("ecall U MPP", (trap.mstatus & MSTATUS_MPP) >> 11, 0);
    sig(trap.cause);

    /* ebreak */
    trap_reset();
    __asm__ volatile(".option push\n.option norvc\n 1: ebreak\n la %0, 1b\n.option pop" : "=r"(pc));
    CHECK("ebreak cause", trap.cause, CAUSE_BREAKPOINT);
    CHECK("ebreak mepc", trap.epc, pc);
    trap_reset();
    run_in_mode(PRV_U, do_ebreak, 0);
    CHECK("ebreak from U", trap.cause, CAUSE_BREAKPOINT);
    sig(trap.cause);

    /* access faults on unmapped physical addresses */
    uint64_t bad = 0x1000000000ull, r;
    trap_reset();
    __asm__ volatile("ld %0, 0(%1)" : "=r"(r) : "r"(bad) : "memory");
    CHECK("load access fault", trap.cause, CAUSE_LOAD_ACCESS);
    CHECK("load access fault mtval", trap.tval, bad);
    sig(trap.cause); sig(trap.tval);
    trap_reset();
    __asm__ volatile("sw %0, 16(%1)" :: "r"(r), "r"(bad) : "memory");
    CHECK("store access fault", trap.cause, CAUSE_STORE_ACCESS);
    CHECK("store access fault mtval", trap.tval, bad + 16);
    sig(trap.cause); sig(trap.tval);
    trap_reset();
    __asm__ volatile("amoadd.w %0, %0, (%1)" : "+r"(r) : "r"(bad) : "memory");
    /* spec: store/AMO access fault (7); QEMU 7.2 reports a load access fault (5) */
    CHECK("amo access fault (7, QEMU 7.2: 5)", trap.cause == CAUSE_STORE_ACCESS || trap.cause == CAUSE_LOAD_ACCESS, 1);
    /* below RAM, between devices */
    trap_reset();
    __asm__ volatile("lw %0, 0(%1)" : "=r"(r) : "r"(0x70000000ull) : "memory");
    CHECK("load hole access fault", trap.cause, CAUSE_LOAD_ACCESS);
    /* instruction access fault: jump to an unmapped address (handler returns to ra) */
    trap_reset();
    __asm__ volatile("jalr ra, 0(%0)" :: "r"(bad) : "ra", "memory");
    CHECK("fetch access fault", trap.cause, CAUSE_FETCH_ACCESS);
    CHECK("fetch access fault mtval", trap.tval, bad);
    CHECK("fetch access fault mepc", trap.epc, bad);
    sig(trap.cause);
    return test_result();
}
