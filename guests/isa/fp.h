/* Helpers shared by the F and D tests.  Operands are passed as raw bit patterns;
   each macro clears fflags, runs one instruction and leaves the flags in `fl`. */
#ifndef ISOMORPH_FP_H
#define ISOMORPH_FP_H
#include "test.h"

static uint64_t fl;

#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

/* W = "w" (single) or "d" (double) for fmv; results of single ops masked to 32 bits */
#define FOP2(mv, insn, a, b) ({ uint64_t __r; __asm__ volatile( \
    "fmv." mv ".x ft0, %2\n fmv." mv ".x ft1, %3\n csrw fflags, zero\n " insn " ft2, ft0, ft1\n fmv.x." mv " %0, ft2\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1", "ft2"); __r; })
#define FOP1(mv, insn, a) ({ uint64_t __r; __asm__ volatile( \
    "fmv." mv ".x ft0, %2\n csrw fflags, zero\n " insn " ft2, ft0\n fmv.x." mv " %0, ft2\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)) : "ft0", "ft2"); __r; })
#define FOP3(mv, insn, a, b, c) ({ uint64_t __r; __asm__ volatile( \
    "fmv." mv ".x ft0, %2\n fmv." mv ".x ft1, %3\n fmv." mv ".x ft3, %4\n csrw fflags, zero\n " insn " ft2, ft0, ft1, ft3\n fmv.x." mv " %0, ft2\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)), "r"((uint64_t)(b)), "r"((uint64_t)(c)) : "ft0", "ft1", "ft2", "ft3"); __r; })
/* FP -> integer register (fcvt.*.s, fclass, compares) */
#define FTOX(mv, insn, a) ({ uint64_t __r; __asm__ volatile( \
    "fmv." mv ".x ft0, %2\n csrw fflags, zero\n " insn " %0, ft0\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)) : "ft0"); __r; })
#define FCMP(mv, insn, a, b) ({ uint64_t __r; __asm__ volatile( \
    "fmv." mv ".x ft0, %2\n fmv." mv ".x ft1, %3\n csrw fflags, zero\n " insn " %0, ft0, ft1\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1"); __r; })
/* integer -> FP */
#define XTOF(mv, insn, a) ({ uint64_t __r; __asm__ volatile( \
    "csrw fflags, zero\n " insn " ft2, %2\n fmv.x." mv " %0, ft2\n frflags %1" \
    : "=r"(__r), "=r"(fl) : "r"((uint64_t)(a)) : "ft2"); __r; })

/* check value and flags together */
#define CHECKF(name, expr, exp, expfl) do { uint64_t __v = (expr); CHECK(name, __v, exp); CHECK(name " flags", fl, expfl); } while (0)

#endif
