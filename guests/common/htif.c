/* Isomorph guest runtime: HTIF console/exit and the default M-mode trap handler. */
#include "test.h"

volatile uint64_t tohost __attribute__((section(".tohost"), aligned(64)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(8)));

void htif_putchar(int ch)
{
    /* device 1 (console), command 1 (write char) */
    tohost = (1ull << 56) | (1ull << 48) | (uint8_t)ch;
    /* The host consumes the request by clearing tohost (QEMU does so synchronously)
       and acknowledges it in fromhost; clear that for the next request. */
    while (tohost != 0)
        ;
    fromhost = 0;
}

void __attribute__((noreturn)) htif_exit(int code)
{
    for (;;)
        tohost = ((uint64_t)code << 1) | 1;
}

void puts_(const char *s)
{
    while (*s)
        htif_putchar(*s++);
}

void print_hex(uint64_t v)
{
    puts_("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        int d = (v >> i) & 0xf;
        if (d || started || i == 0) {
            htif_putchar("0123456789abcdef"[d]);
            started = 1;
        }
    }
}

void print_dec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n)
        htif_putchar(buf[--n]);
}

/* ---- self-check bookkeeping ---- */
static int check_no;
static int first_fail;
static int fail_count;

int check_eq(const char *name, uint64_t got, uint64_t exp)
{
    check_no++;
    if (got == exp)
        return 1;
    fail_count++;
    if (!first_fail)
        first_fail = check_no;
    puts_("FAIL ");
    puts_(name);
    puts_(": got ");
    print_hex(got);
    puts_(" expected ");
    print_hex(exp);
    puts_(" (check ");
    print_dec(check_no);
    puts_(")\n");
    return 0;
}

int check_spec(const char *name, uint64_t got, uint64_t spec, uint64_t qemu)
{
    if (got == qemu && got != spec) {
        check_no++;
        puts_("QEMU-7.2 DEVIATION ");
        puts_(name);
        puts_("\n");
        return 1;
    }
    return check_eq(name, got, spec);
}

int test_result(void)
{
    if (!fail_count)
        return 0;
    return first_fail > 255 ? 255 : first_fail;
}

/* ---- default M-mode trap handling ---- */
volatile struct trap_info trap;
trap_hook_fn trap_hook;

extern char run_in_mode_resume[], run_in_mode_ecall[], s_forward_ecall[];

static unsigned insn_len_at(uint64_t pc)
{
    uint16_t lo = *(volatile uint16_t *)pc;
    return (lo & 3) == 3 ? 4 : 2;
}

void m_trap(struct trap_frame *f)
{
    uint64_t cause = read_csr(mcause);
    if ((cause == CAUSE_USER_ECALL || cause == CAUSE_SUPERVISOR_ECALL ||
         cause == CAUSE_VIRTUAL_SUPERVISOR_ECALL || cause == CAUSE_MACHINE_ECALL) &&
        (f->x[0] == (uint64_t)run_in_mode_ecall || f->x[0] == (uint64_t)s_forward_ecall)) {
        /* return to run_in_mode's caller in M-mode, a0 preserved; not recorded */
        set_csr(mstatus, MSTATUS_MPP);
        clear_csr(mstatus, MSTATUS_MPRV | MSTATUS_MPV);
        f->x[0] = (uint64_t)run_in_mode_resume;
        return;
    }
    trap.cause = cause;
    trap.tval = read_csr(mtval);
    trap.epc = f->x[0];
    trap.mstatus = read_csr(mstatus);
    trap.count++;

    if (trap_hook && trap_hook(f, cause))
        return;
    if ((int64_t)cause < 0) {
        puts_("FAIL unexpected interrupt cause ");
        print_hex(cause);
        puts_("\n");
        htif_exit(200);
    }
    if (cause == CAUSE_MISALIGNED_FETCH || cause == CAUSE_FETCH_ACCESS ||
        cause == CAUSE_FETCH_PAGE_FAULT || cause == CAUSE_FETCH_GUEST_PAGE_FAULT) {
        /* cannot skip: resume at the return address (tests jump via jalr ra) */
        f->x[0] = f->x[1];
        return;
    }
    f->x[0] += insn_len_at(f->x[0]);
}
