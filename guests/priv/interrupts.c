/* M-mode interrupts from the CLINT (spike layout: msip +0, mtimecmp +0x4000, mtime +0xbff8):
   software interrupt via msip, timer interrupt via mtimecmp, mip/mie/mstatus.MIE gating,
   wfi wake-up, and mtvec vectored mode (interrupt -> base + 4*cause, exception -> base). */
#include "test.h"

static volatile uint32_t *const msip = (volatile uint32_t *)CLINT_MSIP;
static volatile uint64_t *const mtimecmp = (volatile uint64_t *)CLINT_MTIMECMP;
static volatile uint64_t *const mtime = (volatile uint64_t *)CLINT_MTIME;
volatile uint64_t vec_hits[16];
extern char vector_table[];

static int irq_hook(struct trap_frame *f, uint64_t cause)
{
    if (cause == (1ull << 63 | 3)) { *msip = 0; return 1; }
    if (cause == (1ull << 63 | 7)) { *mtimecmp = ~0ull; return 1; }
    return 0;
}

__asm__(".text\n.option push\n.option norvc\n.align 6\n vector_table:\n"
        " j trap_entry\n j 9f\n j 9f\n j vt3\n j 9f\n j 9f\n j 9f\n j vt7\n j 9f\n j 9f\n j 9f\n j 9f\n"
        "9: j trap_entry\n"
        "vt3: csrw sscratch, t0\n la t0, vec_hits\n sd t0, 3*8(t0)\n csrr t0, sscratch\n j trap_entry\n"
        "vt7: csrw sscratch, t0\n la t0, vec_hits\n sd t0, 7*8(t0)\n csrr t0, sscratch\n j trap_entry\n.option pop\n");

int main(void)
{
    trap_hook = irq_hook;
    *mtimecmp = ~0ull;
    /* software interrupt: pending but masked */
    trap_reset();
    *msip = 1;
    CHECK("msip reads back", *msip, 1);
    CHECK("mip.MSIP pending", !!(read_csr(mip) & MIP_MSIP), 1);
    set_csr(mie, MIP_MSIP);
    __asm__ volatile("nop\n nop");
    CHECK("masked by mstatus.MIE", trap.count, 0);
    set_csr(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop\n nop");
    clear_csr(mstatus, MSTATUS_MIE);
    CHECK("msi taken", trap.count, 1);
    CHECK("msi cause", trap.cause, (1ull << 63) | 3);
    CHECK("msi MPIE", !!(trap.mstatus & MSTATUS_MPIE), 1);
    CHECK("msip cleared", !!(read_csr(mip) & MIP_MSIP), 0);
    clear_csr(mie, MIP_MSIP);

    /* mip.MSIP/MTIP are read-only via csr */
    set_csr(mip, MIP_MSIP | MIP_MTIP);
    CHECK("mip.MSIP not writable", read_csr(mip) & (MIP_MSIP | MIP_MTIP), 0);

    /* timer interrupt */
    trap_reset();
    uint64_t t0 = *mtime;
    CHECK("mtime runs", *mtime >= t0, 1);
    *mtimecmp = t0 + 2000;
    set_csr(mie, MIP_MTIP);
    set_csr(mstatus, MSTATUS_MIE);
    for (int i = 0; i < 1000000 && !trap.count; i++)
        __asm__ volatile("wfi");
    clear_csr(mstatus, MSTATUS_MIE);
    CHECK("mti taken", trap.count, 1);
    CHECK("mti cause", trap.cause, (1ull << 63) | 7);
    CHECK("mtime reached mtimecmp", *mtime >= t0 + 2000, 1);
    CHECK("mtip clear after mtimecmp=max", !!(read_csr(mip) & MIP_MTIP), 0);
    /* MTIP visible in mip while masked, and wfi wakes up even with MIE=0 */
    *mtimecmp = *mtime + 500;
    trap_reset();
    for (int i = 0; i < 1000000 && !(read_csr(mip) & MIP_MTIP); i++)
        __asm__ volatile("wfi");
    CHECK("mtip pending while MIE=0", !!(read_csr(mip) & MIP_MTIP), 1);
    CHECK("no trap while MIE=0", trap.count, 0);
    *mtimecmp = ~0ull;
    clear_csr(mie, MIP_MTIP);

    /* vectored mode */
    write_csr(mtvec, (uint64_t)vector_table | 1);
    CHECK("mtvec vectored readback", read_csr(mtvec), (uint64_t)vector_table | 1);
    trap_reset();
    set_csr(mie, MIP_MSIP);
    *msip = 1;
    set_csr(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop\n nop");
    clear_csr(mstatus, MSTATUS_MIE);
    CHECK("vectored msi -> slot 3", vec_hits[3] != 0, 1);
    CHECK("vectored msi cause", trap.cause, (1ull << 63) | 3);
    clear_csr(mie, MIP_MSIP);
    *mtimecmp = *mtime + 500;
    set_csr(mie, MIP_MTIP);
    trap_reset();
    set_csr(mstatus, MSTATUS_MIE);
    for (int i = 0; i < 1000000 && !trap.count; i++)
        __asm__ volatile("wfi");
    clear_csr(mstatus, MSTATUS_MIE);
    clear_csr(mie, MIP_MTIP);
    CHECK("vectored mti -> slot 7", vec_hits[7] != 0, 1);
    /* exceptions in vectored mode go to the base */
    trap_reset();
    vec_hits[3] = vec_hits[7] = 0;
    __asm__ volatile("ecall");
    CHECK("vectored exception -> base", trap.cause, CAUSE_MACHINE_ECALL);
    CHECK("vectored exception no slot", vec_hits[3] | vec_hits[7], 0);
    extern char trap_entry[];
    write_csr(mtvec, (uint64_t)trap_entry);
    return test_result();
}
