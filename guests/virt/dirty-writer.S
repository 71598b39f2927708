# Writes memory without end, for the dirty log's tests (run with --firmware none; every hart enters
# here in M-mode). Harts 0 and 1 each own 2 MiB of a buffer and sweep it over and over: a
# doubleword store to every page at an offset that moves each sweep, a byte and a halfword store
# beside it, and an AMO and an LR/SC pair on the page's first doubleword — every kind of store a
# hart makes. Other harts park. The values change every sweep, so a page copied once and not
# again differs from the live one.

#define PAGES 512                       /* 2 MiB per hart */

        .section .text.init
        .globl _start
_start:
        csrr    a0, mhartid
        li      t0, 2
        bgeu    a0, t0, park
        la      s0, buffer
        slli    t0, a0, 21              # hart h sweeps buffer + h * 2 MiB
        add     s0, s0, t0
        li      s1, 0                   # the sweep number
sweep:
        addi    s1, s1, 1
        mv      t1, s0                  # this page
        li      t2, PAGES
        slli    t3, s1, 3               # offset in the page: 8 * sweep, modulo 4096
        li      t5, 0xff8
        and     t3, t3, t5
page:
        add     t4, t1, t3
        sd      s1, 0(t4)
        sb      s1, 8(t1)
        sh      s1, 10(t1)
        li      t5, 1
        addi    t6, t1, 16
        amoadd.d zero, t5, (t6)
1:      lr.d    t5, (t1)
        addi    t5, t5, 1
        sc.d    t6, t5, (t1)
        bnez    t6, 1b
        li      t5, 4096
        add     t1, t1, t5
        addi    t2, t2, -1
        bnez    t2, page
        j       sweep

park:   wfi
        j       park

        .bss
        .align  12
buffer: .space  2 * PAGES * 4096
