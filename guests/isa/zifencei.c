/* Zifencei: self-modifying code made visible with fence.i. */
#include "test.h"

/* code buffer: "addi a0, a0, imm ; ret" patched at run time */
static uint32_t code[4] __attribute__((aligned(8), section(".data")));

static uint32_t addi_a0(int imm) { return ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (10 << 7) | 0x13; }

static uint64_t call_code(uint64_t a)
{
    register uint64_t a0 __asm__("a0") = a;
    __asm__ volatile("jalr ra, 0(%1)" : "+r"(a0) : "r"(code) : "ra", "memory");
    return a0;
}

int main(void)
{
    code[0] = addi_a0(5);
    code[1] = 0x00008067; /* ret */
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("first version", call_code(10), 15);
    for (int i = 1; i <= 8; i++) {
        code[0] = addi_a0(-i * 100);
        __asm__ volatile("fence.i" ::: "memory");
        CHECK("patched version", call_code(1000), 1000 - i * 100);
    }
    /* patch a compressed instruction: c.li a0, 7 ; c.jr ra (c.ret) */
    ((uint16_t *)code)[0] = 0x451d;   /* c.li a0, 7 */
    ((uint16_t *)code)[1] = 0x8082;   /* c.jr ra */
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("compressed patch", call_code(1), 7);
    /* patch code straddling: 4-byte instruction at a 2-byte offset */
    ((uint16_t *)code)[0] = 0x0001;   /* c.nop */
    code[0] = (code[0] & 0xffff) | (addi_a0(3) << 16);
    code[1] = (addi_a0(3) >> 16) | (0x8067u << 16);  /* upper half + low half of ret */
    code[2] = 0x0000;                 /* high half of ret (0x00008067 >> 16 == 0) */
    __asm__ volatile("fence.i" ::: "memory");
    CHECK("unaligned 32-bit instruction", call_code(4), 7);
    return test_result();
}
