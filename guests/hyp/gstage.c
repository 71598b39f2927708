/* Two-stage address translation (the hypervisor extension): the G-stage in Sv39x4 and Sv48x4
   with its 16 KiB root table, hardware A/D updates at both stages, guest-page faults (causes 20,
   21, 23) with the guest virtual address in mtval/stval, the guest physical address >> 2 in
   mtval2/htval and GVA set, G-stage checks as U-mode accesses, MXR, the VS-stage through vsatp
   with its page tables in guest physical memory, and a guest-page fault on the VS-stage walk's
   own access (reported as the original access, with htinst's pseudoinstruction). */
#include "test.h"
#include "hyp.h"

typedef uint64_t pte_t;
static pte_t groot[2048] __attribute__((aligned(16384)));
static pte_t gpool[8][512] __attribute__((aligned(4096)));
static pte_t vspool[8][512] __attribute__((aligned(4096)));
static int gpool_n, vspool_n;
static uint8_t data[6][4096] __attribute__((aligned(4096)));

#define GPA_WINDOW 0x100000000ull  /* guest physical 4 GiB: data[] pages, one by one */
#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)

static pte_t *table(pte_t pool[][512], int *n)
{
    pte_t *t = pool[(*n)++];
    for (int i = 0; i < 512; i++) t[i] = 0;
    return t;
}

/* G-stage: maps guest physical gpa to pa with a leaf at level (0: 4 KiB, 2: 1 GiB); levels 3 or 4. */
static volatile pte_t *gmap(int levels, uint64_t gpa, uint64_t pa, int level, uint64_t flags)
{
    pte_t *t = groot;
    for (int l = levels - 1; l > level; l--) {
        int idx = (gpa >> (12 + 9 * l)) & (l == levels - 1 ? 2047 : 511);
        if (!(t[idx] & PTE_V)) t[idx] = ((uint64_t)table(gpool, &gpool_n) >> 12 << 10) | PTE_V;
        t = (pte_t *)((t[idx] >> 10) << 12);
    }
    int idx = (gpa >> (12 + 9 * level)) & (level == levels - 1 ? 2047 : 511);
    t[idx] = (pa >> 12 << 10) | flags;
    return &t[idx];
}

/* VS-stage (Sv39): the tables are in identity-mapped guest physical memory. */
static pte_t *vsroot;
static volatile pte_t *vsmap(uint64_t va, uint64_t gpa, int level, uint64_t flags)
{
    pte_t *t = vsroot;
    for (int l = 2; l > level; l--) {
        int idx = (va >> (12 + 9 * l)) & 511;
        if (!(t[idx] & PTE_V)) t[idx] = ((uint64_t)table(vspool, &vspool_n) >> 12 << 10) | PTE_V;
        t = (pte_t *)((t[idx] >> 10) << 12);
    }
    int idx = (va >> (12 + 9 * level)) & 511;
    t[idx] = (gpa >> 12 << 10) | flags;
    return &t[idx];
}

static void hfence(void) { __asm__ volatile(WITH_H("hfence.gvma\nhfence.vvma") ::: "memory"); }

static long v_load(long va) { return (long)*(volatile uint64_t *)va; }
static long v_store(long va) { *(volatile uint64_t *)va = 0x5a5a5a5a5a5a5a5aull; return 0; }
static long v_fetch(long va) { return ((long (*)(long))va)(0); }

/* What the last trap into M-mode wrote to mtval2 and mtinst (the return from run_in_mode traps too). */
static volatile uint64_t trap_mtval2, trap_mtinst;
static int record_hook(struct trap_frame *f, uint64_t cause)
{
    trap_mtval2 = read_csr(mtval2);
    trap_mtinst = read_csr(mtinst);
    return 0;
}

/* Runs fn(va) in VS-mode; returns the cause of the trap taken into M-mode (0: none). */
static uint64_t in_vs(long (*fn)(long), uint64_t va)
{
    trap_reset();
    trap_mtval2 = trap_mtinst = ~0ull;
    trap_hook = record_hook;
    run_in_mode(MODE_VS, fn, (long)va);
    return trap.count ? trap.cause : 0;
}

static void expect_guest_fault_qemu(const char *name, long (*fn)(long), uint64_t va, uint64_t cause, uint64_t qemu_cause, uint64_t gpa)
{
    CHECK_SPEC(name, in_vs(fn, va), cause, qemu_cause);
    CHECK("  mtval (guest virtual)", trap.tval, va);
    CHECK("  mtval2 (guest physical >> 2)", trap_mtval2, gpa >> 2);
    CHECK("  mstatus.GVA", (trap.mstatus & MSTATUS_GVA) != 0, 1);
    CHECK("  mstatus.MPV", (trap.mstatus & MSTATUS_MPV) != 0, 1);
}

static void expect_guest_fault(const char *name, long (*fn)(long), uint64_t va, uint64_t cause, uint64_t gpa)
{
    expect_guest_fault_qemu(name, fn, va, cause, cause, gpa);
}

/* li a0, 42; ret */
static const uint32_t code42[] = { 0x02a00513, 0x00008067 };

static void g_stage(int levels)
{
    uint64_t mode = levels == 3 ? 8 : 9;
    for (int i = 0; i < 2048; i++) groot[i] = 0;
    gpool_n = 0;
    /* guest physical RAM = host RAM, one gigapage, A and D already set */
    gmap(levels, 0x80000000, 0x80000000, 2, PTE_V | PTE_U | RWX | AD);
    volatile pte_t *rw = gmap(levels, GPA_WINDOW, (uint64_t)data[0], 0, PTE_V | PTE_U | PTE_R | PTE_W);
    gmap(levels, GPA_WINDOW + 0x1000, (uint64_t)data[1], 0, PTE_V | PTE_U | PTE_R | AD);
    gmap(levels, GPA_WINDOW + 0x2000, (uint64_t)data[2], 0, PTE_V | PTE_R | PTE_W | AD); /* no U */
    gmap(levels, GPA_WINDOW + 0x4000, (uint64_t)data[4], 0, PTE_V | PTE_U | PTE_X | AD); /* execute only */
    for (int i = 0; i < 2; i++) ((volatile uint32_t *)data[4])[i] = code42[i];
    __asm__ volatile("fence.i");
    *(volatile uint64_t *)data[0] = 0x1234567890abcdefull;
    write_csr(hgatp, (mode << 60) | ((uint64_t)groot >> 12));
    write_csr(vsatp, 0);
    hfence();

    CHECK("VS load through the G-stage", in_vs(v_load, GPA_WINDOW), 0);
    CHECK("  reads the host page", run_in_mode(MODE_VS, v_load, GPA_WINDOW), 0x1234567890abcdefull);
    CHECK("  G-stage A set", (*rw & PTE_A) != 0, 1);
    CHECK("  G-stage D still clear", (*rw & PTE_D) != 0, 0);
    CHECK("VS store through the G-stage", in_vs(v_store, GPA_WINDOW), 0);
    CHECK("  G-stage D set", (*rw & PTE_D) != 0, 1);
    CHECK("  host page written", *(volatile uint64_t *)data[0], 0x5a5a5a5a5a5a5a5aull);

    expect_guest_fault("store to a read-only guest page", v_store, GPA_WINDOW + 0x1000, CAUSE_STORE_GUEST_PAGE_FAULT, GPA_WINDOW + 0x1000);
    CHECK("  mtinst zero or the store", trap_mtinst == 0 || (trap_mtinst & 0x7f) == 0x23, 1);
    expect_guest_fault("load from a guest page without U", v_load, GPA_WINDOW + 0x2008, CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_WINDOW + 0x2008);
    expect_guest_fault("load from an unmapped guest page", v_load, GPA_WINDOW + 0x3010, CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_WINDOW + 0x3010);
    uint64_t wide = levels == 3 ? 1ull << 41 : 1ull << 50;
    expect_guest_fault("load above the G-stage's width", v_load, wide, CAUSE_LOAD_GUEST_PAGE_FAULT, wide);
    expect_guest_fault("fetch from a guest page without X", v_fetch, GPA_WINDOW, CAUSE_FETCH_GUEST_PAGE_FAULT, GPA_WINDOW);
    CHECK("fetch from an execute-only guest page", run_in_mode(MODE_VS, v_fetch, GPA_WINDOW + 0x4000), 42);
    expect_guest_fault("load from an execute-only guest page", v_load, GPA_WINDOW + 0x4000, CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_WINDOW + 0x4000);
    /* HS-level MXR overrides the G-stage's execute-only pages, vsstatus.MXR only the VS-stage's:
       QEMU 7.2 applies vsstatus.MXR to the G-stage in V mode, and mstatus.MXR not. */
    set_csr(mstatus, MSTATUS_MXR);
    CHECK_SPEC("  with mstatus.MXR", in_vs(v_load, GPA_WINDOW + 0x4000), 0, CAUSE_LOAD_GUEST_PAGE_FAULT);
    clear_csr(mstatus, MSTATUS_MXR);
    write_csr(vsstatus, MSTATUS_MXR);
    CHECK_SPEC("  vsstatus.MXR does not reach the G-stage", in_vs(v_load, GPA_WINDOW + 0x4000), CAUSE_LOAD_GUEST_PAGE_FAULT, 0);
    write_csr(vsstatus, 0);

    /* Delegated to HS-mode: htval, hstatus.GVA/SPV/SPVP; stval the guest virtual address. */
    write_csr(stvec, (uint64_t)s_trap_entry);
    write_csr(medeleg, 1ull << CAUSE_LOAD_GUEST_PAGE_FAULT);
    s_trap_reset();
    write_csr(hstatus, 0);
    CHECK("delegated guest-page fault: no M trap", in_vs(v_load, GPA_WINDOW + 0x3018), 0);
    CHECK("  scause", s_trap_info[0], CAUSE_LOAD_GUEST_PAGE_FAULT);
    CHECK("  stval", s_trap_info[1], GPA_WINDOW + 0x3018);
    CHECK("  htval", read_csr(htval), (GPA_WINDOW + 0x3018) >> 2);
    /* (SPV is set by the trap and cleared again by the handler's sret) */
    CHECK("  hstatus.GVA SPVP", read_csr(hstatus) & (HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP), HSTATUS_GVA | HSTATUS_SPVP);
    write_csr(medeleg, 0);
    write_csr(hstatus, 0);

    /* VS-stage Sv39 over the G-stage: its tables are guest physical (here identity-mapped) */
    vspool_n = 0;
    vsroot = table(vspool, &vspool_n);
    vsmap(0x80000000, 0x80000000, 2, PTE_V | RWX | AD); /* the program, in VS's own supervisor pages */
    volatile pte_t *va0 = vsmap(0xC0000000, GPA_WINDOW, 0, PTE_V | PTE_R | PTE_W);
    vsmap(0xC0001000, GPA_WINDOW + 0x3000, 0, PTE_V | PTE_R | PTE_W | AD);
    /* a second level-0 table, at a guest physical page the G-stage does not map */
    pte_t *l1 = (pte_t *)((vsroot[3] >> 10) << 12);
    l1[1] = ((GPA_WINDOW + 0x3000) >> 12 << 10) | PTE_V;
    write_csr(vsatp, (8ull << 60) | ((uint64_t)vsroot >> 12));
    hfence();
    *(volatile uint64_t *)data[0] = 0x77;
    CHECK("VS-stage then G-stage", run_in_mode(MODE_VS, v_load, 0xC0000000), 0x77);
    CHECK("  VS-stage A set", (*va0 & PTE_A) != 0, 1);
    CHECK("  VS-stage D clear", (*va0 & PTE_D) != 0, 0);
    CHECK("VS store", in_vs(v_store, 0xC0000008), 0);
    CHECK("  VS-stage D set", (*va0 & PTE_D) != 0, 1);
    expect_guest_fault("VS-stage maps to an unmapped guest page", v_load, 0xC0001010, CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_WINDOW + 0x3010);
    CHECK("VS-stage page fault", in_vs(v_load, 0xC0002000), CAUSE_LOAD_PAGE_FAULT);
    CHECK("  mtval", trap.tval, 0xC0002000);
    CHECK("  mtval2 zero", trap_mtval2, 0);
    CHECK("  GVA", (trap.mstatus & MSTATUS_GVA) != 0, 1);
    /* the walk's own access to the unmapped level-0 table: a guest-page fault of a store,
       the PTE's guest physical address, and htinst's pseudoinstruction of a 64-bit read (QEMU 7.2
       reports the walk's read, a load guest-page fault, and writes no pseudoinstruction) */
    expect_guest_fault_qemu("VS-stage walk faults in the G-stage", v_store, 0xC0200000, CAUSE_STORE_GUEST_PAGE_FAULT,
                            CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_WINDOW + 0x3000);
    CHECK_SPEC("  mtinst: a VS-stage read", trap_mtinst, 0x3000, 0);
    write_csr(vsatp, 0);
    write_csr(hgatp, 0);
    hfence();
}

int main(void)
{
    g_stage(3);
    g_stage(4);
    return test_result();
}
