/* Zba: address generation (add.uw, shNadd, shNadd.uw, slli.uw). */
#include "test.h"

int main(void)
{
    TEST_RR("add.uw", 0xffffffff80000001ull, 0x10, 0x80000011ull);
    TEST_RR("add.uw", 0x123456789ull, -1, 0x23456788ull);
    TEST_RR("sh1add", 3, 100, 106);
    TEST_RR("sh1add", 0x8000000000000001ull, 0, 2);
    TEST_RR("sh2add", -1, 8, 4);
    TEST_RR("sh3add", 5, 1, 41);
    TEST_RR("sh1add.uw", 0xffffffff80000000ull, 1, 0x100000001ull);
    TEST_RR("sh2add.uw", 0xfffffffff0000001ull, 0, 0x3c0000004ull);
    TEST_RR("sh3add.uw", 0x1ffffffffull, 8, 0x800000000ull);
    TEST_RI("slli.uw", 0xffffffff80000001ull, 0, 0x80000001ull);
    TEST_RI("slli.uw", 0xffffffff80000001ull, 4, 0x800000010ull);
    TEST_RI("slli.uw", 0xffffffffffffffffull, 63, 0x8000000000000000ull);
    TEST_RI("slli.uw", 0x00000000ffffffffull, 32, 0xffffffff00000000ull);
    /* zext.w is the add.uw rd, rs, zero alias */
    TEST_R("zext.w", 0xfedcba9876543210ull, 0x76543210ull);
    return test_result();
}
