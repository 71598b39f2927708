/* RV64M: multiply/divide incl. W forms, division by zero and signed overflow. */
#include "test.h"

#define MIN64 0x8000000000000000ull
#define MIN32 0xffffffff80000000ull

int main(void)
{
    TEST_RR("mul", 7, -3, -21);
    TEST_RR("mul", 0x100000001ull, 0x100000001ull, 0x200000001ull);
    TEST_RR("mul", MIN64, -1, MIN64);
    TEST_RR("mulh", -1, -1, 0);
    TEST_RR("mulh", MIN64, MIN64, 0x4000000000000000ull);
    TEST_RR("mulh", 0x7fffffffffffffffull, -2, -1);
    TEST_RR("mulh", 0x123456789abcdefull, 0xfedcba987654321ull, 0x121fa00ad77d74ull);
    TEST_RR("mulhu", -1, -1, 0xfffffffffffffffeull);
    TEST_RR("mulhu", MIN64, 2, 1);
    TEST_RR("mulhsu", -1, -1, -1);                 /* -1 * (2^64-1) = -(2^64-1): hi = -1 */
    TEST_RR("mulhsu", -2, 3, -1);
    TEST_RR("mulhsu", 2, -1, 1);
    TEST_RR("mulhsu", MIN64, -1, 0x8000000000000000ull);
    TEST_RR("mulw", 0x7fffffff, 2, 0xfffffffffffffffeull);
    TEST_RR("mulw", 0xffffffff00010000ull, 0x10000, 0);
    TEST_RR("mulw", 0x12345678, 0x10, 0x23456780);

    TEST_RR("div", 20, -3, -6);
    TEST_RR("div", -20, 3, -6);
    TEST_RR("div", -20, -3, 6);
    TEST_RR("div", 5, 0, -1);
    TEST_RR("div", MIN64, -1, MIN64);
    TEST_RR("divu", 20, 3, 6);
    TEST_RR("divu", -1, 2, 0x7fffffffffffffffull);
    TEST_RR("divu", 5, 0, -1);
    TEST_RR("rem", 20, -3, 2);
    TEST_RR("rem", -20, 3, -2);
    TEST_RR("rem", 5, 0, 5);
    TEST_RR("rem", MIN64, -1, 0);
    TEST_RR("remu", 20, 3, 2);
    TEST_RR("remu", -1, 0, -1);
    TEST_RR("remu", -1, 10, 5);

    TEST_RR("divw", 0xffffffff00000014ull, -3, -6);   /* upper bits ignored */
    TEST_RR("divw", 5, 0, -1);
    TEST_RR("divw", 0x80000000, -1, MIN32);
    TEST_RR("divw", -20, 3, -6);
    TEST_RR("divuw", 0xfffffffe, 2, 0x7fffffff);
    TEST_RR("divuw", 0xffffffff, 1, -1);              /* result sign-extended */
    TEST_RR("divuw", 5, 0x100000000ull, -1);          /* divisor low word 0 */
    TEST_RR("remw", -20, 3, -2);
    TEST_RR("remw", 0x80000000, -1, 0);
    TEST_RR("remw", 0x1234500000005ull, 0, 5);
    TEST_RR("remw", 0x80000000, 0, MIN32);            /* dividend sign-extended */
    TEST_RR("remuw", 0xffffffff, 0x10, 0xf);
    TEST_RR("remuw", 0x80000001, 0, MIN32 + 1);
    TEST_RR("remuw", 0xfffffff7ull, 0xfffffff8ull, 0xfffffffffffffff7ull);
    return test_result();
}
