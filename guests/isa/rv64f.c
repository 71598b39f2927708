/* RV64F: single-precision arithmetic in all rounding modes (static and dynamic via frm),
   fflags for every exception, NaN-boxing, canonical NaNs, fmin/fmax, conversions with
   saturation, fclass, sign injection, fmv, fused multiply-add, compares, sqrt, div. */
#include "fp.h"

#define S32(x) ((uint64_t)(uint32_t)(x))
#define SOP2(i, a, b) S32(FOP2("w", i, a, b))
#define SOP1(i, a) S32(FOP1("w", i, a))
#define SOP3(i, a, b, c) S32(FOP3("w", i, a, b, c))

#define ONE 0x3f800000u
#define TWO 0x40000000u
#define THREE 0x40400000u
#define MONE 0xbf800000u
#define PINF 0x7f800000u
#define NINF 0xff800000u
#define QNAN 0x7fc00000u
#define SNAN 0x7f800001u
#define PZERO 0u
#define NZERO 0x80000000u
#define MAXF 0x7f7fffffu
#define HALFULP 0x33800000u      /* 2^-24: 1 + this is a tie */
#define TQULP 0x33c00000u        /* 3*2^-25: 1 + this rounds up to nearest */

int main(void)
{
    /* ---- basic arithmetic ---- */
    CHECKF("fadd.s", SOP2("fadd.s", ONE, TWO), THREE, 0);
    CHECKF("fsub.s", SOP2("fsub.s", ONE, TWO), MONE, 0);
    CHECKF("fmul.s", SOP2("fmul.s", TWO, THREE), 0x40c00000u, 0);
    CHECKF("fdiv.s", SOP2("fdiv.s", THREE, TWO), 0x3fc00000u, 0);
    CHECKF("fdiv.s 1/3", SOP2("fdiv.s", ONE, THREE), 0x3eaaaaabu, NX);
    CHECKF("fsqrt.s 4", SOP1("fsqrt.s", 0x40800000u), TWO, 0);
    CHECKF("fsqrt.s 2", SOP1("fsqrt.s", TWO), 0x3fb504f3u, NX);
    CHECKF("fsqrt.s -0", SOP1("fsqrt.s", NZERO), NZERO, 0);
    CHECKF("fsqrt.s -1", SOP1("fsqrt.s", MONE), QNAN, NV);
    CHECKF("fsqrt.s +inf", SOP1("fsqrt.s", PINF), PINF, 0);

    /* ---- static rounding modes: 1 + 2^-24 (tie) and 1 + 3*2^-25 ---- */
    CHECKF("fadd.s rne tie", SOP2("fadd.s ft2, ft0, ft1, rne\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.s rtz tie", SOP2("fadd.s ft2, ft0, ft1, rtz\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.s rdn tie", SOP2("fadd.s ft2, ft0, ft1, rdn\n#", ONE, HALFULP), ONE, NX);
    CHECKF("fadd.s rup tie", SOP2("fadd.s ft2, ft0, ft1, rup\n#", ONE, HALFULP), ONE + 1, NX);
    CHECKF("fadd.s rmm tie", SOP2("fadd.s ft2, ft0, ft1, rmm\n#", ONE, HALFULP), ONE + 1, NX);
    CHECKF("fadd.s rne", SOP2("fadd.s ft2, ft0, ft1, rne\n#", ONE, TQULP), ONE + 1, NX);
    CHECKF("fadd.s rtz", SOP2("fadd.s ft2, ft0, ft1, rtz\n#", ONE, TQULP), ONE, NX);
    CHECKF("fadd.s rdn", SOP2("fadd.s ft2, ft0, ft1, rdn\n#", ONE, TQULP), ONE, NX);
    CHECKF("fadd.s rup", SOP2("fadd.s ft2, ft0, ft1, rup\n#", ONE, TQULP), ONE + 1, NX);
    CHECKF("fadd.s rmm", SOP2("fadd.s ft2, ft0, ft1, rmm\n#", ONE, TQULP), ONE + 1, NX);
    /* negative tie: -1 - 2^-24 */
    CHECKF("fsub.s rne -tie", SOP2("fsub.s ft2, ft0, ft1, rne\n#", MONE, HALFULP), MONE, NX);
    CHECKF("fsub.s rtz -tie", SOP2("fsub.s ft2, ft0, ft1, rtz\n#", MONE, HALFULP), MONE, NX);
    CHECKF("fsub.s rdn -tie", SOP2("fsub.s ft2, ft0, ft1, rdn\n#", MONE, HALFULP), MONE + 1, NX);
    CHECKF("fsub.s rup -tie", SOP2("fsub.s ft2, ft0, ft1, rup\n#", MONE, HALFULP), MONE, NX);
    CHECKF("fsub.s rmm -tie", SOP2("fsub.s ft2, ft0, ft1, rmm\n#", MONE, HALFULP), MONE + 1, NX);
    /* dynamic rounding via frm */
    static const uint32_t dyn_tie[5] = { ONE, ONE, ONE, ONE + 1, ONE + 1 };
    for (int rm = 0; rm < 5; rm++) {
        write_csr(frm, rm);
        CHECKF("fadd.s dyn tie", SOP2("fadd.s ft2, ft0, ft1, dyn\n#", ONE, HALFULP), dyn_tie[rm], NX);
        CHECK("frm preserved", read_csr(frm), rm);
    }
    /* dynamic rounding affects fcvt and fdiv too */
    write_csr(frm, 2); /* rdn */
    CHECKF("fdiv.s dyn rdn 1/3", SOP2("fdiv.s", ONE, THREE), 0x3eaaaaaau, NX);
    CHECKF("fcvt.w.s dyn rdn -1.5", FTOX("w", "fcvt.w.s", 0xbfc00000u), -2, NX);
    write_csr(frm, 0);
    /* invalid frm values (5, 6 reserved; 7 in frm) make dynamic-rm instructions illegal */
    write_csr(frm, 5);
    trap_reset();
    __asm__ volatile("fadd.s ft0, ft0, ft0, dyn");
    CHECK("frm=5 dyn illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    write_csr(frm, 7);
    trap_reset();
    __asm__ volatile("fadd.s ft0, ft0, ft0, dyn");
    CHECK("frm=7 dyn illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
    trap_reset();
    __asm__ volatile("fadd.s ft0, ft0, ft0, rtz");
    CHECK("frm=7 static ok", trap.count, 0);
    write_csr(frm, 0);
    trap_reset();
    __asm__ volatile(".word 0x00000053 | (5 << 12)");   /* fadd.s ft0,ft0,ft0 with rm=5 */
    CHECK("static rm=5 illegal", trap.cause, CAUSE_ILLEGAL_INSTRUCTION);

    /* ---- exception flags ---- */
    CHECKF("NV inf-inf", SOP2("fsub.s", PINF, PINF), QNAN, NV);
    CHECKF("NV 0*inf", SOP2("fmul.s", PZERO, PINF), QNAN, NV);
    CHECKF("NV 0/0", SOP2("fdiv.s", PZERO, PZERO), QNAN, NV);
    CHECKF("DZ 1/0", SOP2("fdiv.s", ONE, PZERO), PINF, DZ);
    CHECKF("DZ -1/0", SOP2("fdiv.s", MONE, PZERO), NINF, DZ);
    CHECKF("DZ 1/-0", SOP2("fdiv.s", ONE, NZERO), NINF, DZ);
    CHECKF("inf/0 no DZ", SOP2("fdiv.s", PINF, PZERO), PINF, 0);
    CHECKF("OF", SOP2("fmul.s", MAXF, TWO), PINF, OF | NX);
    CHECKF("OF rtz", SOP2("fmul.s ft2, ft0, ft1, rtz\n#", MAXF, TWO), MAXF, OF | NX);
    CHECKF("UF", SOP2("fmul.s", 0x00000001u, 0x3f000000u), 0, UF | NX);
    CHECKF("UF subnormal inexact", SOP2("fmul.s", 0x00000003u, 0x3f000000u), 2, UF | NX);
    CHECKF("exact subnormal no UF", SOP2("fmul.s", 0x00800000u, 0x3f000000u), 0x00400000u, 0);
    CHECKF("NX", SOP2("fadd.s", ONE, 0x33000000u), ONE, NX);
    /* flags accumulate */
    write_csr(fflags, 0);
    __asm__ volatile("fmv.w.x ft0, %0\n fmv.w.x ft1, zero\n fdiv.s ft2, ft0, ft1\n fsqrt.s ft2, ft1\n fdiv.s ft2, ft1, ft1"
                     :: "r"((uint64_t)ONE) : "ft0", "ft1", "ft2");
    CHECK("flags accumulate", read_csr(fflags), DZ | NV);
    write_csr(fflags, 0);

    /* ---- NaN handling: canonical NaN results, no payload propagation ---- */
    CHECKF("qNaN payload not propagated", SOP2("fadd.s", 0x7fc12345u, ONE), QNAN, 0);
    CHECKF("sNaN operand NV", SOP2("fadd.s", SNAN, ONE), QNAN, NV);
    CHECKF("negative NaN -> canonical", SOP2("fmul.s", 0xffc00000u, ONE), QNAN, 0);
    /* NaN-boxing: improperly boxed singles read as canonical NaN */
    uint64_t r;
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.w.x ft1, %2\n fadd.s ft2, ft0, ft1\n fmv.x.w %0, ft2"
                     : "=r"(r) : "r"(0x000000003f800000ull), "r"((uint64_t)ONE) : "ft0", "ft1", "ft2");
    CHECK("unboxed input is NaN", S32(r), QNAN);
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.w.x ft1, %2\n fadd.s ft2, ft0, ft1\n fmv.x.w %0, ft2"
                     : "=r"(r) : "r"(0xfffffffe3f800000ull), "r"((uint64_t)ONE) : "ft0", "ft1", "ft2");
    CHECK("partly boxed input is NaN", S32(r), QNAN);
    __asm__ volatile("fmv.d.x ft0, %1\n fsgnj.s ft2, ft0, ft0\n fmv.x.d %0, ft2"
                     : "=r"(r) : "r"(0x123456783f800000ull) : "ft0", "ft2");
    CHECK("fmv.s of unboxed -> boxed canonical NaN", r, 0xffffffff7fc00000ull);
    __asm__ volatile("fmv.d.x ft0, %1\n fclass.s %0, ft0" : "=r"(r) : "r"(0x00000000ff800000ull) : "ft0");
    CHECK("fclass.s unboxed = qNaN", r, 1 << 9);
    /* results are boxed */
    __asm__ volatile("fmv.w.x ft0, %1\n fadd.s ft2, ft0, ft0\n fmv.x.d %0, ft2" : "=r"(r) : "r"((uint64_t)ONE) : "ft0", "ft2");
    CHECK("fadd.s result boxed", r, 0xffffffff40000000ull);
    __asm__ volatile("fmv.w.x ft0, %1\n fmv.x.d %0, ft0" : "=r"(r) : "r"(0x123456789abcdef0ull) : "ft0");
    CHECK("fmv.w.x boxes", r, 0xffffffff9abcdef0ull);
    static volatile uint32_t wmem[2] = { 0x40490fdbu, 0 };
    __asm__ volatile("flw ft0, 0(%1)\n fmv.x.d %0, ft0\n fsw ft0, 4(%1)" : "=r"(r) : "r"(wmem) : "ft0", "memory");
    CHECK("flw boxes", r, 0xffffffff40490fdbull);
    CHECK("fsw", wmem[1], 0x40490fdbu);
    __asm__ volatile("fmv.d.x ft0, %0\n fsw ft0, 4(%1)" :: "r"(0x1122334455667788ull), "r"(wmem) : "ft0", "memory");
    CHECK("fsw stores low bits of unboxed value", wmem[1], 0x55667788u);
    /* fmv.x.w sign-extends */
    __asm__ volatile("fmv.w.x ft0, %1\n fmv.x.w %0, ft0" : "=r"(r) : "r"((uint64_t)0x80000000u) : "ft0");
    CHECK("fmv.x.w sign-extends", r, 0xffffffff80000000ull);
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.x.w %0, ft0" : "=r"(r) : "r"(0x12345678fedcba98ull) : "ft0");
    CHECK("fmv.x.w unboxed: raw low bits", r, 0xfffffffffedcba98ull);

    /* ---- fmin / fmax ---- */
    CHECKF("fmin.s", SOP2("fmin.s", ONE, MONE), MONE, 0);
    CHECKF("fmax.s", SOP2("fmax.s", ONE, MONE), ONE, 0);
    CHECKF("fmin.s qNaN,x", SOP2("fmin.s", QNAN, ONE), ONE, 0);
    CHECKF("fmax.s x,qNaN", SOP2("fmax.s", ONE, QNAN), ONE, 0);
    CHECKF("fmin.s sNaN,x", SOP2("fmin.s", SNAN, ONE), ONE, NV);
    CHECKF("fmin.s NaN,NaN", SOP2("fmin.s", 0x7fc11111u, 0x7f800002u), QNAN, NV);
    CHECKF("fmin.s -0,+0", SOP2("fmin.s", PZERO, NZERO), NZERO, 0);
    CHECKF("fmax.s -0,+0", SOP2("fmax.s", NZERO, PZERO), PZERO, 0);

    /* ---- conversions to integer (saturation, NV, NX) ---- */
    CHECKF("fcvt.w.s NaN", FTOX("w", "fcvt.w.s", QNAN), 0x7fffffff, NV);
    CHECKF("fcvt.w.s +inf", FTOX("w", "fcvt.w.s", PINF), 0x7fffffff, NV);
    CHECKF("fcvt.w.s -inf", FTOX("w", "fcvt.w.s", NINF), 0xffffffff80000000ull, NV);
    CHECKF("fcvt.w.s 3e9", FTOX("w", "fcvt.w.s", 0x4f32d05eu), 0x7fffffff, NV);
    CHECKF("fcvt.w.s -3e9", FTOX("w", "fcvt.w.s", 0xcf32d05eu), 0xffffffff80000000ull, NV);
    CHECKF("fcvt.w.s -2^31", FTOX("w", "fcvt.w.s", 0xcf000000u), 0xffffffff80000000ull, 0);
    CHECKF("fcvt.w.s 1.5 rne", FTOX("w", "fcvt.w.s %0, ft0, rne\n#", 0x3fc00000u), 2, NX);
    CHECKF("fcvt.w.s 1.5 rtz", FTOX("w", "fcvt.w.s %0, ft0, rtz\n#", 0x3fc00000u), 1, NX);
    CHECKF("fcvt.w.s 1.5 rdn", FTOX("w", "fcvt.w.s %0, ft0, rdn\n#", 0x3fc00000u), 1, NX);
    CHECKF("fcvt.w.s 1.5 rup", FTOX("w", "fcvt.w.s %0, ft0, rup\n#", 0x3fc00000u), 2, NX);
    CHECKF("fcvt.w.s 1.5 rmm", FTOX("w", "fcvt.w.s %0, ft0, rmm\n#", 0x3fc00000u), 2, NX);
    CHECKF("fcvt.w.s -2.5 rne", FTOX("w", "fcvt.w.s %0, ft0, rne\n#", 0xc0200000u), -2, NX);
    CHECKF("fcvt.w.s -2.5 rmm", FTOX("w", "fcvt.w.s %0, ft0, rmm\n#", 0xc0200000u), -3, NX);
    CHECKF("fcvt.w.s -2.5 rup", FTOX("w", "fcvt.w.s %0, ft0, rup\n#", 0xc0200000u), -2, NX);
    CHECKF("fcvt.wu.s -1", FTOX("w", "fcvt.wu.s", MONE), 0, NV);
    CHECKF("fcvt.wu.s -0.5 rtz", FTOX("w", "fcvt.wu.s %0, ft0, rtz\n#", 0xbf000000u), 0, NX);
    CHECKF("fcvt.wu.s NaN", FTOX("w", "fcvt.wu.s", QNAN), 0xffffffffffffffffull, NV);
    CHECKF("fcvt.wu.s 3e9", FTOX("w", "fcvt.wu.s", 0x4f32d05eu), 0xffffffffb2d05e00ull, 0);
    CHECKF("fcvt.wu.s 5e9", FTOX("w", "fcvt.wu.s", 0x4f9502f9u), 0xffffffffffffffffull, NV);
    CHECKF("fcvt.l.s NaN", FTOX("w", "fcvt.l.s", QNAN), 0x7fffffffffffffffull, NV);
    CHECKF("fcvt.l.s -inf", FTOX("w", "fcvt.l.s", NINF), 0x8000000000000000ull, NV);
    CHECKF("fcvt.l.s 3e9", FTOX("w", "fcvt.l.s", 0x4f32d05eu), 3000000000ull, 0);
    CHECKF("fcvt.lu.s -inf", FTOX("w", "fcvt.lu.s", NINF), 0, NV);
    CHECKF("fcvt.lu.s +inf", FTOX("w", "fcvt.lu.s", PINF), 0xffffffffffffffffull, NV);
    CHECKF("fcvt.lu.s 2^63", FTOX("w", "fcvt.lu.s", 0x5f000000u), 0x8000000000000000ull, 0);

    /* ---- conversions from integer ---- */
    CHECKF("fcvt.s.w -1", S32(XTOF("w", "fcvt.s.w", -1)), MONE, 0);
    CHECKF("fcvt.s.w uses low 32 bits", S32(XTOF("w", "fcvt.s.w", 0x100000003ull)), THREE, 0);
    CHECKF("fcvt.s.wu 0xffffffff", S32(XTOF("w", "fcvt.s.wu", 0xffffffffull)), 0x4f800000u, NX);
    CHECKF("fcvt.s.l 2^24+1", S32(XTOF("w", "fcvt.s.l", 16777217)), 0x4b800000u, NX);
    CHECKF("fcvt.s.l 2^24+1 rup", S32(XTOF("w", "fcvt.s.l ft2, %2, rup\n#", 16777217)), 0x4b800001u, NX);
    CHECKF("fcvt.s.l -2^63", S32(XTOF("w", "fcvt.s.l", 0x8000000000000000ull)), 0xdf000000u, 0);
    CHECKF("fcvt.s.lu 2^64-1", S32(XTOF("w", "fcvt.s.lu", -1)), 0x5f800000u, NX);
    CHECKF("fcvt.s.w 0 is +0", S32(XTOF("w", "fcvt.s.w", 0)), 0, 0);

    /* ---- fclass ---- */
    static const uint32_t cls_in[10] = { NINF, MONE, 0x80000001u, NZERO, PZERO, 1, ONE, PINF, SNAN, QNAN };
    for (int i = 0; i < 10; i++)
        CHECKF("fclass.s", FTOX("w", "fclass.s", cls_in[i]), 1u << i, 0);

    /* ---- sign injection ---- */
    CHECK("fsgnj.s", SOP2("fsgnj.s", ONE, 0x80000000u), MONE);
    CHECK("fsgnj.s +", SOP2("fsgnj.s", MONE, 0x00000000u), ONE);
    CHECK("fsgnjn.s", SOP2("fsgnjn.s", ONE, 0x80000000u), ONE);
    CHECK("fsgnjn.s (fneg)", SOP2("fsgnjn.s", ONE, ONE), MONE);
    CHECK("fsgnjx.s", SOP2("fsgnjx.s", MONE, 0x80000000u), ONE);
    CHECK("fsgnjx.s (fabs)", SOP2("fsgnjx.s", MONE, MONE), ONE);
    CHECKF("fsgnj.s NaN no NV", SOP2("fsgnj.s", SNAN, NZERO), 0xff800001u, 0);

    /* ---- fused multiply-add ---- */
    CHECKF("fmadd.s", SOP3("fmadd.s", TWO, THREE, ONE), 0x40e00000u, 0);     /* 7 */
    CHECKF("fmsub.s", SOP3("fmsub.s", TWO, THREE, ONE), 0x40a00000u, 0);     /* 5 */
    CHECKF("fnmsub.s", SOP3("fnmsub.s", TWO, THREE, ONE), 0xc0a00000u, 0);   /* -5 */
    CHECKF("fnmadd.s", SOP3("fnmadd.s", TWO, THREE, ONE), 0xc0e00000u, 0);   /* -7 */
    CHECKF("fmadd.s single rounding", SOP3("fmadd.s", 0x3f800001u, 0x3f7ffffeu, MONE), 0xa8800000u, 0);
    CHECKF("fmadd.s inf*0+qNaN NV", SOP3("fmadd.s", PINF, PZERO, QNAN), QNAN, NV);
    CHECKF("fmadd.s inf-inf", SOP3("fmadd.s", PINF, ONE, NINF), QNAN, NV);
    CHECKF("fnmadd.s -0", SOP3("fnmadd.s", PZERO, ONE, PZERO), NZERO, 0);
    CHECKF("fmadd.s rdn exact zero", SOP3("fmadd.s ft2, ft0, ft1, ft3, rdn\n#", ONE, ONE, MONE), NZERO, 0);

    /* ---- compares ---- */
    CHECKF("feq.s", FCMP("w", "feq.s", ONE, ONE), 1, 0);
    CHECKF("feq.s -0 +0", FCMP("w", "feq.s", NZERO, PZERO), 1, 0);
    CHECKF("feq.s qNaN quiet", FCMP("w", "feq.s", QNAN, ONE), 0, 0);
    CHECKF("feq.s sNaN NV", FCMP("w", "feq.s", SNAN, ONE), 0, NV);
    CHECKF("flt.s", FCMP("w", "flt.s", MONE, ONE), 1, 0);
    CHECKF("flt.s equal", FCMP("w", "flt.s", ONE, ONE), 0, 0);
    CHECKF("flt.s qNaN signals", FCMP("w", "flt.s", QNAN, ONE), 0, NV);
    CHECKF("fle.s", FCMP("w", "fle.s", ONE, ONE), 1, 0);
    CHECKF("fle.s -0 +0", FCMP("w", "fle.s", PZERO, NZERO), 1, 0);
    CHECKF("fle.s qNaN signals", FCMP("w", "fle.s", ONE, QNAN), 0, NV);
    return test_result();
}
