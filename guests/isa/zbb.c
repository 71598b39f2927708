/* Zbb: basic bit manipulation, every instruction incl. W forms. */
#include "test.h"

int main(void)
{
    TEST_RR("andn", 0xff00ff00ull, 0x0ff00ff0ull, 0xf000f000ull);
    TEST_RR("orn", 0, 0xffffffffffff0000ull, 0xffff);
    TEST_RR("xnor", 0xf0f0, 0xff00, 0xfffffffffffff00full);
    TEST_R("clz", 0, 64);
    TEST_R("clz", 1, 63);
    TEST_R("clz", 0x8000000000000000ull, 0);
    TEST_R("clz", 0x0000100000000000ull, 19);
    TEST_R("clzw", 0, 32);
    TEST_R("clzw", 0xffffffff00000001ull, 31);
    TEST_R("clzw", 0x80000000, 0);
    TEST_R("ctz", 0, 64);
    TEST_R("ctz", 0x8000000000000000ull, 63);
    TEST_R("ctz", 0x100, 8);
    TEST_R("ctzw", 0, 32);
    TEST_R("ctzw", 0x100000000ull, 32);
    TEST_R("ctzw", 0x80000000, 31);
    TEST_R("cpop", 0, 0);
    TEST_R("cpop", -1, 64);
    TEST_R("cpop", 0x8000000100000101ull, 4);
    TEST_R("cpopw", -1, 32);
    TEST_R("cpopw", 0xff00000000000f0full, 8);
    TEST_RR("max", -1, 1, 1);
    TEST_RR("max", 0x8000000000000000ull, 0x7fffffffffffffffull, 0x7fffffffffffffffull);
    TEST_RR("maxu", -1, 1, -1);
    TEST_RR("min", -1, 1, -1);
    TEST_RR("min", 0x8000000000000000ull, 0, 0x8000000000000000ull);
    TEST_RR("minu", -1, 1, 1);
    TEST_R("sext.b", 0x1234567880ull, 0xffffffffffffff80ull);
    TEST_R("sext.b", 0xff7f, 0x7f);
    TEST_R("sext.h", 0x12348000ull, 0xffffffffffff8000ull);
    TEST_R("sext.h", 0xffff7fffull, 0x7fff);
    TEST_R("zext.h", 0xffffffffffff8001ull, 0x8001);
    TEST_RR("rol", 0x8000000000000001ull, 1, 3);
    TEST_RR("rol", 0x0123456789abcdefull, 68, 0x123456789abcdef0ull);  /* shamt mod 64 */
    TEST_RR("ror", 3, 1, 0x8000000000000001ull);
    TEST_RR("ror", 0x0123456789abcdefull, 0, 0x0123456789abcdefull);
    TEST_RR("rolw", 0x80000001ull, 1, 3);
    TEST_RR("rolw", 0x40000000ull, 1, 0xffffffff80000000ull);
    TEST_RR("rolw", 0xffffffff12345678ull, 36, 0x23456781ull);          /* shamt mod 32 */
    TEST_RR("rorw", 3, 1, 0xffffffff80000001ull);
    TEST_RR("rorw", 0x12345678ull, 32, 0x12345678ull);
    TEST_RI("rori", 0x0123456789abcdefull, 4, 0xf0123456789abcdeull);
    TEST_RI("rori", 1, 63, 2);
    TEST_RI("roriw", 0x12345678ull, 4, 0xffffffff81234567ull);
    TEST_RI("roriw", 0xffffffff00000001ull, 0, 1);
    TEST_R("orc.b", 0x0001000010ff0000ull, 0x00ff0000ffff0000ull);
    TEST_R("orc.b", 0, 0);
    TEST_R("rev8", 0x0123456789abcdefull, 0xefcdab8967452301ull);
    return test_result();
}
