/* The hypervisor extension's CSRs: misa.H, the WARL fields of the H and VS CSRs, which CSRs a
   virtualized mode reaches (the VS CSRs in place of the S CSRs) and which it may not (a
   virtual-instruction exception where HS-mode may, an illegal instruction where it may not),
   the counters under hcounteren, and the V-mode instructions HS-mode emulates (ecall from VS,
   SRET under VTSR, WFI under VTW, SFENCE.VMA and satp under VTVM, the hypervisor instructions). */
#include "test.h"
#include "hyp.h"

static long vs_read_sstatus(long unused) { return (long)read_csr(sstatus); }
static long vs_write_sscratch(long v) { write_csr(sscratch, v); return (long)read_csr(sscratch); }
static long read_hstatus(long unused) { return (long)read_csr(hstatus); }
static long read_mstatus(long unused) { return (long)read_csr(mstatus); }
static long read_vsstatus(long unused) { return (long)read_csr(vsstatus); }
static long read_cycle(long unused) { return (long)read_csr(cycle); }
static long read_satp(long unused) { return (long)read_csr(satp); }
static long do_ecall(long unused) { __asm__ volatile("ecall"); return 0; }
static long do_sret(long unused) { __asm__ volatile("sret"); return 0; }
static long do_wfi(long unused) { __asm__ volatile("wfi\n nop"); return 0; }
static long do_sfence(long unused) { __asm__ volatile("sfence.vma"); return 0; }
static long do_hfence(long unused) { __asm__ volatile(WITH_H("hfence.vvma")); return 0; }
static long do_hlv(long addr) { long v; __asm__ volatile(WITH_H("hlv.d %0, (%1)") : "=r"(v) : "r"(addr)); return v; }

/* Runs fn in mode and returns the cause of the trap it took into M-mode (0: none). */
static uint64_t cause_in(int mode, long (*fn)(long), long arg)
{
    trap_reset();
    run_in_mode(mode, fn, arg);
    return trap.count ? trap.cause : 0;
}

int main(void)
{
    CHECK("misa.H", (read_csr(misa) >> 7) & 1, 1);
    CHECK("hstatus.VSXL", (read_csr(hstatus) >> 32) & 3, 2);
    CHECK("vsstatus.UXL", (read_csr(vsstatus) >> 32) & 3, 2);

    /* WARL masks */
    write_csr(hedeleg, ~0ull);
    CHECK("hedeleg writable", read_csr(hedeleg), 0xB1FF);
    write_csr(hedeleg, 0);
    write_csr(hideleg, ~0ull);
    CHECK("hideleg writable", read_csr(hideleg), 0x444);
    write_csr(hideleg, 0);
    write_csr(mideleg, 0);
    CHECK("mideleg VS bits read-only one", read_csr(mideleg) & 0x444, 0x444);
    write_csr(hvip, ~0ull);
    CHECK("hvip writable", read_csr(hvip), 0x444);
    CHECK("hip shows hvip", read_csr(hip) & 0x444, 0x444);
    CHECK("mip shows hvip", read_csr(mip) & 0x444, 0x444);
    write_csr(hip, 0);
    CHECK("hip write clears only VSSIP", read_csr(hvip), 0x440);
    write_csr(hvip, 0);
    write_csr(hie, ~0ull);
    CHECK("hie VS bits", read_csr(hie) & 0x444, 0x444);
    CHECK("mie shows hie", read_csr(mie) & 0x444, 0x444);
    write_csr(hie, 0);
    write_csr(hstatus, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM | HSTATUS_HU | HSTATUS_SPVP | HSTATUS_SPV);
    CHECK("hstatus fields", read_csr(hstatus) & 0x7003C0, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM | HSTATUS_HU | HSTATUS_SPVP | HSTATUS_SPV);
    write_csr(hstatus, 0);
    /* hgatp: Sv39x4 and Sv48x4 are kept, with the VMID bits; a reserved MODE is not Sv57x4 */
    write_csr(hgatp, (8ull << 60) | (0x3FFFull << 44) | 0x80040);
    CHECK("hgatp Sv39x4", read_csr(hgatp) >> 60, 8);
    CHECK("hgatp PPN", read_csr(hgatp) & 0xFFFFFFFFFFCull, 0x80040);
    CHECK("hgatp VMID bits set", ((read_csr(hgatp) >> 44) & 0x3FFF) != 0, 1);
    write_csr(hgatp, 9ull << 60);
    CHECK("hgatp Sv48x4", read_csr(hgatp) >> 60, 9);
    write_csr(hgatp, 0);
    CHECK("hgatp Bare", read_csr(hgatp), 0);
    write_csr(mstatus, read_csr(mstatus) | MSTATUS_MPV | MSTATUS_GVA);
    CHECK("mstatus MPV GVA writable", read_csr(mstatus) & (MSTATUS_MPV | MSTATUS_GVA), MSTATUS_MPV | MSTATUS_GVA);
    clear_csr(mstatus, MSTATUS_MPV | MSTATUS_GVA);

    /* In VS-mode the S CSRs are the VS CSRs */
    write_csr(vsscratch, 0x1111);
    write_csr(sscratch, 0x2222);
    CHECK("VS sscratch is vsscratch", run_in_mode(MODE_VS, vs_write_sscratch, 0x3333), 0x3333);
    CHECK("vsscratch written from VS", read_csr(vsscratch), 0x3333);
    CHECK("sscratch untouched by VS", read_csr(sscratch), 0x2222);
    write_csr(vsstatus, MSTATUS_SUM);
    CHECK("VS sstatus is vsstatus", run_in_mode(MODE_VS, vs_read_sstatus, 0) & MSTATUS_SUM, MSTATUS_SUM);
    CHECK("sstatus.SUM stays clear", read_csr(sstatus) & MSTATUS_SUM, 0);
    write_csr(vsstatus, 0);

    /* Which CSRs V modes reach */
    CHECK("VS hstatus: virtual instruction", cause_in(MODE_VS, read_hstatus, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("VS vsstatus: virtual instruction", cause_in(MODE_VS, read_vsstatus, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("VS mstatus: illegal", cause_in(MODE_VS, read_mstatus, 0), CAUSE_ILLEGAL_INSTRUCTION);
    /* QEMU 7.2 raises an illegal instruction for VU's S CSRs, SRET and SFENCE.VMA, and lets VS reach
       satp under VTVM; the specification's list of virtual-instruction exceptions has all four. */
    CHECK_SPEC("VU sstatus: virtual instruction", cause_in(MODE_VU, vs_read_sstatus, 0), CAUSE_VIRTUAL_INSTRUCTION, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("VU hstatus: virtual instruction", cause_in(MODE_VU, read_hstatus, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("U hstatus: illegal", cause_in(0, read_hstatus, 0), CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("HS hstatus: allowed", cause_in(1, read_hstatus, 0), 0);

    /* Counters: mcounteren (illegal), hcounteren (virtual), scounteren (virtual in VU) */
    write_csr(mcounteren, 0);
    CHECK("VS cycle, mcounteren 0: illegal", cause_in(MODE_VS, read_cycle, 0), CAUSE_ILLEGAL_INSTRUCTION);
    write_csr(mcounteren, 1);
    write_csr(hcounteren, 0);
    CHECK("VS cycle, hcounteren 0: virtual", cause_in(MODE_VS, read_cycle, 0), CAUSE_VIRTUAL_INSTRUCTION);
    write_csr(hcounteren, 1);
    CHECK("VS cycle allowed", cause_in(MODE_VS, read_cycle, 0), 0);
    write_csr(scounteren, 0);
    CHECK("VU cycle, scounteren 0: virtual", cause_in(MODE_VU, read_cycle, 0), CAUSE_VIRTUAL_INSTRUCTION);
    write_csr(scounteren, 1);
    CHECK("VU cycle allowed", cause_in(MODE_VU, read_cycle, 0), 0);
    write_csr(mcounteren, 0);
    write_csr(hcounteren, 0);
    write_csr(scounteren, 0);

    /* Environment calls and the instructions HS-mode emulates */
    CHECK("ecall from VS", cause_in(MODE_VS, do_ecall, 0), CAUSE_VIRTUAL_SUPERVISOR_ECALL);
    CHECK("ecall from VS: MPV", (trap.mstatus & MSTATUS_MPV) != 0, 1);
    CHECK("ecall from VS: MPP", (trap.mstatus & MSTATUS_MPP) >> 11, 1);
    CHECK("ecall from VU", cause_in(MODE_VU, do_ecall, 0), CAUSE_USER_ECALL);
    CHECK("ecall from VU: MPV", (trap.mstatus & MSTATUS_MPV) != 0, 1);
    CHECK("ecall from HS: MPV clear", cause_in(1, do_ecall, 0) == CAUSE_SUPERVISOR_ECALL && !(trap.mstatus & MSTATUS_MPV), 1);
    write_csr(hstatus, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM);
    CHECK("VS sret under VTSR", cause_in(MODE_VS, do_sret, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("VS wfi under VTW", cause_in(MODE_VS, do_wfi, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("VS sfence.vma under VTVM", cause_in(MODE_VS, do_sfence, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK_SPEC("VS satp under VTVM", cause_in(MODE_VS, read_satp, 0), CAUSE_VIRTUAL_INSTRUCTION, 0);
    write_csr(hstatus, 0);
    CHECK("VS satp", cause_in(MODE_VS, read_satp, 0), 0);
    CHECK("VS sfence.vma", cause_in(MODE_VS, do_sfence, 0), 0);
    CHECK_SPEC("VU sret", cause_in(MODE_VU, do_sret, 0), CAUSE_VIRTUAL_INSTRUCTION, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK_SPEC("VU sfence.vma", cause_in(MODE_VU, do_sfence, 0), CAUSE_VIRTUAL_INSTRUCTION, CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("VU wfi", cause_in(MODE_VU, do_wfi, 0), CAUSE_VIRTUAL_INSTRUCTION);
    write_csr(mstatus, read_csr(mstatus) | MSTATUS_TW);
    CHECK("VS wfi under TW: illegal", cause_in(MODE_VS, do_wfi, 0), CAUSE_ILLEGAL_INSTRUCTION);
    clear_csr(mstatus, MSTATUS_TW);
    CHECK("VS hfence.vvma", cause_in(MODE_VS, do_hfence, 0), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("VS hlv.d", cause_in(MODE_VS, do_hlv, 0x80000000), CAUSE_VIRTUAL_INSTRUCTION);
    CHECK("U hlv.d without HU", cause_in(0, do_hlv, 0x80000000), CAUSE_ILLEGAL_INSTRUCTION);
    CHECK("U hfence.vvma", cause_in(0, do_hfence, 0), CAUSE_ILLEGAL_INSTRUCTION);
    write_csr(hstatus, HSTATUS_HU | HSTATUS_SPVP);
    CHECK("U hlv.d with HU", cause_in(0, do_hlv, 0x80000000), 0);
    write_csr(hstatus, 0);
    return test_result();
}
