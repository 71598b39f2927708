/* RV64D: double-precision arithmetic in all rounding modes (static and dynamic), fflags,
   canonical NaNs, fmin/fmax, conversions (incl. s<->d) with saturation, fclass, sign
   injection, fmv.x.d/fmv.d.x, fld/fsd, fused multiply-add, compares, sqrt, div. */
#include "fp.h"

#define DOP2(i, a, b) FOP2("d", i, a, b)
#define DOP1(i, a) FOP1("d", i, a)
#define DOP3(i, a, b, c) FOP3("d", i, a, b, c)

#define ONE 0x3ff0000000000000ull
#define TWO 0x4000000000000000ull
#define THREE 0x4008000000000000ull
#define MONE 0xbff0000000000000ull
#define PINF 0x7ff0000000000000ull
#define NINF 0xfff0000000000000ull
#define QNAN 0x7ff8000000000000ull
#define SNAN 0x7ff0000000000001ull
#define PZERO 0ull
#define NZERO 0x8000000000000000ull
#define MAXD 0x7fefffffffffffffull
#define HALFULP 0x3ca0000000000000ull   /* 2^-53 */
#define TQULP 0x3ca8000000000000ull     /* 3*2^-54 */
#define HALF 0x3fe0000000000000ull

int main(void)
{
    CHECKF("fadd.d", DOP2("fadd.d", ONE, TWO), THREE, 0);
    CHECKF("fsub.d", DOP2("fsub.d", ONE, TWO), MONE, 0);
    CHECKF("fmul.d", DOP2("fmul.d", TWO, THREE), 0x4018000000000000ull, 0);
    CHECKF("fdiv.d", DOP2("fdiv.d", THREE, TWO), 0x3ff8000000000000ull, 0);
    CHECKF("fdiv.d 1/3", DOP2("fdiv.d", ONE, THREE), 0x3fd5555555555555ull, NX);
    CHECKF("fdiv.d 1/3 rup", DOP2("fdiv.d ft2, ft0, ft1, rup\n#", ONE, THREE), 0x3fd5555555555556ull, NX);
    CHECKF("fsqrt.d 4", DOP1("fsqrt.d", 0x4010000000000000ull), TWO, 0);
    CHECKF("fsqrt.d 2", DOP1("fsqrt.d", TWO), 0x3ff6a09e667f3bcdull, NX);
    CHECKF("fsqrt.d -0", DOP1("fsqrt.d", NZERO), NZERO, 0);
    CHECKF("fsqrt.d -1", DOP1("fsqrt.d", MONE), QNAN, NV);

    /* static rounding modes */
    CHECKF("fadd.d rne tie", DOP2("fadd.d ft2, ft0, ft1, rne\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.d rtz tie", DOP2("fadd.d ft2, ft0, ft1, rtz\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.d rdn tie", DOP2("fadd.d ft2, ft0, ft1, rdn\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.d rup tie", DOP2("fadd.d ft2, ft0, ft1, rup\n#", ONE, HALFULP), ONE + 1, NX);
    CHECKF("fadd.d rmm tie", DOP2("fadd.d ft2, ft0, ft1, rmm\n#", ONE, HALFULP), ONE + 1, NX);
    CHECKF("fadd.d rne", DOP2("fadd.d ft2, ft0, ft1, rne\n#", ONE, TQULP), ONE + 1, NX);
    CHECKF("fadd.d rtz", DOP2("fadd.d ft2, ft0, ft1, rtz\n#", ONE, TQULP), ONE, NX);
    CHECKF("fsub.d rdn -tie", DOP2("fsub.d ft2, ft0, ft1, rdn\n#", MONE, HALFULP), MONE + 1, NX);
    CHECKF("fsub.d rup -tie", DOP2("fsub.d ft2, ft0, ft1, rup\n#", MONE, HALFULP), MONE, NX);
    CHECKF("fsub.d rmm -tie", DOP2("fsub.d ft2, ft0, ft1, rmm\n#", MONE, HALFULP), MONE + 1, NX);
    CHECKF("fsub.d rne -tie", DOP2("fsub.d ft2, ft0, ft1, rne\n#", MONE, HALFULP), MONE, NX);
    static const uint64_t dyn_neg[5] = { MONE, MONE, MONE + 1, MONE, MONE + 1 };
    for (int rm = 0; rm < 5; rm++) {
        write_csr(frm, rm);
        CHECKF("fsub.d dyn -tie", DOP2("fsub.d", MONE, HALFULP), dyn_neg[rm], NX);
    }
    write_csr(frm, 1);
    CHECKF("fcvt.l.d dyn rtz", FTOX("d", "fcvt.l.d", 0xc004000000000000ull), -2, NX);
    write_csr(frm, 0);

    /* flags */
    CHECKF("NV inf-inf", DOP2("fsub.d", PINF, PINF), QNAN, NV);
    CHECKF("NV 0*inf", DOP2("fmul.d", NZERO, NINF), QNAN, NV);
    CHECKF("DZ 1/0", DOP2("fdiv.d", ONE, PZERO), PINF, DZ);
    CHECKF("DZ -1/0", DOP2("fdiv.d", MONE, PZERO), NINF, DZ);
    CHECKF("NV 0/0", DOP2("fdiv.d", PZERO, PZERO), QNAN, NV);
    CHECKF("OF", DOP2("fadd.d", MAXD, MAXD), PINF, OF | NX);
    CHECKF("OF rdn", DOP2("fadd.d ft2, ft0, ft1, rdn\n#", MAXD, MAXD), MAXD, OF | NX);
    CHECKF("OF rdn negative", DOP2("fmul.d ft2, ft0, ft1, rdn\n#", MAXD, 0xc000000000000000ull), NINF, OF | NX);
    CHECKF("UF", DOP2("fmul.d", 1, HALF), 0, UF | NX);
    CHECKF("UF 3*0.5", DOP2("fmul.d", 3, HALF), 2, UF | NX);
    CHECKF("exact subnormal", DOP2("fmul.d", 4, HALF), 2, 0);
    CHECKF("NX", DOP2("fadd.d", ONE, 0x3c00000000000000ull), ONE, NX);

    /* NaNs */
    CHECKF("qNaN payload dropped", DOP2("fadd.d", 0x7ff8000000012345ull, ONE), QNAN, 0);
    CHECKF("sNaN NV", DOP2("fmul.d", SNAN, ONE), QNAN, NV);
    CHECKF("fmin.d qNaN,x", DOP2("fmin.d", QNAN, TWO), TWO, 0);
    CHECKF("fmax.d sNaN,x", DOP2("fmax.d", TWO, SNAN), TWO, NV);
    CHECKF("fmax.d NaN,NaN", DOP2("fmax.d", QNAN, 0xfff8000000000000ull), QNAN, 0);
    CHECKF("fmin.d", DOP2("fmin.d", MONE, TWO), MONE, 0);
    CHECKF("fmax.d", DOP2("fmax.d", MONE, TWO), TWO, 0);
    CHECKF("fmin.d -0,+0", DOP2("fmin.d", PZERO, NZERO), NZERO, 0);
    CHECKF("fmax.d -0,+0", DOP2("fmax.d", NZERO, PZERO), PZERO, 0);

    /* to integer */
    CHECKF("fcvt.w.d NaN", FTOX("d", "fcvt.w.d", QNAN), 0x7fffffff, NV);
    CHECKF("fcvt.w.d +inf", FTOX("d", "fcvt.w.d", PINF), 0x7fffffff, NV);
    CHECKF("fcvt.w.d -inf", FTOX("d", "fcvt.w.d", NINF), 0xffffffff80000000ull, NV);
    CHECKF("fcvt.w.d 3e9", FTOX("d", "fcvt.w.d", 0x41e65a0bc0000000ull), 0x7fffffff, NV);
    CHECKF("fcvt.w.d -3e9", FTOX("d", "fcvt.w.d", 0xc1e65a0bc0000000ull), 0xffffffff80000000ull, NV);
    CHECKF("fcvt.w.d 2^31-0.5 rne", FTOX("d", "fcvt.w.d", 0x41dfffffffe00000ull), 0x7fffffff, NV);
    CHECKF("fcvt.w.d 2^31-0.5 rtz", FTOX("d", "fcvt.w.d %0, ft0, rtz\n#", 0x41dfffffffe00000ull), 0x7fffffff, NX);
    CHECKF("fcvt.w.d -2^31", FTOX("d", "fcvt.w.d", 0xc1e0000000000000ull), 0xffffffff80000000ull, 0);
    CHECKF("fcvt.w.d 1.5 rne", FTOX("d", "fcvt.w.d %0, ft0, rne\n#", 0x3ff8000000000000ull), 2, NX);
    CHECKF("fcvt.w.d 1.5 rtz", FTOX("d", "fcvt.w.d %0, ft0, rtz\n#", 0x3ff8000000000000ull), 1, NX);
    CHECKF("fcvt.w.d -2.5 rdn", FTOX("d", "fcvt.w.d %0, ft0, rdn\n#", 0xc004000000000000ull), -3, NX);
    CHECKF("fcvt.w.d -2.5 rup", FTOX("d", "fcvt.w.d %0, ft0, rup\n#", 0xc004000000000000ull), -2, NX);
    CHECKF("fcvt.w.d -2.5 rmm", FTOX("d", "fcvt.w.d %0, ft0, rmm\n#", 0xc004000000000000ull), -3, NX);
    CHECKF("fcvt.w.d -2.5 rne", FTOX("d", "fcvt.w.d %0, ft0, rne\n#", 0xc004000000000000ull), -2, NX);
    CHECKF("fcvt.wu.d -1", FTOX("d", "fcvt.wu.d", MONE), 0, NV);
    CHECKF("fcvt.wu.d -0.5 rtz", FTOX("d", "fcvt.wu.d %0, ft0, rtz\n#", 0xbfe0000000000000ull), 0, NX);
    CHECKF("fcvt.wu.d 3e9", FTOX("d", "fcvt.wu.d", 0x41e65a0bc0000000ull), 0xffffffffb2d05e00ull, 0);
    CHECKF("fcvt.wu.d 5e9", FTOX("d", "fcvt.wu.d", 0x41f2a05f20000000ull), 0xffffffffffffffffull, NV);
    CHECKF("fcvt.wu.d NaN", FTOX("d", "fcvt.wu.d", QNAN), 0xffffffffffffffffull, NV);
    CHECKF("fcvt.l.d NaN", FTOX("d", "fcvt.l.d", QNAN), 0x7fffffffffffffffull, NV);
    CHECKF("fcvt.l.d +inf", FTOX("d", "fcvt.l.d", PINF), 0x7fffffffffffffffull, NV);
    CHECKF("fcvt.l.d -2^63", FTOX("d", "fcvt.l.d", 0xc3e0000000000000ull), 0x8000000000000000ull, 0);
    CHECKF("fcvt.l.d 2^63", FTOX("d", "fcvt.l.d", 0x43e0000000000000ull), 0x7fffffffffffffffull, NV);
    CHECKF("fcvt.lu.d 2^63", FTOX("d", "fcvt.lu.d", 0x43e0000000000000ull), 0x8000000000000000ull, 0);
    CHECKF("fcvt.lu.d -inf", FTOX("d", "fcvt.lu.d", NINF), 0, NV);
    CHECKF("fcvt.lu.d NaN", FTOX("d", "fcvt.lu.d", QNAN), 0xffffffffffffffffull, NV);

    /* from integer */
    CHECKF("fcvt.d.w -1", XTOF("d", "fcvt.d.w", -1), MONE, 0);
    CHECKF("fcvt.d.w low 32 bits", XTOF("d", "fcvt.d.w", 0x1ffffffffull), MONE, 0);
    CHECKF("fcvt.d.wu", XTOF("d", "fcvt.d.wu", 0xffffffffull), 0x41efffffffe00000ull, 0);
    CHECKF("fcvt.d.l 2^53+1", XTOF("d", "fcvt.d.l", 9007199254740993ull), 0x4340000000000000ull, NX);
    CHECKF("fcvt.d.l 2^53+1 rup", XTOF("d", "fcvt.d.l ft2, %2, rup\n#", 9007199254740993ull), 0x4340000000000001ull, NX);
    CHECKF("fcvt.d.lu 2^64-1", XTOF("d", "fcvt.d.lu", -1), 0x43f0000000000000ull, NX);
    CHECKF("fcvt.d.l -3", XTOF("d", "fcvt.d.l", -3), 0xc008000000000000ull, 0);

    /* s <-> d */
    CHECKF("fcvt.s.d 1e300", (uint32_t)FOP1("d", "fcvt.s.d", 0x7e37e43c8800759cull), 0x7f800000u, OF | NX);
    CHECKF("fcvt.s.d 1/3", (uint32_t)FOP1("d", "fcvt.s.d", 0x3fd5555555555555ull), 0x3eaaaaabu, NX);
    CHECKF("fcvt.s.d sNaN", (uint32_t)FOP1("d", "fcvt.s.d", SNAN), 0x7fc00000u, NV);
    CHECKF("fcvt.s.d tiny", (uint32_t)FOP1("d", "fcvt.s.d", 0x3596d601ad376ab9ull), 0, UF | NX);
    CHECKF("fcvt.s.d -0", (uint32_t)FOP1("d", "fcvt.s.d", NZERO), 0x80000000u, 0);
    uint64_t r;
    __asm__ volatile("fmv.d.x ft0, %1\n fcvt.s.d ft1, ft0\n fmv.x.d %0, ft1" : "=r"(r) : "r"(ONE) : "ft0", "ft1");
    CHECK("fcvt.s.d result boxed", r, 0xffffffff3f800000ull);
    __asm__ volatile("fmv.w.x ft0, %1\n fcvt.d.s ft1, ft0\n fmv.x.d %0, ft1" : "=r"(r) : "r"(0x3eaaaaabull) : "ft0", "ft1");
    CHECK("fcvt.d.s exact", r, 0x3fd5555560000000ull);
    __asm__ volatile("fmv.w.x ft0, %2\n csrw fflags, zero\n fcvt.d.s ft1, ft0\n fmv.x.d %0, ft1\n frflags %1"
                     : "=r"(r), "=r"(fl) : "r"(0x7f800001ull) : "ft0", "ft1");
    CHECK("fcvt.d.s sNaN", r, QNAN);
    CHECK("fcvt.d.s sNaN flags", fl, NV);
    __asm__ volatile("fmv.d.x ft0, %2\n csrw fflags, zero\n fcvt.d.s ft1, ft0\n fmv.x.d %0, ft1\n frflags %1"
                     : "=r"(r), "=r"(fl) : "r"(ONE) : "ft0", "ft1");
    CHECK("fcvt.d.s unboxed input -> NaN", r, QNAN);
    CHECK("fcvt.d.s unboxed flags", fl, 0);

    /* fclass */
    static const uint64_t cls_in[10] = { NINF, MONE, 0x8000000000000001ull, NZERO, PZERO, 1, ONE, PINF, SNAN, QNAN };
    for (int i = 0; i < 10; i++)
        CHECKF("fclass.d", FTOX("d", "fclass.d", cls_in[i]), 1u << i, 0);

    /* sign injection */
    CHECK("fsgnj.d", DOP2("fsgnj.d", ONE, NZERO), MONE);
    CHECK("fsgnjn.d", DOP2("fsgnjn.d", ONE, NZERO), ONE);
    CHECK("fsgnjn.d (fneg)", DOP2("fsgnjn.d", ONE, ONE), MONE);
    CHECK("fsgnjx.d", DOP2("fsgnjx.d", MONE, MONE), ONE);
    CHECKF("fsgnj.d keeps sNaN", DOP2("fsgnj.d", SNAN, NZERO), 0xfff0000000000001ull, 0);

    /* fmv / loads / stores */
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.x.d %0, ft0" : "=r"(r) : "r"(0x123456789abcdef0ull) : "ft0");
    CHECK("fmv.d.x/fmv.x.d", r, 0x123456789abcdef0ull);
    static volatile uint64_t dmem[2] = { 0x400921fb54442d18ull, 0 };
    __asm__ volatile("fld ft0, 0(%1)\n fsd ft0, 8(%1)\n fmv.x.d %0, ft0" : "=r"(r) : "r"(dmem) : "ft0", "memory");
    CHECK("fld", r, 0x400921fb54442d18ull);
    CHECK("fsd", dmem[1], 0x400921fb54442d18ull);
    __asm__ volatile("fmv.w.x ft0, %0\n fsd ft0, 8(%1)" :: "r"(0x3f800000ull), "r"(dmem) : "ft0", "memory");
    CHECK("fsd of boxed single", dmem[1], 0xffffffff3f800000ull);

    /* fused multiply-add */
    CHECKF("fmadd.d", DOP3("fmadd.d", TWO, THREE, ONE), 0x401c000000000000ull, 0);
    CHECKF("fmsub.d", DOP3("fmsub.d", TWO, THREE, ONE), 0x4014000000000000ull, 0);
    CHECKF("fnmsub.d", DOP3("fnmsub.d", TWO, THREE, ONE), 0xc014000000000000ull, 0);
    CHECKF("fnmadd.d", DOP3("fnmadd.d", TWO, THREE, ONE), 0xc01c000000000000ull, 0);
    CHECKF("fmadd.d single rounding", DOP3("fmadd.d", 0x3ff0000000000001ull, 0x3feffffffffffffeull, MONE), 0xb970000000000000ull, 0);
    CHECKF("fmadd.d inf*0+qNaN NV", DOP3("fmadd.d", PZERO, PINF, QNAN), QNAN, NV);
    CHECKF("fmsub.d rup", DOP3("fmsub.d ft2, ft0, ft1, ft3, rup\n#", ONE, ONE, 0x3c90000000000000ull), ONE, NX);
    CHECKF("fnmsub.d rdn zero", DOP3("fnmsub.d ft2, ft0, ft1, ft3, rdn\n#", ONE, ONE, ONE), NZERO, 0);

    /* compares */
    CHECKF("feq.d", FCMP("d", "feq.d", TWO, TWO), 1, 0);
    CHECKF("feq.d qNaN", FCMP("d", "feq.d", QNAN, QNAN), 0, 0);
    CHECKF("feq.d sNaN", FCMP("d", "feq.d", ONE, SNAN), 0, NV);
    CHECKF("flt.d", FCMP("d", "flt.d", NINF, MONE), 1, 0);
    CHECKF("flt.d -0 +0", FCMP("d", "flt.d", NZERO, PZERO), 0, 0);
    CHECKF("flt.d qNaN", FCMP("d", "flt.d", QNAN, ONE), 0, NV);
    CHECKF("fle.d", FCMP("d", "fle.d", MONE, MONE), 1, 0);
    CHECKF("fle.d sNaN", FCMP("d", "fle.d", SNAN, ONE), 0, NV);
    return test_result();
}
