/* The integer loop of guests/bench/intloop.S, for QEMU's virt machine (no HTIF there):
   the same 8-instruction body, 200M iterations; the checksum decides the SiFive test
   device's verdict (0x5555 pass, 0x3333 | 1 << 16 fail). */
  .globl _start
_start:
  li t0, 200000000
  li a0, 0
  li a1, 1
  li a2, 0x9e3779b9
  .option push
  .option norvc
  .align 3
1:
  add  a0, a0, a1
  xor  a3, a0, a2
  slli a4, a3, 3
  srli a5, a4, 7
  or   a1, a5, t0
  andi a1, a1, 0xff
  addi t0, t0, -1
  bnez t0, 1b
  .option pop
  li t1, 0x100000
  li t2, 0x8321558a0
  li t3, 0x5555
  beq a0, t2, 2f
  li t3, 0x13333
2:
  sw t3, 0(t1)
3: j 3b
