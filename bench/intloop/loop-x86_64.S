/* The same loop natively on x86-64: each RISC-V instruction maps to one or two host
   instructions. Prints the checksum so the run can be checked against the guest's. */
  .section .rodata
fmt: .asciz "native: checksum=0x%lx\n"
  .text
  .globl main
main:
  push %rbx
  mov $200000000, %rcx      /* t0 */
  xor %eax, %eax            /* a0 */
  mov $1, %esi              /* a1 */
  mov $0x9e3779b9, %edx     /* a2 */
1:
  add %rsi, %rax            /* add  a0, a0, a1 */
  mov %rax, %r8
  xor %rdx, %r8             /* xor  a3, a0, a2 */
  lea (,%r8,8), %r9         /* slli a4, a3, 3 */
  mov %r9, %r10
  shr $7, %r10              /* srli a5, a4, 7 */
  mov %r10, %rsi
  or %rcx, %rsi             /* or   a1, a5, t0 */
  and $0xff, %esi           /* andi a1, a1, 0xff */
  dec %rcx                  /* addi t0, t0, -1 */
  jnz 1b                    /* bnez t0, 1b */
  lea fmt(%rip), %rdi
  mov %rax, %rsi
  xor %eax, %eax
  call printf@PLT
  xor %eax, %eax
  pop %rbx
  ret
  .section .note.GNU-stack,"",@progbits
