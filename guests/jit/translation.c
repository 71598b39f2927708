/* What a binary translator gets wrong: code rewritten after it ran hot (with and without
   fence.i, including a loop that rewrites its own body), traps in the middle of hot code, and
   loops long enough to run translated. Self-checking; runs on QEMU as on Isomorph with either engine. */
#include "test.h"

/* The code under test lives alone in a writable 4 KiB page, so the stores that patch it are the
   only stores to it. Everything is 32-bit (norvc) so one word store replaces one instruction. */
__asm__(
    ".section .smc_code,\"awx\",@progbits\n"
    ".balign 4096\n"
    ".option push\n"
    ".option norvc\n"
    /* smc_add(a0): a0 + 1, until patched */
    ".globl smc_add\n"
    "smc_add:\n"
    "  addi a0, a0, 1\n"
    "  ret\n"
    /* smc_loop(a0 = acc, a1 = n, a2 = m): n iterations of acc += 1, where the loop patches its own
       addi to acc += 2 when m iterations are left, without fence.i: n + m. Restores itself. */
    ".globl smc_loop\n"
    "smc_loop:\n"
    "  mv t0, a1\n"
    "  la t3, smc_slot\n"
    "  li t2, 0x00250513\n" /* addi a0, a0, 2 */
    "smc_slot:\n"
    "  addi a0, a0, 1\n"
    "  addi t0, t0, -1\n"
    "  bne t0, a2, 1f\n"
    "  sw t2, 0(t3)\n"
    "1:\n"
    "  bnez t0, smc_slot\n"
    "  li t2, 0x00150513\n" /* addi a0, a0, 1 */
    "  sw t2, 0(t3)\n"
    "  fence.i\n"
    "  ret\n"
    /* sum_loads(a0 = pointers, a1 = n): the sum of *a0[i]; a faulting load is skipped by the trap
       handler (rd keeps its value, 0). */
    ".globl sum_loads\n"
    "sum_loads:\n"
    "  li a2, 0\n"
    "2:\n"
    "  ld t0, 0(a0)\n"
    "  li t1, 0\n"
    ".globl faulting_load\n"
    "faulting_load:\n"
    "  ld t1, 0(t0)\n"
    "  add a2, a2, t1\n"
    "  addi a0, a0, 8\n"
    "  addi a1, a1, -1\n"
    "  bnez a1, 2b\n"
    "  mv a0, a2\n"
    "  ret\n"
    ".option pop\n"
    ".text\n");

extern uint64_t smc_add(uint64_t);
extern uint64_t smc_loop(uint64_t acc, uint64_t n, uint64_t m);
extern uint64_t sum_loads(uint64_t **pointers, uint64_t n);
extern char faulting_load[];

static uint32_t addi_a0(int imm) { return ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (10 << 7) | 0x13; }

#define HOT 5000
#define N_POINTERS 3000

static uint64_t values[N_POINTERS];
static uint64_t *pointers[N_POINTERS];

int main(void)
{
    /* 1. A function called hot, then rewritten (with fence.i), several times. */
    for (int version = 1; version <= 4; version++) {
        *(volatile uint32_t *)smc_add = addi_a0(version * 10);
        __asm__ volatile("fence.i" ::: "memory");
        uint64_t sum = 0;
        for (int i = 0; i < HOT; i++) sum += smc_add(i);
        CHECK("hot function after rewrite", sum, (uint64_t)HOT * (HOT - 1) / 2 + (uint64_t)HOT * version * 10);
    }

    /* 2. A hot loop that rewrites its own body (no fence.i: stores to code are seen at once here). */
    for (int run = 0; run < 3; run++)
        CHECK("loop rewriting itself", smc_loop(0, 20000, 7000 + run), 20000 + 7000 + run);

    /* 3. A fault in the middle of a hot loop: precise pc and tval, the loop continues after it. */
    uint64_t expected = 0;
    for (int i = 0; i < N_POINTERS; i++) {
        values[i] = (uint64_t)i * 3 + 1;
        pointers[i] = &values[i];
        expected += values[i];
    }
    uint64_t *bad = (uint64_t *)0x10; /* no RAM or device there: load access fault */
    expected -= values[2500];
    pointers[2500] = bad;
    trap_reset();
    CHECK("sum with a faulting load", sum_loads(pointers, N_POINTERS), expected);
    CHECK("one trap", trap.count, 1);
    CHECK("trap cause", trap.cause, CAUSE_LOAD_ACCESS);
    CHECK("trap pc", trap.epc, (uint64_t)faulting_load);
    CHECK("trap tval", trap.tval, (uint64_t)bad);
    return test_result();
}
