/* Traps in V mode (the hypervisor extension): exceptions delegated by medeleg to HS-mode and by
   hedeleg on to VS-mode (the guest's stvec is vstvec, its sepc vsepc), hstatus.SPV/SPVP and SRET's
   return to V mode; virtual interrupts from hvip, delegated by hideleg to VS-mode (VSSI shown to
   the guest as SSI, cause 1) or taken by HS-mode as VSSI (cause 2), and gated by vsstatus.SIE. */
#include "test.h"
#include "hyp.h"

static long do_ebreak(long unused) { __asm__ volatile("ebreak"); return 0; }
static long vs_csrr_hstatus(long unused) { return (long)read_csr(hstatus); }

/* HS-mode's trap vector for what V mode raises: records scause, sepc, hstatus, then returns past
   the instruction (VSSI: clears hvip.VSSIP first). */
static volatile uint64_t hs_cause, hs_epc, hs_hstatus, hs_count;
void hs_trap_c(void)
{
    hs_cause = read_csr(scause);
    hs_epc = read_csr(sepc);
    hs_hstatus = read_csr(hstatus);
    hs_count++;
    if ((int64_t)hs_cause < 0)
        clear_csr(hvip, 1 << 2);
    else
        write_csr(sepc, hs_epc + 4);
}
extern char hs_trap_entry[];
__asm__(".align 2\n"
        "hs_trap_entry:\n"
        "  addi sp, sp, -128\n"
        "  sd ra, 0(sp); sd t0, 8(sp); sd t1, 16(sp); sd t2, 24(sp); sd a0, 32(sp); sd a1, 40(sp)\n"
        "  sd a2, 48(sp); sd a3, 56(sp); sd a4, 64(sp); sd a5, 72(sp); sd a6, 80(sp); sd a7, 88(sp)\n"
        "  sd t3, 96(sp); sd t4, 104(sp); sd t5, 112(sp); sd t6, 120(sp)\n"
        "  call hs_trap_c\n"
        "  ld ra, 0(sp); ld t0, 8(sp); ld t1, 16(sp); ld t2, 24(sp); ld a0, 32(sp); ld a1, 40(sp)\n"
        "  ld a2, 48(sp); ld a3, 56(sp); ld a4, 64(sp); ld a5, 72(sp); ld a6, 80(sp); ld a7, 88(sp)\n"
        "  ld t3, 96(sp); ld t4, 104(sp); ld t5, 112(sp); ld t6, 120(sp)\n"
        "  addi sp, sp, 128\n"
        "  sret\n");

/* The guest's own vector (vstvec): records through the VS CSRs it reaches as the S CSRs. */
static volatile uint64_t vs_cause, vs_epc, vs_count;
void vs_trap_c(void)
{
    vs_cause = read_csr(scause);
    vs_epc = read_csr(sepc);
    vs_count++;
    if ((int64_t)vs_cause < 0)
        clear_csr(sip, 1 << 1); /* SSIP: hvip.VSSIP underneath */
    else
        write_csr(sepc, vs_epc + 4);
}
extern char vs_trap_entry[];
__asm__(".align 2\n"
        "vs_trap_entry:\n"
        "  addi sp, sp, -128\n"
        "  sd ra, 0(sp); sd t0, 8(sp); sd t1, 16(sp); sd t2, 24(sp); sd a0, 32(sp); sd a1, 40(sp)\n"
        "  sd a2, 48(sp); sd a3, 56(sp); sd a4, 64(sp); sd a5, 72(sp); sd a6, 80(sp); sd a7, 88(sp)\n"
        "  sd t3, 96(sp); sd t4, 104(sp); sd t5, 112(sp); sd t6, 120(sp)\n"
        "  call vs_trap_c\n"
        "  ld ra, 0(sp); ld t0, 8(sp); ld t1, 16(sp); ld t2, 24(sp); ld a0, 32(sp); ld a1, 40(sp)\n"
        "  ld a2, 48(sp); ld a3, 56(sp); ld a4, 64(sp); ld a5, 72(sp); ld a6, 80(sp); ld a7, 88(sp)\n"
        "  ld t3, 96(sp); ld t4, 104(sp); ld t5, 112(sp); ld t6, 120(sp)\n"
        "  addi sp, sp, 128\n"
        "  sret\n");

static void reset_counts(void) { hs_count = vs_count = 0; hs_cause = vs_cause = ~0ull; trap_reset(); }

/* Raises VSSIP in hvip from VS-mode's point of view: the guest enables its interrupts and spins. */
static long vs_wait_interrupt(long sie)
{
    if (sie) set_csr(sstatus, MSTATUS_SIE);
    for (volatile int i = 0; i < 1000; i++) {}
    clear_csr(sstatus, MSTATUS_SIE);
    return 0;
}
static long vs_sie_ssie(long unused) { set_csr(sie, 1 << 1); return (long)read_csr(sie); }

int main(void)
{
    write_csr(stvec, (uint64_t)hs_trap_entry);
    write_csr(vstvec, (uint64_t)vs_trap_entry);

    /* Not delegated: M-mode takes the guest's breakpoint, with MPV and MPP = S. */
    reset_counts();
    run_in_mode(MODE_VS, do_ebreak, 0);
    CHECK("VS ebreak to M", trap.cause, CAUSE_BREAKPOINT);
    CHECK("  MPV", (trap.mstatus & MSTATUS_MPV) != 0, 1);

    /* medeleg: HS-mode takes it, hstatus.SPV and SPVP say where it came from, SRET goes back to V mode. */
    write_csr(medeleg, (1 << CAUSE_BREAKPOINT) | (1 << CAUSE_VIRTUAL_INSTRUCTION));
    reset_counts();
    run_in_mode(MODE_VS, do_ebreak, 0);
    CHECK("VS ebreak to HS", hs_cause, CAUSE_BREAKPOINT);
    CHECK("  hstatus.SPV", (hs_hstatus & HSTATUS_SPV) != 0, 1);
    CHECK("  hstatus.SPVP", (hs_hstatus & HSTATUS_SPVP) != 0, 1);
    CHECK("  not in M", trap.count, 0);
    CHECK("  back in V: the return ecall is VS's", trap.cause, 0);
    reset_counts();
    run_in_mode(MODE_VU, do_ebreak, 0);
    CHECK("VU ebreak to HS: SPVP clear", hs_cause == CAUSE_BREAKPOINT && !(hs_hstatus & HSTATUS_SPVP), 1);
    reset_counts();
    run_in_mode(MODE_VS, vs_csrr_hstatus, 0);
    CHECK("virtual instruction to HS", hs_cause, CAUSE_VIRTUAL_INSTRUCTION);

    /* hedeleg: the guest's own handler, through vscause and vsepc. */
    write_csr(hedeleg, 1 << CAUSE_BREAKPOINT);
    reset_counts();
    run_in_mode(MODE_VS, do_ebreak, 0);
    CHECK("VS ebreak to VS", vs_cause, CAUSE_BREAKPOINT);
    CHECK("  not in HS", hs_count, 0);
    CHECK("  vscause", read_csr(vscause), CAUSE_BREAKPOINT);
    CHECK("  scause untouched", read_csr(scause) == CAUSE_BREAKPOINT, 0);
    reset_counts();
    run_in_mode(MODE_VU, do_ebreak, 0);
    CHECK("VU ebreak to VS", vs_cause, CAUSE_BREAKPOINT);
    CHECK("  vsstatus.SPP = U", (read_csr(vsstatus) & MSTATUS_SPP) != 0, 0);
    reset_counts();
    run_in_mode(1, do_ebreak, 0);
    CHECK("HS ebreak: hedeleg does not apply", hs_cause == CAUSE_BREAKPOINT && vs_count == 0, 1);
    write_csr(hedeleg, 0);
    write_csr(medeleg, 0);

    /* Virtual supervisor software interrupt, not delegated by hideleg: HS-mode takes VSSI (cause 2)
       as soon as V mode runs, whatever vsstatus.SIE. */
    write_csr(mideleg, (1 << 1) | (1 << 5) | (1 << 9));
    write_csr(hie, 1 << 2);
    set_csr(hvip, 1 << 2);
    reset_counts();
    run_in_mode(MODE_VS, vs_wait_interrupt, 0);
    CHECK("VSSI to HS", hs_cause, (1ull << 63) | 2);
    CHECK("  hvip.VSSIP cleared by HS", read_csr(hvip) & 4, 0);

    /* Delegated by hideleg: the guest sees SSI (cause 1) when it enables its interrupts. */
    write_csr(hideleg, 1 << 2);
    CHECK("vsie shows VSSIE as SSIE", run_in_mode(MODE_VS, vs_sie_ssie, 0), 1 << 1);
    set_csr(hvip, 1 << 2);
    reset_counts();
    run_in_mode(MODE_VS, vs_wait_interrupt, 0);
    CHECK("vsstatus.SIE clear: pending", vs_count, 0);
    CHECK("  vsip shows SSIP", read_csr(vsip) & 2, 2);
    reset_counts();
    run_in_mode(MODE_VS, vs_wait_interrupt, 1);
    CHECK("SSI in the guest", vs_cause, (1ull << 63) | 1);
    CHECK("  not in HS", hs_count, 0);
    CHECK("  the guest cleared it through sip", read_csr(hvip) & 4, 0);
    set_csr(hvip, 1 << 2);
    reset_counts();
    run_in_mode(MODE_VU, vs_wait_interrupt, 0);
    CHECK("SSI in VU: taken whatever SIE", vs_cause, (1ull << 63) | 1);
    set_csr(hvip, 1 << 2);
    reset_counts();
    run_in_mode(1, vs_wait_interrupt, 1);
    CHECK("VSSI pending in HS with hideleg: not taken", hs_count + vs_count, 0);
    write_csr(hvip, 0);
    write_csr(hideleg, 0);
    write_csr(hie, 0);
    write_csr(mideleg, 0);
    return test_result();
}
