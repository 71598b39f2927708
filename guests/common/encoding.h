/* Isomorph guest runtime: CSR bit definitions shared by C and assembly. */
#ifndef ISOMORPH_ENCODING_H
#define ISOMORPH_ENCODING_H

#define MSTATUS_SIE   0x2
#define MSTATUS_MIE   0x8
#define MSTATUS_SPIE  0x20
#define MSTATUS_UBE   0x40
#define MSTATUS_MPIE  0x80
#define MSTATUS_SPP   0x100
#define MSTATUS_MPP   0x1800
#define MSTATUS_MPP_S 0x800
#define MSTATUS_MPP_M 0x1800
#define MSTATUS_FS    0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN   0x4000
#define MSTATUS_FS_DIRTY   0x6000
#define MSTATUS_XS    0x18000
#define MSTATUS_MPRV  0x20000
#define MSTATUS_SUM   0x40000
#define MSTATUS_MXR   0x80000
#define MSTATUS_TVM   0x100000
#define MSTATUS_TW    0x200000
#define MSTATUS_TSR   0x400000
#define MSTATUS_GVA   0x4000000000ull
#define MSTATUS_MPV   0x8000000000ull
#define MSTATUS_SD    0x8000000000000000

/* The hypervisor extension */
#define HSTATUS_GVA   0x40
#define HSTATUS_SPV   0x80
#define HSTATUS_SPVP  0x100
#define HSTATUS_HU    0x200
#define HSTATUS_VTVM  0x100000
#define HSTATUS_VTW   0x200000
#define HSTATUS_VTSR  0x400000
#define MODE_VU 4 /* run_in_mode: U-mode with V=1 */
#define MODE_VS 5 /* run_in_mode: S-mode with V=1 */

#define MIP_SSIP 0x2
#define MIP_MSIP 0x8
#define MIP_STIP 0x20
#define MIP_MTIP 0x80
#define MIP_SEIP 0x200
#define MIP_MEIP 0x800

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_USER_ECALL 8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_VIRTUAL_SUPERVISOR_ECALL 10
#define CAUSE_MACHINE_ECALL 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15
#define CAUSE_FETCH_GUEST_PAGE_FAULT 20
#define CAUSE_LOAD_GUEST_PAGE_FAULT 21
#define CAUSE_VIRTUAL_INSTRUCTION 22
#define CAUSE_STORE_GUEST_PAGE_FAULT 23

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define PTE_V 0x001
#define PTE_R 0x002
#define PTE_W 0x004
#define PTE_X 0x008
#define PTE_U 0x010
#define PTE_G 0x020
#define PTE_A 0x040
#define PTE_D 0x080

#define SATP_MODE_SV39 (8ull << 60)
#define SATP_MODE_SV48 (9ull << 60)

#define CLINT_BASE     0x2000000
#define CLINT_MSIP     (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)

/* a7 value used by the run_in_mode return stub */
#define RET_MAGIC 0x150
/* trap frame: 32 slots, slot 0 holds the trap pc (mepc) */
#define FRAME_SIZE (32 * 8)

#endif
