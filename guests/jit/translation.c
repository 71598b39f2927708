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

/* Calls a translator follows inside one page: a loop calling a helper with jal (the region goes on
   into the helper and back after its return), and now and then a helper that returns elsewhere
   (past the instruction after its call), which the region must notice and leave for. */
__asm__(
    ".section .trace_code,\"ax\",@progbits\n"
    ".balign 4096\n"
    ".option push\n"
    ".option norvc\n"
    /* trace_calls(a0 = n): the sum over i = n..1 of helper(i) = 3i + 1, plus 7 for each i divisible by 4 */
    ".globl trace_calls\n"
    "trace_calls:\n"
    "  addi sp, sp, -16\n"
    "  sd ra, 8(sp)\n"
    "  li a2, 0\n"
    "  mv a3, a0\n"
    "3:\n"
    "  mv a0, a3\n"
    "  jal ra, trace_helper\n"
    "  add a2, a2, a0\n"
    "  andi t0, a3, 3\n"
    "  bnez t0, 4f\n"
    "  jal ra, trace_skip\n"
    "  addi a2, a2, 1000\n" /* skipped: trace_skip returns past it */
    "  addi a2, a2, 7\n"
    "4:\n"
    "  addi a3, a3, -1\n"
    "  bnez a3, 3b\n"
    "  mv a0, a2\n"
    "  ld ra, 8(sp)\n"
    "  addi sp, sp, 16\n"
    "  ret\n"
    "trace_helper:\n"
    "  slli t1, a0, 1\n"
    "  add a0, a0, t1\n"
    "  addi a0, a0, 1\n"
    "  ret\n"
    "trace_skip:\n"
    "  addi ra, ra, 4\n"
    "  ret\n"
    ".option pop\n"
    ".text\n");

/* An instruction that straddles two pages, run hot, then its second half rewritten (in the second
   page, whose code is only the loop's tail): the region holding the first half must see it. */
__asm__(
    ".section .straddle_code,\"awx\",@progbits\n"
    ".option push\n"
    ".option norvc\n"
    ".option norelax\n" /* so that .balign pads exactly and .org can place the instruction */
    ".balign 4096\n"
    /* straddle_loop(a0 = acc, a1 = n): n times acc += 1 (the straddling addi's immediate) */
    ".globl straddle_loop\n"
    "straddle_loop:\n"
    "  j 5f\n"
    "  .org 4096 - 10\n"
    "5:\n"
    "  addi a1, a1, -1\n"
    "  nop\n"
    ".globl straddle_insn\n"
    "straddle_insn:\n"
    "  addi a0, a0, 1\n" /* bytes 4094..4097: half in each page */
    "  bnez a1, 5b\n"
    "  ret\n"
    ".option pop\n"
    ".text\n");

/* A loop over three pages, as regions that span pages see it: its head at the end of one page
   falls through into the next, which jumps to a third and back, and branches back to the first.
   Then the code of the second and third pages is rewritten while the loop is hot (the region
   starts on the first: it must notice pages other than its own change). */
__asm__(
    ".section .cross_code,\"awx\",@progbits\n"
    ".option push\n"
    ".option norvc\n"
    ".option norelax\n"
    ".balign 4096\n"
    /* cross_loop(a0 = acc, a1 = n): n times acc += 1 + cross_insn's 2 + cross_far's 4 */
    ".globl cross_loop\n"
    "cross_loop:\n"
    "  j 6f\n"
    "  .org 4096 - 8\n"
    "6:\n"
    "  addi a0, a0, 1\n"
    "  addi a1, a1, -1\n" /* the last instruction of the first page */
    ".globl cross_insn\n"
    "cross_insn:\n"
    "  addi a0, a0, 2\n"
    "  j cross_far\n"
    "7:\n"
    "  bnez a1, 6b\n"
    "  ret\n"
    ".balign 4096\n"
    ".globl cross_far\n"
    "cross_far:\n"
    "  addi a0, a0, 4\n"
    "  j 7b\n"
    ".option pop\n"
    ".text\n");

/* A small function on the page after its caller's, called hot (the caller's region takes it in,
   with the call and the return), then rewritten while hot: the region must notice that page's change. */
__asm__(
    ".section .leaf_code,\"awx\",@progbits\n"
    ".option push\n"
    ".option norvc\n"
    ".option norelax\n"
    ".balign 4096\n"
    /* leaf_loop(a0 = acc, a1 = n): n calls of leaf_add (acc += leaf_add's 3) */
    ".globl leaf_loop\n"
    "leaf_loop:\n"
    "  addi sp, sp, -16\n"
    "  sd ra, 8(sp)\n"
    "8:\n"
    "  jal ra, leaf_add\n"
    "  addi a1, a1, -1\n"
    "  bnez a1, 8b\n"
    "  ld ra, 8(sp)\n"
    "  addi sp, sp, 16\n"
    "  ret\n"
    ".balign 4096\n"
    ".globl leaf_add\n"
    "leaf_add:\n"
    "  addi a0, a0, 3\n"
    "  ret\n"
    ".option pop\n"
    ".text\n");

extern uint64_t leaf_loop(uint64_t acc, uint64_t n);
extern char leaf_add[];
extern uint64_t cross_loop(uint64_t acc, uint64_t n);
extern char cross_insn[], cross_far[];
extern uint64_t straddle_loop(uint64_t acc, uint64_t n);
extern char straddle_insn[];
extern uint64_t trace_calls(uint64_t n);
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

    /* 3. Calls followed within a page, and a return that goes elsewhere than predicted. */
    for (uint64_t n = 1000; n <= 3000; n += 1000) {
        uint64_t sum = 0;
        for (uint64_t i = 1; i <= n; i++) sum += 3 * i + 1 + (i % 4 == 0 ? 7 : 0);
        CHECK("calls followed in a region", trace_calls(n), sum);
    }

    /* 4. An instruction straddling two pages, run hot, then its second half (the immediate) rewritten. */
    CHECK("straddle at the page end", (uint64_t)straddle_insn & 0xfff, 0xffe);
    CHECK("straddling instruction run hot", straddle_loop(0, 20000), 20000);
    CHECK("and again", straddle_loop(5, 20000), 20005);
    *(volatile uint16_t *)(straddle_insn + 2) = 0x0025; /* addi a0, a0, 2 */
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("second half rewritten", straddle_loop(0, 20000), 40000);
    *(volatile uint16_t *)(straddle_insn + 2) = 0x0015;
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("and restored", straddle_loop(0, 20000), 20000);

    /* 5. A loop over three pages, then the code of its second and third pages rewritten while hot. */
    CHECK("loop over three pages", cross_loop(0, 20000), 20000 * 7);
    CHECK("its second page", (uint64_t)cross_insn & 0xfff, 0);
    *(volatile uint32_t *)cross_insn = addi_a0(3);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("second page rewritten", cross_loop(0, 20000), 20000 * 8);
    *(volatile uint32_t *)cross_far = addi_a0(5);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("third page rewritten", cross_loop(0, 20000), 20000 * 9);
    *(volatile uint32_t *)cross_insn = addi_a0(2);
    *(volatile uint32_t *)cross_far = addi_a0(4);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("and restored", cross_loop(1, 20000), 20000 * 7 + 1);

    /* 6. A small function on the next page, called hot, then rewritten while hot. */
    CHECK("its own page", ((uint64_t)leaf_add & 0xfff) == 0 && ((uint64_t)leaf_add >> 12) == ((uint64_t)leaf_loop >> 12) + 1, 1);
    CHECK("small function called hot", leaf_loop(0, 20000), 20000 * 3);
    *(volatile uint32_t *)leaf_add = addi_a0(5);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("small function rewritten", leaf_loop(0, 20000), 20000 * 5);
    *(volatile uint32_t *)leaf_add = addi_a0(3);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("and restored", leaf_loop(1, 20000), 20000 * 3 + 1);

    /* 7. A fault in the middle of a hot loop: precise pc and tval, the loop continues after it. */
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
