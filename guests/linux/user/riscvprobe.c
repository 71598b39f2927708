// RISC-V specific system calls. "riscvprobe barriers": membarrier and riscv_flush_icache, whose
// output is the same on Linux (qemu-riscv64 is the oracle). "riscvprobe hwprobe": riscv_hwprobe,
// printing what it says and checking that the extensions it reports really execute.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_riscv_hwprobe
#define SYS_riscv_hwprobe 258
#endif
#ifndef SYS_riscv_flush_icache
#define SYS_riscv_flush_icache 259
#endif

static long call(long number, long a, long b, long c, long d, long e)
{
    long r = syscall(number, a, b, c, d, e);
    return r < 0 ? -errno : r;
}

static const char *name(long r)
{
    static char buffer[32];
    switch (r) {
    case -EPERM: return "EPERM";
    case -EINVAL: return "EINVAL";
    case -ENOSYS: return "ENOSYS";
    default: snprintf(buffer, sizeof buffer, "%ld", r); return buffer;
    }
}

// --- membarrier, with another thread running ---------------------------------------------------
static volatile int stop;
static volatile unsigned long spins;

static void *spinner(void *arg)
{
    (void)arg;
    while (!stop) spins++;
    return NULL;
}

static void barriers(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    long query = call(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0, 0, 0);
    long wanted = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
    printf("membarrier query offers the private expedited commands: %s\n", query >= 0 && (query & wanted) == wanted ? "yes" : "no");
    printf("query with flags: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0, 0, 0)));
    printf("private expedited before registering: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0, 0)));
    printf("register private expedited: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0, 0)));
    long ok = 0;
    for (int i = 0; i < 100; i++) ok += call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0, 0) == 0;
    printf("private expedited, 100 times: %ld succeeded\n", ok);
    printf("sync-core before registering: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0)));
    printf("register sync-core: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0)));
    printf("sync-core: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0)));
    printf("global: %s\n", name(call(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0, 0, 0)));
    printf("unknown command: %s\n", name(call(SYS_membarrier, 1 << 20, 0, 0, 0, 0)));
    stop = 1;
    pthread_join(t, NULL);

    // Code written at run time, then rewritten: each version runs after riscv_flush_icache.
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int results[2];
    for (int version = 0; version < 2; version++) {
        code[0] = 0x00000513 | (uint32_t)(42 + version) << 20; // addi a0, zero, 42 + version
        code[1] = 0x00008067;                                // ret
        long r = call(SYS_riscv_flush_icache, (long)code, (long)(code + 2), 0, 0, 0);
        if (r != 0) printf("riscv_flush_icache: %s\n", name(r));
        results[version] = ((int (*)(void))code)();
    }
    printf("generated code returned %d, then %d after rewriting\n", results[0], results[1]);
    printf("riscv_flush_icache local: %s\n", name(call(SYS_riscv_flush_icache, (long)code, (long)(code + 2), 1, 0, 0)));
}

// --- riscv_hwprobe --------------------------------------------------------------------------------
struct pair { int64_t key; uint64_t value; };

static int runs_zba(void)
{
    long r, a = 5, b = 100;
    __asm__(".insn r 0x33, 2, 0x10, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); // sh1add: (a << 1) + b
    return r == 110;
}

static int runs_zbb(void)
{
    long r, a = 0xff0, b = 0x0f0;
    __asm__(".insn r 0x33, 7, 0x20, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); // andn: a & ~b
    return r == 0xf00;
}

static int runs_zbs(void)
{
    long r, a = 0, b = 40;
    __asm__(".insn r 0x33, 1, 0x14, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); // bset: a | 1 << b
    return r == 1L << 40;
}

static void hwprobe(void)
{
    struct pair pairs[] = {{0, 99}, {1, 99}, {2, 99}, {3, 99}, {4, 99}, {5, 99}, {6, 99}, {1000, 99}, {-5, 99}};
    int n = sizeof pairs / sizeof pairs[0];
    long r = call(SYS_riscv_hwprobe, (long)pairs, n, 0, 0, 0);
    printf("riscv_hwprobe: %s\n", name(r));
    if (r != 0) return;
    printf("mvendorid %llu, marchid %llu, mimpid %llu\n", (unsigned long long)pairs[0].value, (unsigned long long)pairs[1].value,
           (unsigned long long)pairs[2].value);
    printf("base behavior: %s\n", pairs[3].value == 1 ? "IMA" : "other");
    uint64_t ext = pairs[4].value;
    static const char *names[] = {"FD", "C", "V", "ZBA", "ZBB", "ZBS", "ZICBOZ", "ZBC"};
    printf("ima_ext_0:");
    for (int bit = 0; bit < 64; bit++)
        if (ext & (1ull << bit)) printf(" %s", bit < 8 ? names[bit] : "?");
    printf("\n");
    static const char *perf[] = {"unknown", "emulated", "slow", "fast", "unsupported"};
    printf("misaligned accesses: %s\n", pairs[5].value < 5 ? perf[pairs[5].value] : "?");
    printf("zicboz block size: %llu\n", (unsigned long long)pairs[6].value);
    printf("unknown keys: %lld/%llu, %lld/%llu\n", (long long)pairs[7].key, (unsigned long long)pairs[7].value,
           (long long)pairs[8].key, (unsigned long long)pairs[8].value);
    printf("reported extensions execute: zba %s, zbb %s, zbs %s\n", ext & 8 ? (runs_zba() ? "yes" : "NO") : "-",
           ext & 16 ? (runs_zbb() ? "yes" : "NO") : "-", ext & 32 ? (runs_zbs() ? "yes" : "NO") : "-");
    if (ext & 1) {
        volatile double x = 2.0, root;
        __asm__("fsqrt.d %0, %1" : "=f"(root) : "f"(x));
        printf("fd: fsqrt.d(2) squared = %.6f\n", root * root);
    }
    volatile char buffer[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint32_t misaligned;
    memcpy(&misaligned, (char *)buffer + 1, 4);
    printf("misaligned load: 0x%08x\n", *(volatile uint32_t *)((char *)buffer + 1) == misaligned ? misaligned : 0);
    uint64_t cpus = 1;
    printf("with a cpu set: %s\n", name(call(SYS_riscv_hwprobe, (long)pairs, 1, sizeof cpus, (long)&cpus, 0)));
    printf("with flags: %s\n", name(call(SYS_riscv_hwprobe, (long)pairs, 1, 0, 0, 1)));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "hwprobe") == 0) hwprobe();
    else barriers();
    return 0;
}
