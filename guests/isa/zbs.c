/* Zbs: single-bit instructions (register and immediate forms). */
#include "test.h"

int main(void)
{
    TEST_RR("bclr", -1, 63, 0x7fffffffffffffffull);
    TEST_RR("bclr", -1, 64 + 1, 0xfffffffffffffffdull);   /* index mod 64 */
    TEST_RI("bclri", 0x100, 8, 0);
    TEST_RI("bclri", -1, 31, 0xffffffff7fffffffull);
    TEST_RR("bext", 0x8000000000000000ull, 63, 1);
    TEST_RR("bext", 0x8000000000000000ull, 62, 0);
    TEST_RR("bext", 0x10, 64 + 4, 1);
    TEST_RI("bexti", 0x100000000ull, 32, 1);
    TEST_RI("bexti", 0x100000000ull, 31, 0);
    TEST_RR("binv", 0, 63, 0x8000000000000000ull);
    TEST_RR("binv", 1, 0, 0);
    TEST_RI("binvi", 0xff, 4, 0xef);
    TEST_RI("binvi", 0, 40, 0x10000000000ull);
    TEST_RR("bset", 0, 127, 0x8000000000000000ull);
    TEST_RI("bseti", 0, 31, 0x80000000ull);              /* no sign extension */
    TEST_RI("bseti", 1, 0, 1);
    return test_result();
}
