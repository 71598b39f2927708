/* PMP: TOR, NA4 and NAPOT regions enforced for S/U, priority by entry number, locked
   entries applying to M-mode (and ignoring later writes), and S/U denied when no entry
   matches while PMP entries exist.  Access faults: 1 (fetch), 5 (load), 7 (store). */
#include "test.h"

static uint8_t pg[4][4096] __attribute__((aligned(4096)));
#define A_TOR (1 << 3)
#define A_NA4 (2 << 3)
#define A_NAPOT (3 << 3)
#define P_R 1
#define P_W 2
#define P_X 4
#define P_L 0x80

static long s_load(long a) { return *(volatile uint64_t *)a; }
static long s_load32(long a) { return *(volatile uint32_t *)a; }
static long s_store(long a) { *(volatile uint64_t *)a = 0x77; return 0; }

extern char run_in_mode_resume[];
static int abort_hook(struct trap_frame *f, uint64_t cause)
{
    if (cause != CAUSE_FETCH_ACCESS)
        return 0;
    set_csr(mstatus, MSTATUS_MPP);
    f->x[0] = (uint64_t)run_in_mode_resume;
    f->x[10] = 0;
    return 1;
}

static void expect(const char *name, int mode, long (*fn)(long), uint64_t addr, uint64_t cause)
{
    trap_reset();
    run_in_mode(mode, fn, addr);
    if (cause == 0) {
        CHECK(name, trap.count, 0);
    } else {
        CHECK(name, trap.cause, cause);
        CHECK(name, trap.tval, addr);
    }
}

int main(void)
{
    uint64_t a0 = (uint64_t)pg[0], a1 = (uint64_t)pg[1], a2 = (uint64_t)pg[2], a3 = (uint64_t)pg[3];
    /* entry 0: NA4 over the first word of pg[0], no permissions
       entry 1: OFF, base for entry 2; entry 2: TOR [pg1, pg1+4K) read-only
       entry 3: NAPOT 4K over pg[2], no permissions
       entry 7: catch-all NAPOT RWX */
    write_csr(pmpaddr0, a0 >> 2);
    write_csr(pmpaddr1, a1 >> 2);
    write_csr(pmpaddr2, (a1 + 4096) >> 2);
    write_csr(pmpaddr3, (a2 >> 2) | 0x1ff);
    write_csr(pmpaddr7, -1);
    write_csr(pmpcfg0, ((uint64_t)(A_NAPOT | P_R | P_W | P_X) << 56) |
                       ((uint64_t)A_NAPOT << 24) | ((uint64_t)(A_TOR | P_R) << 16) | A_NA4);
    CHECK("pmpaddr3 readback", read_csr(pmpaddr3), (a2 >> 2) | 0x1ff);
    __asm__ volatile("sfence.vma");

    expect("NA4 load denied", PRV_S, s_load32, a0, CAUSE_LOAD_ACCESS);
    expect("NA4 store denied", PRV_U, s_store, a0, CAUSE_STORE_ACCESS);
    expect("next word allowed", PRV_S, s_load32, a0 + 4, 0);
    expect("TOR load allowed", PRV_S, s_load, a1 + 64, 0);
    expect("TOR store denied", PRV_S, s_store, a1 + 64, CAUSE_STORE_ACCESS);
    expect("below TOR base allowed", PRV_S, s_store, a1 - 8, 0);
    expect("TOR store denied U", PRV_U, s_store, a1 + 4088, CAUSE_STORE_ACCESS);
    expect("NAPOT load denied", PRV_S, s_load, a2 + 2048, CAUSE_LOAD_ACCESS);
    expect("NAPOT store denied", PRV_U, s_store, a2 + 4088, CAUSE_STORE_ACCESS);
    expect("outside NAPOT ok", PRV_S, s_store, a3, 0);
    /* M-mode ignores unlocked entries */
    trap_reset();
    *(volatile uint64_t *)a1 = 1;
    *(volatile uint32_t *)a0 = 2;
    *(volatile uint64_t *)(a2 + 8) = 3;
    CHECK("M ignores unlocked entries", trap.count, 0);

    /* no matching entry: S/U denied (remove the catch-all, keep entry 0..3) */
    write_csr(pmpcfg0, read_csr(pmpcfg0) & ~(0xffull << 56));
    trap_reset();
    trap_hook = abort_hook;
    run_in_mode(PRV_S, s_load, a3);
    trap_hook = 0;
    CHECK("S fetch with no matching entry", trap.cause, CAUSE_FETCH_ACCESS);
    trap_reset();
    CHECK("M unaffected by no match", *(volatile uint64_t *)a3, 0x77);
    CHECK("M no trap", trap.count, 0);
    write_csr(pmpcfg0, read_csr(pmpcfg0) | ((uint64_t)(A_NAPOT | P_R | P_W | P_X) << 56));

    /* locked entry 4: NAPOT over pg[3], read-only, applies to M */
    write_csr(pmpaddr4, (a3 >> 2) | 0x1ff);
    set_csr(pmpcfg0, (uint64_t)(P_L | A_NAPOT | P_R) << 32);
    trap_reset();
    CHECK("M load of locked R region", *(volatile uint64_t *)a3, 0x77);
    *(volatile uint64_t *)a3 = 5;
    CHECK("M store to locked R region faults", trap.cause, CAUSE_STORE_ACCESS);
    CHECK("M store fault tval", trap.tval, a3);
    CHECK("store suppressed", *(volatile uint64_t *)a3, 0x77);
    /* locked entry ignores writes */
    write_csr(pmpaddr4, 0);
    CHECK("locked pmpaddr unchanged", read_csr(pmpaddr4), (a3 >> 2) | 0x1ff);
    clear_csr(pmpcfg0, 0xffull << 32);
    CHECK("locked pmpcfg unchanged", (read_csr(pmpcfg0) >> 32) & 0xff, P_L | A_NAPOT | P_R);
    expect("locked applies to S", PRV_S, s_store, a3 + 8, CAUSE_STORE_ACCESS);
    return test_result();
}
