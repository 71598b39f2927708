/* RV64I base integer ISA: ALU ops (incl. W forms), shifts, lui/auipc, branches, jal/jalr,
   loads/stores of every width with sign/zero extension, misaligned loads/stores.
   QEMU 7.2 (spike machine) performs misaligned normal loads/stores without trapping;
   this test requires that behaviour. */
#include "test.h"

#define B(insn, a, b) ({ uint64_t __t; __asm__ volatile("li %0, 1\n" insn " %1, %2, 1f\nli %0, 0\n1:" : "=&r"(__t) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); __t; })
/* B() yields 1 when the branch is taken */
#define TEST_B(insn, a, b, taken) CHECK(insn, B(insn, a, b), taken)

static uint8_t buf[32] __attribute__((aligned(16)));

int main(void)
{
    /* ---- register-register ---- */
    TEST_RR("add", 0x7fffffffffffffffull, 1, 0x8000000000000000ull);
    TEST_RR("add", -1, -1, -2);
    TEST_RR("sub", 0, 1, -1);
    TEST_RR("sub", 0x8000000000000000ull, 1, 0x7fffffffffffffffull);
    TEST_RR("and", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull, 0x0f000f000f000f00ull);
    TEST_RR("or", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull, 0xfff0fff0fff0fff0ull);
    TEST_RR("xor", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull, 0xf0f0f0f0f0f0f0f0ull);
    TEST_RR("slt", -1, 0, 1);
    TEST_RR("slt", 0, -1, 0);
    TEST_RR("slt", 5, 5, 0);
    TEST_RR("sltu", -1, 0, 0);
    TEST_RR("sltu", 0, -1, 1);
    TEST_RR("sll", 1, 63, 0x8000000000000000ull);
    TEST_RR("sll", 1, 64 + 4, 0x10);            /* only low 6 bits of rs2 */
    TEST_RR("srl", 0x8000000000000000ull, 63, 1);
    TEST_RR("srl", -1, 0x44, 0x0fffffffffffffffull);
    TEST_RR("sra", 0x8000000000000000ull, 63, -1);
    TEST_RR("sra", 0x8000000000000000ull, 0x41, 0xc000000000000000ull);
    TEST_RR("addw", 0x7fffffff, 1, 0xffffffff80000000ull);
    TEST_RR("addw", 0xffffffff00000001ull, 0x100000002ull, 3);
    TEST_RR("subw", 0, 1, -1);
    TEST_RR("subw", 0x80000000, 1, 0x7fffffff);
    TEST_RR("sllw", 1, 31, 0xffffffff80000000ull);
    TEST_RR("sllw", 1, 32 + 3, 8);              /* only low 5 bits */
    TEST_RR("sllw", 0x123456789ull, 4, 0x34567890);
    TEST_RR("srlw", 0xffffffff80000000ull, 31, 1);
    TEST_RR("srlw", 0xffffffff80000000ull, 0, 0xffffffff80000000ull);
    TEST_RR("srlw", 0x00000000ffffffffull, 1, 0x7fffffff);
    TEST_RR("sraw", 0x80000000, 31, -1);
    TEST_RR("sraw", 0x7fffffff00000000ull, 4, 0);
    TEST_RR("sraw", 0x80000000, 32 + 4, 0xfffffffff8000000ull);

    /* ---- register-immediate ---- */
    TEST_RI("addi", 0, -2048, -2048);
    TEST_RI("addi", 0x7fffffffffffffffull, 1, 0x8000000000000000ull);
    TEST_RI("slti", -5, -4, 1);
    TEST_RI("slti", 2047, 2047, 0);
    TEST_RI("sltiu", 0, -1, 1);                 /* imm sign-extended then compared unsigned */
    TEST_RI("sltiu", -1, -1, 0);
    TEST_RI("andi", 0x12345678ull, -16, 0x12345670ull);
    TEST_RI("ori", 0x1000, -2048, 0xfffffffffffff800ull);
    TEST_RI("xori", 0xffull, -1, 0xffffffffffffff00ull);
    TEST_RI("slli", 3, 62, 0xc000000000000000ull);
    TEST_RI("srli", 0xf000000000000000ull, 60, 0xf);
    TEST_RI("srai", 0xf000000000000000ull, 60, -1);
    TEST_RI("addiw", 0x7fffffff, 1, 0xffffffff80000000ull);
    TEST_RI("addiw", 0x123456789ull, 0, 0x23456789);
    TEST_RI("slliw", 0x80000001ull, 31, 0xffffffff80000000ull);
    TEST_RI("srliw", 0xffffffff80000000ull, 4, 0x08000000);
    TEST_RI("sraiw", 0x80000000ull, 4, 0xfffffffff8000000ull);
    TEST_RI("sraiw", 0xffffffff7fffffffull, 0, 0x7fffffff);

    /* ---- lui / auipc ---- */
    uint64_t r;
    __asm__ volatile("lui %0, 0x80000" : "=r"(r));
    CHECK("lui sign-extends", r, 0xffffffff80000000ull);
    __asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
    CHECK("lui", r, 0x7ffff000);
    uint64_t pc1, pc2;
    __asm__ volatile("1: auipc %0, 0\n la %1, 1b" : "=r"(pc1), "=r"(pc2));
    CHECK("auipc 0", pc1, pc2);
    __asm__ volatile("1: auipc %0, 0x1\n la %1, 1b" : "=r"(pc1), "=r"(pc2));
    CHECK("auipc 1", pc1, pc2 + 0x1000);
    __asm__ volatile("1: auipc %0, 0xfffff\n la %1, 1b" : "=r"(pc1), "=r"(pc2));
    CHECK("auipc -1", pc1, pc2 - 0x1000);

    /* ---- x0 ---- */
    __asm__ volatile("li x0, 5\n addi %0, x0, 0" : "=r"(r));
    CHECK("x0 hardwired", r, 0);

    /* ---- branches ---- */
    TEST_B("beq", 5, 5, 1); TEST_B("beq", 5, 6, 0);
    TEST_B("bne", 5, 5, 0); TEST_B("bne", 5, 6, 1);
    TEST_B("blt", -1, 0, 1); TEST_B("blt", 0, -1, 0); TEST_B("blt", 3, 3, 0);
    TEST_B("bge", -1, 0, 0); TEST_B("bge", 0, -1, 1); TEST_B("bge", 3, 3, 1);
    TEST_B("bltu", -1, 0, 0); TEST_B("bltu", 0, -1, 1); TEST_B("bltu", 3, 3, 0);
    TEST_B("bgeu", -1, 0, 1); TEST_B("bgeu", 0, -1, 0); TEST_B("bgeu", 3, 3, 1);

    /* backward branch loop */
    __asm__ volatile("li %0, 0\n li t0, 10\n 1: addi %0, %0, 3\n addi t0, t0, -1\n bnez t0, 1b" : "=&r"(r) :: "t0");
    CHECK("backward branch", r, 30);

    /* ---- jal / jalr ---- */
    __asm__ volatile(".option push\n.option norvc\n"
                     "jal %0, 1f\n 2: j 3f\n 1: la %1, 2b\n 3:\n.option pop" : "=r"(pc1), "=r"(pc2));
    CHECK("jal link", pc1, pc2);
    __asm__ volatile(".option push\n.option norvc\n"
                     "la t0, 1f\n jalr %0, 1(t0)\n 2: li %1, 0\n j 3f\n 1: la %1, 2b\n 3:\n.option pop"
                     : "=r"(pc1), "=&r"(pc2) :: "t0");
    CHECK("jalr clears bit0 / link", pc1, pc2);
    __asm__ volatile(".option push\n.option norvc\n"
                     "la t0, 1f + 8\n jalr t0, -8(t0)\n 2: j 3f\n 1: mv %0, t0\n la %1, 2b\n 3:\n.option pop"
                     : "=r"(pc1), "=r"(pc2) :: "t0");
    CHECK("jalr rd==rs1", pc1, pc2);
    __asm__ volatile(".option push\n.option norvc\n"
                     "li %0, 7\n la t0, 1f\n jalr x0, 0(t0)\n li %0, 9\n 1:\n.option pop" : "=&r"(r) :: "t0");
    CHECK("jalr x0", r, 7);

    /* ---- loads / stores ---- */
    volatile uint64_t *d = (volatile uint64_t *)buf;
    d[0] = 0x8182838485868788ull;
    d[1] = 0x0102030405060708ull;
    uint8_t *p = buf;
#define LD(insn, off) ({ uint64_t __v; __asm__ volatile(insn " %0, " #off "(%1)" : "=r"(__v) : "r"(p) : "memory"); __v; })
    CHECK("lb", LD("lb", 0), 0xffffffffffffff88ull);
    CHECK("lbu", LD("lbu", 0), 0x88);
    CHECK("lb pos", LD("lb", 8), 0x08);
    CHECK("lh", LD("lh", 6), 0xffffffffffff8182ull);
    CHECK("lhu", LD("lhu", 6), 0x8182);
    CHECK("lw", LD("lw", 4), 0xffffffff81828384ull);
    CHECK("lwu", LD("lwu", 4), 0x81828384ull);
    CHECK("lw pos", LD("lw", 8), 0x05060708);
    CHECK("ld", LD("ld", 0), 0x8182838485868788ull);
    uint8_t *p8 = p + 8;
    __asm__ volatile("ld %0, -8(%1)" : "=r"(r) : "r"(p8) : "memory");
    CHECK("ld negative offset", r, 0x8182838485868788ull);
    d[2] = 0; d[3] = 0;
    __asm__ volatile("sb %0, 16(%1)" :: "r"(0x1234567890abcdefull), "r"(p) : "memory");
    __asm__ volatile("sh %0, 18(%1)" :: "r"(0x1234567890abcdefull), "r"(p) : "memory");
    __asm__ volatile("sw %0, 20(%1)" :: "r"(0x1234567890abcdefull), "r"(p) : "memory");
    CHECK("sb/sh/sw", d[2], 0x90abcdefcdef00efull);
    __asm__ volatile("sd %0, 24(%1)" :: "r"(0x1234567890abcdefull), "r"(p) : "memory");
    CHECK("sd", d[3], 0x1234567890abcdefull);

    /* ---- misaligned (QEMU: performed, no trap) ---- */
    trap_reset();
    d[0] = 0x8182838485868788ull;
    d[1] = 0x0102030405060708ull;
    CHECK("misaligned lh", LD("lh", 1), 0xffffffffffff8687ull);
    CHECK("misaligned lhu", LD("lhu", 7), 0x0881);
    CHECK("misaligned lw", LD("lw", 3), 0xffffffff82838485ull);
    CHECK("misaligned lwu", LD("lwu", 6), 0x07088182ull);
    CHECK("misaligned ld", LD("ld", 5), 0x0405060708818283ull);
    __asm__ volatile("sd %0, 3(%1)" :: "r"(0x1122334455667788ull), "r"(p) : "memory");
    CHECK("misaligned sd lo", d[0], 0x4455667788868788ull);
    CHECK("misaligned sd hi", d[1], 0x0102030405112233ull);
    __asm__ volatile("sw %0, 9(%1)" :: "r"(0xaabbccddull), "r"(p) : "memory");
    __asm__ volatile("sh %0, 15(%1)" :: "r"(0xeeffull), "r"(p) : "memory");
    CHECK("misaligned sw/sh", d[1], 0xff0203aabbccdd33ull);
    CHECK("misaligned sh crossing", buf[16], 0xee);
    CHECK("misaligned: no traps", trap.count, 0);

    /* ---- fence / nop ---- */
    __asm__ volatile("fence\n fence rw, rw\n fence.tso\n nop");

    return test_result();
}
