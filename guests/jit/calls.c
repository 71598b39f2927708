/* Calls and returns inside one code page, run hot: the loop, the call and the callee translate as
   one region, and the callee's return goes on in translated code at the instruction after the
   call (the region compares the return address with its calls' return points) instead of leaving
   the region at every return. The same for a small function on the next page, which the
   caller's region takes in. TranslatorTests counts the region entries; on its own the program
   checks its sum, as on QEMU. */
#include "test.h"

__asm__(
    ".section .calls_code,\"ax\",@progbits\n"
    ".balign 4096\n"
    /* calls_loop(a0 = n): n calls of calls_step, which adds 3 to a1; returns a1 */
    ".globl calls_loop\n"
    "calls_loop:\n"
    "  addi sp, sp, -16\n"
    "  sd ra, 8(sp)\n"
    "  li a1, 0\n"
    "1:\n"
    "  jal ra, calls_step\n"
    "  addi a0, a0, -1\n"
    "  bnez a0, 1b\n"
    "  mv a0, a1\n"
    "  ld ra, 8(sp)\n"
    "  addi sp, sp, 16\n"
    "  ret\n"
    "calls_step:\n"
    "  addi a1, a1, 3\n"
    "  ret\n"
    /* calls_far_loop(a0 = n): n calls of calls_far_step, on the next page, which adds 5 to a1 */
    ".globl calls_far_loop\n"
    "calls_far_loop:\n"
    "  addi sp, sp, -16\n"
    "  sd ra, 8(sp)\n"
    "  li a1, 0\n"
    "2:\n"
    "  jal ra, calls_far_step\n"
    "  addi a0, a0, -1\n"
    "  bnez a0, 2b\n"
    "  mv a0, a1\n"
    "  ld ra, 8(sp)\n"
    "  addi sp, sp, 16\n"
    "  ret\n"
    ".balign 4096\n"
    ".globl calls_far_step\n"
    "calls_far_step:\n"
    "  addi a1, a1, 5\n"
    "  ret\n"
    ".text\n");

extern uint64_t calls_loop(uint64_t n);
extern uint64_t calls_far_loop(uint64_t n);
extern char calls_far_step[];

int main(void)
{
    CHECK("200000 calls in one page", calls_loop(200000), 600000);
    CHECK("the small function on the next page", ((uint64_t)calls_far_step >> 12) == ((uint64_t)calls_far_loop >> 12) + 1, 1);
    CHECK("200000 calls of a small function on the next page", calls_far_loop(200000), 1000000);
    return test_result();
}
