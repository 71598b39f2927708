/* Counter access gating: mcounteren / scounteren for cycle (bit 0) and instret (bit 2)
   from S and U.  Disallowed accesses raise illegal instruction. */
#include "test.h"

static long rd_cycle(long a) { uint64_t v; __asm__ volatile("rdcycle %0" : "=r"(v)); return v; }
static long rd_instret(long a) { uint64_t v; __asm__ volatile("rdinstret %0" : "=r"(v)); return v; }
static long s_mcycle(long a) { return read_csr(mcycle); }

static void expect(const char *name, int mode, long (*fn)(long), int ok)
{
    trap_reset();
    run_in_mode(mode, fn, 0);
    if (ok)
        CHECK(name, trap.count, 0);
    else
        CHECK(name, trap.cause, CAUSE_ILLEGAL_INSTRUCTION);
}

int main(void)
{
    write_csr(mcounteren, 0);
    write_csr(scounteren, 0);
    expect("S cycle denied by mcounteren", PRV_S, rd_cycle, 0);
    expect("U cycle denied by mcounteren", PRV_U, rd_cycle, 0);
    expect("S instret denied", PRV_S, rd_instret, 0);
    write_csr(mcounteren, 1);
    CHECK("mcounteren CY", read_csr(mcounteren) & 7, 1);
    expect("S cycle allowed", PRV_S, rd_cycle, 1);
    expect("S instret still denied", PRV_S, rd_instret, 0);
    expect("U cycle denied by scounteren", PRV_U, rd_cycle, 0);
    write_csr(scounteren, 1);
    expect("U cycle allowed", PRV_U, rd_cycle, 1);
    write_csr(mcounteren, 0);
    expect("U cycle denied (mcounteren=0, scounteren=1)", PRV_U, rd_cycle, 0);
    write_csr(mcounteren, 5);
    write_csr(scounteren, 4);
    expect("S instret allowed", PRV_S, rd_instret, 1);
    expect("U instret allowed", PRV_U, rd_instret, 1);
    expect("U cycle denied", PRV_U, rd_cycle, 0);
    expect("S mcycle illegal", PRV_S, s_mcycle, 0);
    /* M-mode is never gated */
    write_csr(mcounteren, 0);
    trap_reset();
    uint64_t v;
    __asm__ volatile("rdcycle %0\n rdinstret %0" : "=r"(v));
    CHECK("M ungated", trap.count, 0);
    /* values read from S are sane (monotonic vs M view) */
    write_csr(mcounteren, 5);
    uint64_t m = read_csr(minstret);
    CHECK("S instret >= earlier M instret", (uint64_t)run_in_mode(PRV_S, rd_instret, 0) >= m, 1);
    return test_result();
}
