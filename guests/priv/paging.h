/* Shared Sv39/Sv48 paging test body.  Define LEVELS (3 or 4) and SATP_MODE before including.
   Page tables are built in a static pool.  Code and data run identity-mapped through a
   gigapage; test pages live at VA 0x40000000+ (4K pages), 0x40200000 (2M megapage),
   0xC0000000 (1G gigapage).  Faults are not delegated; M records mcause/mtval.
   QEMU 7.2 updates A and D bits in hardware (no fault when A=0 or D=0 on a store). */
#include "test.h"

typedef uint64_t pte_t;
static pte_t pool[24][512] __attribute__((aligned(4096)));
static int pool_n;
static pte_t *root;
static uint8_t pages[8][4096] __attribute__((aligned(4096)));

static pte_t *alloc_table(void)
{
    pte_t *t = pool[pool_n++];
    for (int i = 0; i < 512; i++) t[i] = 0;
    return t;
}

/* map va -> pa with a leaf at `level` (0 = 4K, 1 = 2M, 2 = 1G); returns the leaf PTE */
static volatile pte_t *map(uint64_t va, uint64_t pa, int level, uint64_t flags)
{
    pte_t *t = root;
    for (int l = LEVELS - 1; l > level; l--) {
        int idx = (va >> (12 + 9 * l)) & 511;
        if (!(t[idx] & PTE_V)) {
            pte_t *n = alloc_table();
            t[idx] = ((uint64_t)n >> 12 << 10) | PTE_V;
        }
        t = (pte_t *)((t[idx] >> 10) << 12);
    }
    int idx = (va >> (12 + 9 * level)) & 511;
    t[idx] = (pa >> 12 << 10) | flags | PTE_V;
    __asm__ volatile("sfence.vma" ::: "memory");
    return &t[idx];
}

#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)

static long s_load(long va) { return *(volatile uint64_t *)va; }
static long s_store(long va) { *(volatile uint64_t *)va = 0x5a5a5a5a5a5a5a5aull; return 0; }
static long s_fetch(long va) { return ((long (*)(long))va)(0); }
/* calls the function at va 10,000 times (hot: a translator compiles it and remembers where it
   runs), returning the last result */
static long s_call_hot(long va)
{
    long r = 0;
    for (int i = 0; i < 10000; i++) r = ((long (*)(long))va)(0);
    return r;
}

/* "li a0, value; ret" at pa, made fetchable */
static void put_function(uint64_t pa, int value)
{
    ((volatile uint32_t *)pa)[0] = ((uint32_t)value << 20) | (10 << 7) | 0x13;
    ((volatile uint32_t *)pa)[1] = 0x00008067;
    __asm__ volatile("fence.i" ::: "memory");
}

/* In S mode, with no trap between: calls va hot, points its leaf (made by map) at remap_pa,
   fences the one address remap_fence, calls va hot again; returns the two results as
   first << 16 | second. */
static volatile pte_t *remap_leaf;
static uint64_t remap_pa, remap_fence;
static long s_call_remap_call(long va)
{
    long first = s_call_hot(va);
    *remap_leaf = (*remap_leaf & 0x3ff) | (remap_pa >> 12 << 10);
    __asm__ volatile("sfence.vma %0, zero" :: "r"(remap_fence) : "memory");
    return first << 16 | s_call_hot(va);
}

/* abort the current run_in_mode call (used when even the return stub cannot be fetched) */
extern char run_in_mode_resume[];
static int abort_hook(struct trap_frame *f, uint64_t cause)
{
    set_csr(mstatus, MSTATUS_MPP);
    f->x[0] = (uint64_t)run_in_mode_resume;
    f->x[10] = 0;
    return 1;
}

static void expect_fault(const char *name, int mode, long (*fn)(long), uint64_t va, uint64_t cause)
{
    trap_reset();
    run_in_mode(mode, fn, va);
    CHECK(name, trap.cause, cause);
    if (trap.count)
        CHECK(name, trap.tval, va);
}
static void expect_ok(const char *name, int mode, long (*fn)(long), uint64_t va)
{
    trap_reset();
    run_in_mode(mode, fn, va);
    CHECK(name, trap.count, 0);
}

int main(void)
{
    root = alloc_table();
    /* identity gigapages for code/data (S-mode, not U) covering 0x80000000..0xbfffffff */
    map(0x80000000ull, 0x80000000ull, 2, RWX | AD);
    write_csr(satp, SATP_MODE | ((uint64_t)root >> 12));
    CHECK("satp mode", read_csr(satp) >> 60, SATP_MODE >> 60);

    uint64_t p0 = (uint64_t)pages[0], p1 = (uint64_t)pages[1], p2 = (uint64_t)pages[2];
    *(volatile uint64_t *)p0 = 0x1111;
    *(volatile uint64_t *)p1 = 0x2222;
    /* 4K pages */
    volatile pte_t *e0 = map(0x40000000ull, p0, 0, PTE_R | PTE_W | AD);
    volatile pte_t *e1 = map(0x40001000ull, p1, 0, PTE_R | AD);
    CHECK("4K load", run_in_mode(PRV_S, s_load, 0x40000000ull), 0x1111);
    CHECK("4K load 2", run_in_mode(PRV_S, s_load, 0x40001008ull), *(volatile uint64_t *)(p1 + 8));
    expect_ok("4K store", PRV_S, s_store, 0x40000010ull);
    CHECK("store landed", *(volatile uint64_t *)(p0 + 0x10), 0x5a5a5a5a5a5a5a5aull);
    expect_fault("store to read-only: 15", PRV_S, s_store, 0x40001000ull, CAUSE_STORE_PAGE_FAULT);
    expect_fault("unmapped load: 13", PRV_S, s_load, 0x40005000ull, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("unmapped store: 15", PRV_S, s_store, 0x40005008ull, CAUSE_STORE_PAGE_FAULT);
    /* write-only (W without R) is reserved -> fault */
    map(0x40002000ull, p2, 0, PTE_W | AD);
    expect_fault("W-only reserved load", PRV_S, s_load, 0x40002000ull, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("W-only reserved store", PRV_S, s_store, 0x40002000ull, CAUSE_STORE_PAGE_FAULT);
    /* execute permission: fetch from a non-executable page */
    static const uint32_t ret_insn[1024] __attribute__((aligned(4096))) = { 0x00008067 };  /* ret */
    map(0x40003000ull, (uint64_t)ret_insn, 0, PTE_R | AD);
    expect_fault("fetch from non-X: 12", PRV_S, s_fetch, 0x40003000ull, CAUSE_FETCH_PAGE_FAULT);
    map(0x40003000ull, (uint64_t)ret_insn, 0, PTE_X | AD);
    expect_ok("fetch from X-only", PRV_S, s_fetch, 0x40003000ull);
    /* MXR: load from X-only page */
    expect_fault("load X-only, MXR=0", PRV_S, s_load, 0x40003000ull, CAUSE_LOAD_PAGE_FAULT);
    set_csr(mstatus, MSTATUS_MXR);
    CHECK("load X-only, MXR=1", run_in_mode(PRV_S, s_load, 0x40003000ull) & 0xffffffff, 0x00008067);
    clear_csr(mstatus, MSTATUS_MXR);

    /* A/D bits: QEMU sets them in hardware */
    *e0 &= ~(uint64_t)AD;
    __asm__ volatile("sfence.vma" ::: "memory");
    expect_ok("load with A=0 (hw update)", PRV_S, s_load, 0x40000000ull);
    CHECK("A set by load", (*e0 & PTE_A) != 0, 1);
    CHECK("D not set by load", (*e0 & PTE_D) != 0, 0);
    expect_ok("store with D=0 (hw update)", PRV_S, s_store, 0x40000000ull);
    CHECK("D set by store", (*e0 & PTE_D) != 0, 1);
    (void)e1;

    /* U bit */
    map(0x40004000ull, p2, 0, PTE_R | PTE_W | PTE_U | AD);
    expect_fault("S load of U page, SUM=0", PRV_S, s_load, 0x40004000ull, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("S store of U page, SUM=0", PRV_S, s_store, 0x40004000ull, CAUSE_STORE_PAGE_FAULT);
    set_csr(mstatus, MSTATUS_SUM);
    expect_ok("S load of U page, SUM=1", PRV_S, s_load, 0x40004000ull);
    expect_ok("S store of U page, SUM=1", PRV_S, s_store, 0x40004000ull);
    clear_csr(mstatus, MSTATUS_SUM);
    /* U-mode: needs user-accessible code -> map code gigapage with U; then S can't fetch it */
    map(0x80000000ull, 0x80000000ull, 2, RWX | PTE_U | AD);
    expect_ok("U load of U page", PRV_U, s_load, 0x40004000ull);
    expect_fault("U load of S page", PRV_U, s_load, 0x40000000ull, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("U store of S page", PRV_U, s_store, 0x40000000ull, CAUSE_STORE_PAGE_FAULT);
    /* S fetch from a U page always faults (even with SUM) */
    set_csr(mstatus, MSTATUS_SUM);
    trap_reset();
    trap_hook = abort_hook;
    run_in_mode(PRV_S, s_load, 0x40004000ull);   /* fetch of s_load itself faults */
    trap_hook = 0;
    CHECK("S fetch of U page", trap.cause, CAUSE_FETCH_PAGE_FAULT);
    CHECK("S fetch of U page tval", trap.tval, (uint64_t)s_load);
    clear_csr(mstatus, MSTATUS_SUM);
    map(0x80000000ull, 0x80000000ull, 2, RWX | AD);

    /* 2M megapage and misaligned megapage */
    uint64_t big = 0x80400000ull;   /* 2M-aligned physical RAM beyond the image */
    *(volatile uint64_t *)(big + 0x12340) = 0xabcdef;
    map(0x40200000ull, big, 1, PTE_R | PTE_W | AD);
    CHECK("2M megapage load", run_in_mode(PRV_S, s_load, 0x40212340ull), 0xabcdef);
    map(0x40400000ull, big + 0x1000, 1, PTE_R | PTE_W | AD);
    expect_fault("misaligned megapage", PRV_S, s_load, 0x40400000ull, CAUSE_LOAD_PAGE_FAULT);
    /* 1G gigapage at VA 0xC0000000 -> PA 0x80000000 (alias of RAM) */
    map(0xC0000000ull, 0x80000000ull, 2, PTE_R | AD);
    CHECK("1G gigapage load", run_in_mode(PRV_S, s_load, 0xC0000000ull + (big + 0x12340 - 0x80000000ull)), 0xabcdef);
    map(0x100000000ull, 0x80200000ull, 2, PTE_R | AD);
    expect_fault("misaligned gigapage", PRV_S, s_load, 0x100000000ull, CAUSE_LOAD_PAGE_FAULT);
    /* non-leaf at level 0 (pointer PTE where a leaf is required) */
    /* invalid upper bits: VA not sign-extended */
    uint64_t bad = (LEVELS == 3) ? 0x0000008000000000ull : 0x0000800000000000ull;
    expect_fault("non-canonical VA", PRV_S, s_load, bad, CAUSE_LOAD_PAGE_FAULT);

    /* MPRV: M-mode loads translated with MPP=S */
    clear_csr(mstatus, MSTATUS_MPP);
    set_csr(mstatus, MSTATUS_MPP_S);
    uint64_t v;
    __asm__ volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %2"
                     : "=&r"(v) : "r"(0x40000000ull + 8), "r"((uint64_t)MSTATUS_MPRV) : "memory");
    CHECK("MPRV translated load", v, *(volatile uint64_t *)(p0 + 8));
    trap_reset();
    __asm__ volatile("csrs mstatus, %2\n ld %0, 0(%1)\n csrc mstatus, %2"
                     : "=&r"(v) : "r"(0x40005000ull), "r"((uint64_t)MSTATUS_MPRV) : "memory");
    clear_csr(mstatus, MSTATUS_MPRV);
    CHECK("MPRV load page fault", trap.cause, CAUSE_LOAD_PAGE_FAULT);
    CHECK("MPRV fault tval", trap.tval, 0x40005000ull);
    /* sfence.vma makes a changed mapping visible */
    run_in_mode(PRV_S, s_load, 0x40000000ull);
    map(0x40000000ull, p1, 0, PTE_R | AD);
    CHECK("remap after sfence.vma", run_in_mode(PRV_S, s_load, 0x40000000ull), 0x2222);
    /* sfence.vma with an address: code called hot through a 4K page, remapped and fenced by that
       page's address, and through a 2M megapage, remapped and fenced by another address inside
       it (the fence reaches the whole leaf), runs the new code */
    uint64_t f0 = (uint64_t)pages[3], f1 = (uint64_t)pages[4];
    put_function(f0, 0x111);
    put_function(f1, 0x222);
    remap_leaf = map(0x40700000ull, f0, 0, PTE_R | PTE_X | AD);
    remap_pa = f1;
    remap_fence = 0x40700000ull;
    CHECK("4K code remapped, fenced by its address", run_in_mode(PRV_S, s_call_remap_call, 0x40700000ull), 0x111 << 16 | 0x222);
    uint64_t m0 = 0x80600000ull, m1 = 0x80800000ull;   /* 2M-aligned RAM beyond the image, past big */
    put_function(m0 + 0x3000, 0x333);
    put_function(m1 + 0x3000, 0x444);
    remap_leaf = map(0x40800000ull, m0, 1, PTE_R | PTE_X | AD);
    remap_pa = m1;
    remap_fence = 0x409f0000ull;
    CHECK("2M code remapped, fenced inside it", run_in_mode(PRV_S, s_call_remap_call, 0x40803000ull), 0x333 << 16 | 0x444);
    /* bare mode */
    write_csr(satp, 0);
    CHECK("satp bare", run_in_mode(PRV_S, s_load, p1), 0x2222);
    return test_result();
}
