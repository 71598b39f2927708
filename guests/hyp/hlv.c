/* The hypervisor's virtual-machine loads and stores: HLV, HLVX and HSV access memory through both
   translation stages as VS-mode (hstatus.SPVP = 1) or VU-mode (SPVP = 0) would, from HS-mode
   (where hypervisors run them) or, with hstatus.HU, U-mode; HLVX reads need execute permission, not read; faults are
   guest faults with GVA set. mstatus.MPRV with MPV does the same for ordinary loads and stores. */
#include "test.h"
#include "hyp.h"

typedef uint64_t pte_t;
static pte_t groot[2048] __attribute__((aligned(16384)));
static pte_t vsroot[512] __attribute__((aligned(4096)));
static pte_t vsl1[512] __attribute__((aligned(4096)));
static pte_t vsl0[512] __attribute__((aligned(4096)));
static uint8_t pages[4][4096] __attribute__((aligned(4096)));

#define VA 0xC0000000ull
#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)

static long hlv_d(long va) { long v; __asm__ volatile(WITH_H("hlv.d %0, (%1)") : "=r"(v) : "r"(va) : "memory"); return v; }
static long hlv_b(long va) { long v; __asm__ volatile(WITH_H("hlv.b %0, (%1)") : "=r"(v) : "r"(va) : "memory"); return v; }
static long hlv_hu(long va) { long v; __asm__ volatile(WITH_H("hlv.hu %0, (%1)") : "=r"(v) : "r"(va) : "memory"); return v; }
static long hlv_w(long va) { long v; __asm__ volatile(WITH_H("hlv.w %0, (%1)") : "=r"(v) : "r"(va) : "memory"); return v; }
static long hlvx_wu(long va) { long v; __asm__ volatile(WITH_H("hlvx.wu %0, (%1)") : "=r"(v) : "r"(va) : "memory"); return v; }
static long hsv_d(long va) { __asm__ volatile(WITH_H("hsv.d %1, (%0)") :: "r"(va), "r"(0x1122334455667788ull) : "memory"); return 0; }
static long hsv_b(long va) { __asm__ volatile(WITH_H("hsv.b %1, (%0)") :: "r"(va), "r"(0xAB) : "memory"); return 0; }

static void hfence(void) { __asm__ volatile(WITH_H("hfence.vvma") ::: "memory"); }

static uint64_t cause_of(int mode, long (*fn)(long), long va)
{
    hfence();
    trap_reset();
    run_in_mode(mode, fn, va);
    return trap.count ? trap.cause : 0;
}

static long mprv_load(long va)
{
    /* M-mode with MPRV, MPV = 1 and MPP = S: a VS-level load */
    uint64_t s = read_csr(mstatus);
    write_csr(mstatus, (s & ~MSTATUS_MPP) | MSTATUS_MPP_S | MSTATUS_MPV | MSTATUS_MPRV);
    long v = *(volatile uint64_t *)va;
    write_csr(mstatus, s);
    return v;
}

int main(void)
{
    /* G-stage: guest physical 0x80000000 = host physical (a gigapage); guest physical 4 GiB = pages[] */
    groot[2] = (0x80000000ull >> 12 << 10) | PTE_V | PTE_U | RWX | AD;
    static pte_t gl1[512] __attribute__((aligned(4096))), gl0[512] __attribute__((aligned(4096)));
    groot[4] = ((uint64_t)gl1 >> 12 << 10) | PTE_V;
    gl1[0] = ((uint64_t)gl0 >> 12 << 10) | PTE_V;
    gl0[0] = ((uint64_t)pages[0] >> 12 << 10) | PTE_V | PTE_U | PTE_R | PTE_W | AD;
    gl0[1] = ((uint64_t)pages[1] >> 12 << 10) | PTE_V | PTE_U | PTE_R | AD;        /* read-only */
    gl0[2] = ((uint64_t)pages[2] >> 12 << 10) | PTE_V | PTE_U | PTE_X | AD;        /* execute-only */
    /* VS-stage: VA 0xC0000000.. -> guest physical 4 GiB..: page 0 supervisor, page 1 user, page 2 user X-only */
    vsroot[2] = (0x80000000ull >> 12 << 10) | PTE_V | RWX | AD;
    vsroot[3] = ((uint64_t)vsl1 >> 12 << 10) | PTE_V;
    vsl1[0] = ((uint64_t)vsl0 >> 12 << 10) | PTE_V;
    vsl0[0] = (0x100000000ull >> 12 << 10) | PTE_V | PTE_R | PTE_W | AD;
    vsl0[1] = (0x100001000ull >> 12 << 10) | PTE_V | PTE_U | PTE_R | PTE_W | AD;
    vsl0[2] = (0x100002000ull >> 12 << 10) | PTE_V | PTE_U | PTE_X | AD;
    write_csr(hgatp, (8ull << 60) | ((uint64_t)groot >> 12));
    write_csr(vsatp, (8ull << 60) | ((uint64_t)vsroot >> 12));
    __asm__ volatile(WITH_H("hfence.gvma\nhfence.vvma") ::: "memory");
    *(volatile uint64_t *)pages[0] = 0x8877665544332211ull;
    *(volatile uint64_t *)pages[1] = 0xF0E0D0C0B0A09080ull;
    *(volatile uint32_t *)pages[2] = 0xDEADBEEF;

    /* From HS-mode, as VS (SPVP = 1). QEMU 7.2 checks the VS-stage's leaf permissions of HLV and
       HLVX as for its own mode, not hstatus.SPVP's (nor HLVX's execute-for-read), and reports
       some of those as access faults: where it departs, the specification is what is checked. */
    write_csr(hstatus, HSTATUS_SPVP);
    CHECK("hlv.d as VS", run_in_mode(1, hlv_d, VA), 0x8877665544332211ull);
    CHECK("hlv.b sign-extends", run_in_mode(1, hlv_b, VA + 7), 0xFFFFFFFFFFFFFF88ull);
    CHECK("hlv.hu zero-extends", run_in_mode(1, hlv_hu, VA + 6), 0x8877);
    CHECK("hlv.w sign-extends", run_in_mode(1, hlv_w, VA + 4), 0xFFFFFFFF88776655ull);
    run_in_mode(1, hsv_d, VA + 8);
    CHECK("hsv.d as VS", *(volatile uint64_t *)(pages[0] + 8), 0x1122334455667788ull);
    run_in_mode(1, hsv_b, VA + 8);
    CHECK("hsv.b", *(volatile uint64_t *)(pages[0] + 8), 0x11223344556677ABull);
    CHECK_SPEC("as VS: a user page without SUM", cause_of(1, hlv_d, VA + 0x1000), CAUSE_LOAD_PAGE_FAULT, 0);
    CHECK_SPEC("  GVA", (trap.mstatus & MSTATUS_GVA) != 0, 1, 0);
    CHECK("  MPV stays clear (from HS)", (trap.mstatus & MSTATUS_MPV) != 0, 0);
    CHECK_SPEC("  mtval", trap.tval, VA + 0x1000, 0);
    write_csr(vsstatus, MSTATUS_SUM);
    CHECK("  with vsstatus.SUM", run_in_mode(1, hlv_d, VA + 0x1000), 0xF0E0D0C0B0A09080ull);
    write_csr(vsstatus, 0);

    /* As VU (SPVP = 0) */
    write_csr(hstatus, 0);
    CHECK("as VU: a user page", run_in_mode(1, hlv_d, VA + 0x1000), 0xF0E0D0C0B0A09080ull);
    CHECK_SPEC("as VU: a supervisor page", cause_of(1, hlv_d, VA), CAUSE_LOAD_PAGE_FAULT, CAUSE_LOAD_ACCESS);
    CHECK("as VU: store to a G-stage read-only page", cause_of(1, hsv_d, VA + 0x1000), CAUSE_STORE_GUEST_PAGE_FAULT);
    CHECK_SPEC("  GVA", (trap.mstatus & MSTATUS_GVA) != 0, 1, 0);
    CHECK_SPEC("hlv of an execute-only page", cause_of(1, hlv_d, VA + 0x2000), CAUSE_LOAD_PAGE_FAULT, CAUSE_LOAD_ACCESS);
    CHECK_SPEC("hlvx.wu of an execute-only page", run_in_mode(1, hlvx_wu, VA + 0x2000), 0xDEADBEEF, VA + 0x2000);
    CHECK_SPEC("hlvx.wu of a page without X", cause_of(1, hlvx_wu, VA + 0x1000), CAUSE_LOAD_PAGE_FAULT, 0);

    /* From HS-mode, delegated: HS takes the fault with hstatus.GVA and stval the guest address */
    write_csr(stvec, (uint64_t)s_trap_entry);
    write_csr(medeleg, 1 << CAUSE_LOAD_PAGE_FAULT);
    s_trap_reset();
    write_csr(hstatus, HSTATUS_SPVP);
    CHECK("HS hlv.d", run_in_mode(1, hlv_d, VA), 0x8877665544332211ull);
    run_in_mode(1, hlv_d, VA + 0x1000);
    CHECK_SPEC("HS hlv fault to HS", s_trap_info[0], CAUSE_LOAD_PAGE_FAULT, 0);
    CHECK_SPEC("  stval", s_trap_info[1], VA + 0x1000, 0);
    CHECK_SPEC("  hstatus.GVA", (read_csr(hstatus) & HSTATUS_GVA) != 0, 1, 0);
    CHECK("  hstatus.SPV clear (from HS)", (read_csr(hstatus) & HSTATUS_SPV) != 0, 0);
    write_csr(medeleg, 0);

    /* From U-mode: only with hstatus.HU */
    write_csr(hstatus, HSTATUS_SPVP);
    CHECK("U hlv.d without HU", cause_of(0, hlv_d, VA), CAUSE_ILLEGAL_INSTRUCTION);
    write_csr(hstatus, HSTATUS_SPVP | HSTATUS_HU);
    CHECK("U hlv.d with HU", run_in_mode(0, hlv_d, VA), 0x8877665544332211ull);

    /* mstatus.MPRV with MPV: ordinary loads through both stages */
    CHECK("MPRV + MPV load", mprv_load(VA), 0x8877665544332211ull);

    write_csr(hstatus, 0);
    write_csr(vsatp, 0);
    write_csr(hgatp, 0);
    return test_result();
}
