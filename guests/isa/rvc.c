/* RVC (C extension, RV64): every compressed instruction, written with explicit c. mnemonics. */
#include "test.h"

static uint64_t mem[8] __attribute__((aligned(16)));

/* run `body` with a0 preset to `in`, return a0 (compressed-register operands a0..a5, s0, s1) */
#define C1(body, in) ({ register uint64_t __a0 __asm__("a0") = (uint64_t)(in); \
    __asm__ volatile(".option push\n.option rvc\n" body "\n.option pop" : "+r"(__a0) :: "a1", "a2", "memory"); __a0; })
#define C2(body, in, in1) ({ register uint64_t __a0 __asm__("a0") = (uint64_t)(in); register uint64_t __a1 __asm__("a1") = (uint64_t)(in1); \
    __asm__ volatile(".option push\n.option rvc\n" body "\n.option pop" : "+r"(__a0), "+r"(__a1) :: "a2", "memory"); __a0; })

int main(void)
{
    uint64_t r, r2;
    /* CI / CR / CA formats */
    CHECK("c.li", C1("c.li a0, -32", 0), -32);
    CHECK("c.li 31", C1("c.li a0, 31", 0), 31);
    CHECK("c.lui", C1("c.lui a0, 0xfffe0", 0), 0xfffffffffffe0000ull);
    CHECK("c.lui pos", C1("c.lui a0, 0x1f", 0), 0x1f000);
    CHECK("c.addi", C1("c.addi a0, -1", 0), -1);
    CHECK("c.nop", C1("c.nop", 5), 5);
    CHECK("c.addiw", C1("c.addiw a0, 1", 0x7fffffff), 0xffffffff80000000ull);
    CHECK("c.addiw 0 (sext.w)", C1("c.addiw a0, 0", 0x180000000ull), 0xffffffff80000000ull);
    CHECK("c.slli", C1("c.slli a0, 63", 1), 0x8000000000000000ull);
    CHECK("c.srli", C1("c.srli a0, 63", 0x8000000000000000ull), 1);
    CHECK("c.srli 32", C1("c.srli a0, 32", 0xabcd00000000ull), 0xabcd);
    CHECK("c.srai", C1("c.srai a0, 60", 0x8000000000000000ull), -8);
    CHECK("c.andi", C1("c.andi a0, -16", 0x12345), 0x12340);
    CHECK("c.mv", C2("c.mv a0, a1", 0, 0x55), 0x55);
    CHECK("c.add", C2("c.add a0, a1", 40, 2), 42);
    CHECK("c.sub", C2("c.sub a0, a1", 40, 2), 38);
    CHECK("c.xor", C2("c.xor a0, a1", 0xff, 0x0f), 0xf0);
    CHECK("c.or", C2("c.or a0, a1", 0xf0, 0x0f), 0xff);
    CHECK("c.and", C2("c.and a0, a1", 0xf0, 0x3c), 0x30);
    CHECK("c.subw", C2("c.subw a0, a1", 0x80000000ull, 1), 0x7fffffff);
    CHECK("c.addw", C2("c.addw a0, a1", 0x7fffffff, 1), 0xffffffff80000000ull);
    /* c.addi16sp / c.addi4spn */
    __asm__ volatile(".option push\n.option rvc\n mv t0, sp\n c.addi16sp sp, -64\n sub %0, t0, sp\n"
                     " c.addi4spn a0, sp, 8\n sub %1, a0, sp\n c.addi16sp sp, 64\n.option pop"
                     : "=r"(r), "=r"(r2) :: "t0", "a0");
    CHECK("c.addi16sp", r, 64);
    CHECK("c.addi4spn", r2, 8);
    /* loads / stores (CL/CS) */
    mem[0] = 0x8000000180000002ull;
    mem[1] = 0;
    CHECK("c.lw", C2("c.lw a0, 0(a1)", 0, mem), 0xffffffff80000002ull);
    CHECK("c.lw offset", C2("c.lw a0, 4(a1)", 0, mem), 0xffffffff80000001ull);
    CHECK("c.ld", C2("c.ld a0, 0(a1)", 0, mem), 0x8000000180000002ull);
    C2("c.sw a0, 8(a1)", 0x1122334455667788ull, mem);
    CHECK("c.sw", mem[1], 0x55667788);
    C2("c.sd a0, 8(a1)", 0x1122334455667788ull, mem);
    CHECK("c.sd", mem[1], 0x1122334455667788ull);
    /* FP compressed loads/stores */
    mem[2] = 0x400921fb54442d18ull;   /* pi */
    __asm__ volatile(".option push\n.option rvc\n mv a1, %1\n c.fld fa0, 16(a1)\n c.fsd fa0, 24(a1)\n fmv.x.d %0, fa0\n.option pop"
                     : "=r"(r) : "r"(mem) : "a1", "fa0", "memory");
    CHECK("c.fld", r, 0x400921fb54442d18ull);
    CHECK("c.fsd", mem[3], 0x400921fb54442d18ull);
    /* sp-relative (CI/CSS) */
    __asm__ volatile(".option push\n.option rvc\n c.addi16sp sp, -32\n"
                     " li t0, -2\n c.sdsp t0, 0(sp)\n c.swsp t0, 8(sp)\n c.swsp zero, 12(sp)\n"
                     " c.ldsp a0, 0(sp)\n c.lwsp a1, 8(sp)\n c.ldsp a2, 8(sp)\n"
                     " add %0, a0, a1\n mv %1, a2\n"
                     " li t0, 0x3ff0000000000000\n sd t0, 16(sp)\n c.fldsp fa0, 16(sp)\n"
                     " fadd.d fa0, fa0, fa0\n c.fsdsp fa0, 24(sp)\n ld t1, 24(sp)\n"
                     " c.addi16sp sp, 32\n.option pop"
                     : "=r"(r), "=r"(r2) :: "t0", "t1", "a0", "a1", "a2", "fa0", "memory");
    CHECK("c.sdsp/c.ldsp/c.lwsp", r, -4);
    CHECK("c.swsp", r2, 0x00000000fffffffeull);
    __asm__ volatile("fmv.x.d %0, fa0" : "=r"(r));
    __asm__ volatile(".option push\n.option rvc\n c.addi16sp sp, -32\n li t0, 0x4000000000000000\n"
                     " sd t0, 16(sp)\n c.fldsp fa1, 16(sp)\n c.fsdsp fa1, 24(sp)\n ld %0, 24(sp)\n"
                     " c.addi16sp sp, 32\n.option pop" : "=r"(r) :: "t0", "fa1", "memory");
    CHECK("c.fldsp/c.fsdsp", r, 0x4000000000000000ull);
    /* control transfer */
    CHECK("c.j", C1("c.j 1f\n c.li a0, 1\n 1:", 9), 9);
    CHECK("c.beqz taken", C1("c.beqz a0, 1f\n c.li a0, 1\n 1:", 0), 0);
    CHECK("c.beqz not taken", C1("c.beqz a0, 1f\n c.li a0, 1\n 1:", 5), 1);
    CHECK("c.bnez taken", C1("c.bnez a0, 1f\n c.li a0, 1\n 1:", 5), 5);
    CHECK("c.bnez not taken", C1("c.bnez a0, 1f\n c.li a0, 1\n 1:", 0), 1);
    CHECK("c.bnez backward", C1("c.li a1, 5\n 2: c.addi a0, 2\n c.addi a1, -1\n c.bnez a1, 2b", 0), 10);
    __asm__ volatile(".option push\n.option rvc\n la t0, 1f\n c.jr t0\n li %0, 1\n j 2f\n 1: li %0, 2\n 2:\n.option pop"
                     : "=r"(r) :: "t0");
    CHECK("c.jr", r, 2);
    __asm__ volatile(".option push\n.option rvc\n mv t1, ra\n la t0, 1f\n c.jalr t0\n 3: j 2f\n"
                     " 1: mv %0, ra\n la %1, 3b\n c.jr ra\n 2: mv ra, t1\n.option pop"
                     : "=&r"(r), "=&r"(r2) :: "t0", "t1", "ra");
    CHECK("c.jalr link", r, r2);
    /* c.ebreak -> breakpoint, epc at the 2-byte instruction */
    trap_reset();
    __asm__ volatile(".option push\n.option rvc\n 1: c.ebreak\n la %0, 1b\n.option pop" : "=r"(r));
    CHECK("c.ebreak cause", trap.cause, CAUSE_BREAKPOINT);
    CHECK("c.ebreak epc", trap.epc, r);
    /* the all-zero 16-bit instruction is illegal */
    trap_reset();
    __asm__ volatile(".option push\n.option rvc\n .2byte 0\n.option pop");
    CHECK("c 0x0000 illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    /* a 32-bit instruction at a 2-byte aligned address after a compressed one */
    CHECK("mixed alignment", C1("c.nop\n addi a0, a0, 100\n c.addi a0, 1", 0), 101);
    return test_result();
}
