// Code generated at run time, as a guest's own JIT makes it, run hot enough to be translated:
// rewritten by the thread that runs it, rewritten by another thread while a second one runs it,
// and run from a page that the hot loop keeps storing data into. Prints what each version of the
// code returned; the results are known by construction, and qemu-riscv64 gives the same.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_riscv_flush_icache
#define SYS_riscv_flush_icache 259
#endif

static volatile uint32_t *code;
typedef long (*function)(long);

// The function "a0 = a0 + k; return": addi a0, a0, k; ret.
static void emit(int k)
{
    code[0] = ((uint32_t)k << 20) | (10 << 15) | (10 << 7) | 0x13;
    code[1] = 0x00008067;
    // flags 0: every thread of the process sees the new code (Linux sends the other harts a fence.i).
    syscall(SYS_riscv_flush_icache, (void *)code, (void *)(code + 2), 0);
}

static atomic_long calls;
static atomic_int stop;

static void *runner(void *arg)
{
    (void)arg;
    function f = (function)code;
    long last = 0;
    while (!atomic_load(&stop)) {
        last = f(0);
        atomic_fetch_add(&calls, 1);
        if (last == 99) break;
    }
    return (void *)last;
}

int main(void)
{
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) { perror("mmap"); return 1; }
    function f = (function)code;

    // 1. Rewritten by the thread that runs it, each version called 60,000 times.
    for (int k = 1; k <= 5; k++) {
        emit(k);
        long sum = 0;
        for (int i = 0; i < 60000; i++) sum = f(sum);
        printf("version %d: sum %ld\n", k, sum);
    }

    // 2. Rewritten by this thread while another one calls it in a loop: the runner must come to
    //    see the last version (it returns 99) and stop by itself.
    emit(7);
    atomic_store(&calls, 0);
    pthread_t t;
    pthread_create(&t, NULL, runner, NULL);
    while (atomic_load(&calls) < 50000) sched_yield();
    emit(99);
    void *seen;
    pthread_join(t, &seen);
    printf("the other thread saw %ld after at least 50000 calls of the old version\n", (long)seen);

    // 3. The loop stores into the code's own page (after the function) at every call.
    emit(3);
    volatile long *data = (volatile long *)(code + 512);
    long sum = 0;
    for (int i = 0; i < 30000; i++) {
        data[i % 64] = i;
        sum = f(sum);
    }
    long check = 0;
    for (int i = 0; i < 64; i++) check += data[i];
    printf("stores beside the code: sum %ld, data %ld\n", sum, check);
    return 0;
}
