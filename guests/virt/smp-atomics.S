# SMP memory ordering on the virt machine (run with -bios none / --firmware none, every hart
# entering here in M-mode with a0 = its hart id). HARTS harts each add 1, ITERS times, to three
# shared counters: with an AMO, with an LR/SC loop, and with plain loads and stores under a ticket
# lock (AMO to take a ticket, acquire/release fences, PAUSE while spinning). Hart 0 waits for the
# others, then checks that every counter is HARTS * ITERS and ends the machine through the SiFive
# test device: 0x5555 (pass), or exit code 1..3 naming the counter that is wrong.

#define HARTS 4
#define ITERS 50000
#define SIFIVE_TEST 0x100000
#define PAUSE .4byte 0x0100000f

        .section .text.init
        .globl _start
_start:
        csrr    a0, mhartid
        li      t0, HARTS
        bgeu    a0, t0, park            # harts beyond HARTS take no part
        la      s0, counters
        li      s1, ITERS
        li      s2, 1
loop:
        amoadd.d zero, s2, (s0)         # counter 0: an AMO

        addi    t1, s0, 8               # counter 1: LR/SC
1:      lr.d    t2, (t1)
        addi    t2, t2, 1
        sc.d    t3, t2, (t1)
        bnez    t3, 1b

        addi    t1, s0, 24              # counter 2: plain load/add/store under a ticket lock
        amoadd.d t2, s2, (t1)           # t2 = my ticket
2:      ld      t3, 32(s0)              # now serving
        beq     t3, t2, 3f
        PAUSE
        j       2b
3:      fence   r, rw                   # acquire
        ld      t4, 16(s0)
        addi    t4, t4, 1
        sd      t4, 16(s0)
        fence   rw, w                   # release
        addi    t3, t3, 1
        sd      t3, 32(s0)

        addi    s1, s1, -1
        bnez    s1, loop

        addi    t1, s0, 40              # count this hart done
        amoadd.d zero, s2, (t1)
        bnez    a0, park

        li      t0, HARTS               # hart 0: wait for everyone, then check
4:      ld      t1, 40(s0)
        beq     t1, t0, 5f
        PAUSE
        j       4b
5:      fence   r, rw
        li      t0, HARTS * ITERS
        li      a1, 1
        ld      t1, 0(s0)
        bne     t1, t0, fail
        li      a1, 2
        ld      t1, 8(s0)
        bne     t1, t0, fail
        li      a1, 3
        ld      t1, 16(s0)
        bne     t1, t0, fail
        li      t0, SIFIVE_TEST
        li      t1, 0x5555
        sw      t1, 0(t0)
park:   wfi
        j       park
fail:   slli    a1, a1, 16
        li      t1, 0x3333
        or      a1, a1, t1
        li      t0, SIFIVE_TEST
        sw      a1, 0(t0)
        j       park

        .bss                            # zeroed by the loader (the ELF segment's memsz)
        .balign 4096                    # a page of its own, apart from the code
counters:                               # amo, lrsc, locked, next ticket, serving, done
        .zero   48
