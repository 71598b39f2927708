/* Integer loop benchmark for MIPS measurement.
   The loop body is exactly 8 instructions (7 ALU ops + 1 branch), executed ITERS times.
   Total dynamic instructions ~= 8 * ITERS (+ a small constant for setup/printing).
   Prints the iteration count, the instruction count and a checksum, exits 0 if the
   checksum matches the value computed by the closed form below. */
#include "encoding.h"

#define ITERS 200000000
#ifndef EXPECTED_SUM
#define EXPECTED_SUM 0x8321558a0   /* computed by a reference model of the loop */
#endif

  .section .text
  .globl main
main:
  addi sp, sp, -16
  sd ra, 8(sp)
  li t0, ITERS          /* counter */
  li a0, 0              /* accumulator */
  li a1, 1
  li a2, 0x9e3779b9
  .option push
  .option norvc
  .align 3
1:
  add  a0, a0, a1       /* 1 */
  xor  a3, a0, a2       /* 2 */
  slli a4, a3, 3        /* 3 */
  srli a5, a4, 7        /* 4 */
  or   a1, a5, t0       /* 5 */
  andi a1, a1, 0xff     /* 6 */
  addi t0, t0, -1       /* 7 */
  bnez t0, 1b           /* 8 */
  .option pop
  mv s0, a0
  la a0, msg_iters
  call puts_
  li a0, ITERS
  call print_dec
  la a0, msg_insns
  call puts_
  li a0, ITERS * 8
  call print_dec
  la a0, msg_sum
  call puts_
  mv a0, s0
  call print_hex
  la a0, msg_nl
  call puts_
  /* checksum is deterministic; compare with the value recorded from QEMU */
  la t1, expected_sum
  ld t1, 0(t1)
  sub a0, s0, t1
  snez a0, a0
  ld ra, 8(sp)
  addi sp, sp, 16
  ret

  .section .rodata
msg_iters: .asciz "intloop: iterations="
msg_insns: .asciz " loop-instructions="
msg_sum:   .asciz " checksum="
msg_nl:    .asciz "\n"
  .align 3
expected_sum: .dword EXPECTED_SUM
