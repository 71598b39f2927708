/* Isomorph guest runtime: reset entry and the default machine-mode trap vector. */
#include "encoding.h"

  .section .text.init, "ax"
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la sp, _stack_top
  la t0, _trap_stack_top
  csrw mscratch, t0
  la t0, trap_entry
  csrw mtvec, t0
  /* Let S/U access everything: one TOR PMP entry covering [0, 2^56).
     (With PMP implemented and no entry matching, S/U accesses fail.) */
  li t0, 1
  slli t0, t0, 54
  addi t0, t0, -1
  csrw pmpaddr0, t0
  li t0, 0x0f            /* A=TOR, R|W|X */
  csrw pmpcfg0, t0
  /* Enable the FPU (FS=Initial) and clear fcsr. */
  li t0, MSTATUS_FS_INITIAL
  csrs mstatus, t0
  csrw fcsr, zero
  /* Clear .bss */
  la t0, __bss_start
  la t1, __bss_end
1:bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  call main
  call htif_exit
3:j 3b

/* Default M-mode trap entry (direct mode).  Uses mscratch as a trap stack.
   Saves x1..x31 in a struct trap_frame and calls the C handler
   void m_trap(struct trap_frame *).  The handler may modify the frame (incl. mepc slot). */
  .align 2
  .globl trap_entry
trap_entry:
  csrrw sp, mscratch, sp
  addi sp, sp, -FRAME_SIZE
  sd x1, 1*8(sp)
  sd x3, 3*8(sp)
  sd x4, 4*8(sp)
  sd x5, 5*8(sp)
  sd x6, 6*8(sp)
  sd x7, 7*8(sp)
  sd x8, 8*8(sp)
  sd x9, 9*8(sp)
  sd x10, 10*8(sp)
  sd x11, 11*8(sp)
  sd x12, 12*8(sp)
  sd x13, 13*8(sp)
  sd x14, 14*8(sp)
  sd x15, 15*8(sp)
  sd x16, 16*8(sp)
  sd x17, 17*8(sp)
  sd x18, 18*8(sp)
  sd x19, 19*8(sp)
  sd x20, 20*8(sp)
  sd x21, 21*8(sp)
  sd x22, 22*8(sp)
  sd x23, 23*8(sp)
  sd x24, 24*8(sp)
  sd x25, 25*8(sp)
  sd x26, 26*8(sp)
  sd x27, 27*8(sp)
  sd x28, 28*8(sp)
  sd x29, 29*8(sp)
  sd x30, 30*8(sp)
  sd x31, 31*8(sp)
  csrr t0, mscratch         /* interrupted sp */
  sd t0, 2*8(sp)
  csrr t0, mepc
  sd t0, 0*8(sp)
  addi t0, sp, FRAME_SIZE   /* restore mscratch = trap stack top */
  csrw mscratch, t0
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  mv a0, sp
  call m_trap
  .globl trap_return
trap_return:
  ld t0, 0*8(sp)
  csrw mepc, t0
  ld x1, 1*8(sp)
  ld x3, 3*8(sp)
  ld x4, 4*8(sp)
  ld x6, 6*8(sp)
  ld x7, 7*8(sp)
  ld x8, 8*8(sp)
  ld x9, 9*8(sp)
  ld x10, 10*8(sp)
  ld x11, 11*8(sp)
  ld x12, 12*8(sp)
  ld x13, 13*8(sp)
  ld x14, 14*8(sp)
  ld x15, 15*8(sp)
  ld x16, 16*8(sp)
  ld x17, 17*8(sp)
  ld x18, 18*8(sp)
  ld x19, 19*8(sp)
  ld x20, 20*8(sp)
  ld x21, 21*8(sp)
  ld x22, 22*8(sp)
  ld x23, 23*8(sp)
  ld x24, 24*8(sp)
  ld x25, 25*8(sp)
  ld x26, 26*8(sp)
  ld x27, 27*8(sp)
  ld x28, 28*8(sp)
  ld x29, 29*8(sp)
  ld x30, 30*8(sp)
  ld x31, 31*8(sp)
  ld x5, 5*8(sp)
  ld sp, 2*8(sp)
  mret

/* long run_in_mode(int mode, long (*fn)(long), long arg)
   Runs fn(arg) in privilege `mode` (0=U, 1=S, 3=M; with the hypervisor extension 4=VU, 5=VS:
   bit 2 sets mstatus.MPV) with the current stack and returns its
   return value in M-mode.  fn returns to a stub that issues `ecall` (at run_in_mode_ecall);
   m_trap recognises that pc and resumes via run_in_mode_resume. */
  .globl run_in_mode
run_in_mode:
  addi sp, sp, -112
  sd ra, 0(sp)
  sd s0, 8(sp)
  sd s1, 16(sp)
  sd s2, 24(sp)
  sd s3, 32(sp)
  sd s4, 40(sp)
  sd s5, 48(sp)
  sd s6, 56(sp)
  sd s7, 64(sp)
  sd s8, 72(sp)
  sd s9, 80(sp)
  sd s10, 88(sp)
  sd s11, 96(sp)
  sd gp, 104(sp)
  la t0, saved_m_sp
  sd sp, 0(t0)
  /* mstatus.MPP = mode, MPIE=0 */
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  slli t1, a0, 11
  and t1, t1, t0
  csrs mstatus, t1
  li t0, MSTATUS_MPIE
  csrc mstatus, t0
  /* mstatus.MPV = mode bit 2 (WARL: stays 0 without the hypervisor extension) */
  li t0, 1
  slli t0, t0, 39
  csrc mstatus, t0
  andi t1, a0, 4
  beqz t1, 4f
  csrs mstatus, t0
4:
  csrw mepc, a1
  mv a0, a2
  la ra, run_in_mode_stub
  mret
run_in_mode_stub:
  li a7, RET_MAGIC
  .globl run_in_mode_ecall
run_in_mode_ecall:
  ecall
1:j 1b

/* Called (jumped to) from m_trap with a0 = return value; restores the M context. */
  .globl run_in_mode_resume
run_in_mode_resume:
  la t0, saved_m_sp
  ld sp, 0(t0)
  ld ra, 0(sp)
  ld s0, 8(sp)
  ld s1, 16(sp)
  ld s2, 24(sp)
  ld s3, 32(sp)
  ld s4, 40(sp)
  ld s5, 48(sp)
  ld s6, 56(sp)
  ld s7, 64(sp)
  ld s8, 72(sp)
  ld s9, 80(sp)
  ld s10, 88(sp)
  ld s11, 96(sp)
  ld gp, 104(sp)
  addi sp, sp, 112
  /* reset the trap stack */
  la t0, _trap_stack_top
  csrw mscratch, t0
  ret

/* Minimal S-mode trap vector: records scause/stval/sepc, skips the instruction, sret.
   Uses sscratch as a temporary. Installed by tests via csrw stvec. */
  .align 2
  .globl s_trap_entry
s_trap_entry:
  csrw sscratch, t0
  la t0, s_trap_tmp
  sd t1, 0(t0)
  sd t2, 8(t0)
  /* A delegated run_in_mode return-ecall from U: forward it to M with an S-mode ecall
     (m_trap recognises s_forward_ecall; tests must not delegate cause 9 meanwhile). */
  csrr t1, sepc
  la t2, run_in_mode_ecall
  bne t1, t2, 5f
  .globl s_forward_ecall
s_forward_ecall:
  ecall
5:
  la t0, s_trap_info
  csrr t1, scause
  sd t1, 0(t0)
  csrr t1, stval
  sd t1, 8(t0)
  csrr t1, sepc
  sd t1, 16(t0)
  ld t2, 24(t0)
  addi t2, t2, 1
  sd t2, 24(t0)
  /* interrupts: do not advance; clear SSIP */
  csrr t2, scause
  bltz t2, 2f
  /* advance sepc by instruction length (read through the current translation) */
  lhu t2, 0(t1)
  andi t2, t2, 3
  addi t1, t1, 2
  li t0, 3
  bne t2, t0, 1f
  addi t1, t1, 2
1:csrw sepc, t1
  j 3f
2:li t1, 2
  csrc sip, t1
3:la t0, s_trap_tmp
  ld t1, 0(t0)
  ld t2, 8(t0)
  csrr t0, sscratch
  sret

  .data
  .align 3
  .globl saved_m_sp
saved_m_sp: .dword 0
s_trap_tmp: .dword 0, 0
  .globl s_trap_info
s_trap_info: .dword 0, 0, 0, 0   /* cause, tval, epc, count */
