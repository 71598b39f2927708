/* Isomorph guest runtime: test helpers (C side). */
#ifndef ISOMORPH_TEST_H
#define ISOMORPH_TEST_H

#include <stdint.h>
#include "encoding.h"

#define read_csr(reg) ({ uint64_t __v; __asm__ volatile("csrr %0, " #reg : "=r"(__v)); __v; })
#define write_csr(reg, val) ({ __asm__ volatile("csrw " #reg ", %0" ::"rK"((uint64_t)(val))); })
#define set_csr(reg, bit) ({ uint64_t __v; __asm__ volatile("csrrs %0, " #reg ", %1" : "=r"(__v) : "rK"((uint64_t)(bit))); __v; })
#define clear_csr(reg, bit) ({ uint64_t __v; __asm__ volatile("csrrc %0, " #reg ", %1" : "=r"(__v) : "rK"((uint64_t)(bit))); __v; })

struct trap_frame { uint64_t x[32]; }; /* x[0] = trap pc */
struct trap_info {
    uint64_t cause, tval, epc, mstatus, count;
};
extern volatile struct trap_info trap;
/* Return nonzero if the trap was handled (frame may be edited). */
typedef int (*trap_hook_fn)(struct trap_frame *f, uint64_t cause);
extern trap_hook_fn trap_hook;

extern volatile uint64_t s_trap_info[4]; /* scause, stval, sepc, count */
extern char s_trap_entry[];

void htif_putchar(int ch);
void htif_exit(int code) __attribute__((noreturn));
void puts_(const char *s);
void print_hex(uint64_t v);
void print_dec(uint64_t v);
int check_eq(const char *name, uint64_t got, uint64_t exp);
int test_result(void);
long run_in_mode(int mode, long (*fn)(long), long arg);

#define CHECK(name, got, exp) check_eq(name, (uint64_t)(got), (uint64_t)(exp))

/* Where QEMU 7.2, the oracle, departs from the specification: passes with the specification's
   value, or with QEMU's and then prints "QEMU-7.2 DEVIATION <name>". The emulator's own runs
   must never print that line: they are held to the specification. */
int check_spec(const char *name, uint64_t got, uint64_t spec, uint64_t qemu);
#define CHECK_SPEC(name, got, spec, qemu) check_spec(name, (uint64_t)(got), (uint64_t)(spec), (uint64_t)(qemu))

static inline void trap_reset(void)
{
    trap.cause = trap.tval = trap.epc = trap.mstatus = 0;
    trap.count = 0;
}
static inline void s_trap_reset(void)
{
    s_trap_info[0] = s_trap_info[1] = s_trap_info[2] = s_trap_info[3] = 0;
}

/* Register-register / register-immediate helpers for ISA tests */
#define OP_RR(insn, a, b) ({ uint64_t __r; __asm__ volatile(insn " %0, %1, %2" : "=r"(__r) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); __r; })
#define OP_RI(insn, a, imm) ({ uint64_t __r; __asm__ volatile(insn " %0, %1, %2" : "=r"(__r) : "r"((uint64_t)(a)), "i"(imm)); __r; })
#define OP_R(insn, a) ({ uint64_t __r; __asm__ volatile(insn " %0, %1" : "=r"(__r) : "r"((uint64_t)(a))); __r; })

#define TEST_RR(insn, a, b, exp) CHECK(insn, OP_RR(insn, a, b), exp)
#define TEST_RI(insn, a, imm, exp) CHECK(insn, OP_RI(insn, a, imm), exp)
#define TEST_R(insn, a, exp) CHECK(insn, OP_R(insn, a), exp)

#endif
