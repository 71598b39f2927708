// futex(2) through raw system calls: EAGAIN, timeouts (relative, absolute, CLOCK_REALTIME),
// wake counts and bitsets, requeue, and a wait interrupted by a signal with and without
// SA_RESTART. Every line is the same on Linux (qemu-riscv64 is the oracle).
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout, uint32_t *word2, uint32_t value3)
{
    long r = syscall(SYS_futex, word, op, value, timeout, word2, value3);
    return r < 0 ? -errno : r;
}

static const char *name(long r)
{
    static char buffer[32];
    switch (r) {
    case -EAGAIN: return "EAGAIN";
    case -ETIMEDOUT: return "ETIMEDOUT";
    case -EINTR: return "EINTR";
    case -EINVAL: return "EINVAL";
    case -ENOSYS: return "ENOSYS";
    default: snprintf(buffer, sizeof buffer, "%ld", r); return buffer;
    }
}

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static struct timespec in(clockid_t clock, long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static uint32_t word, word2;
static int waiting;

static void *wait_once(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    return (void *)futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void *bitset_waiter(void *arg)
{
    uint32_t bits = (uint32_t)(uintptr_t)arg;
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0) futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, bits);
    return NULL;
}

// Waits until n threads are asleep on the futex: requeuing them all (waking none) to a scratch
// word counts them, and requeuing them back leaves them as they were.
static void wait_until_queued(uint32_t *w, int n)
{
    static uint32_t scratch;
    while (1) {
        long queued = futex(w, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(long)INT_MAX, &scratch, *w);
        futex(&scratch, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(long)INT_MAX, w, scratch);
        if (queued >= n) return;
        usleep(1000);
    }
}

static volatile int handled;
static void on_usr1(int signal) { (void)signal; handled++; }
static long interrupted_result;

static void *interrupted_waiter(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    interrupted_result = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void interrupt_test(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    word = 0;
    waiting = 0;
    handled = 0;
    pthread_t t;
    pthread_create(&t, NULL, interrupted_waiter, NULL);
    wait_until_queued(&word, 1);
    pthread_kill(t, SIGUSR1);
    while (!handled) usleep(1000);
    if (restart) {
        wait_until_queued(&word, 1);
        // Restarted: still waiting, until woken.
        word = 1;
        futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    pthread_join(t, NULL);
    printf("futex wait and a signal %s SA_RESTART: %s\n", restart ? "with" : "without", name(interrupted_result));
}

int main(void)
{
    word = 1;
    printf("wait on a changed value: %s\n", name(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
    printf("misaligned word: %s\n", name(futex((uint32_t *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
    printf("wake with nobody waiting: %s\n", name(futex(&word, FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0)));
    printf("wait bitset 0: %s\n", name(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0)));

    word = 0;
    struct timespec rel = {0, 30 * 1000000};
    double t0 = seconds(CLOCK_MONOTONIC);
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
    printf("relative 30 ms: %s, waited at least 30 ms: %s\n", name(r), seconds(CLOCK_MONOTONIC) - t0 >= 0.030 ? "yes" : "no");
    t0 = seconds(CLOCK_MONOTONIC); // before the deadline is computed: the wait then lasts at least 30 ms after it
    struct timespec abs = in(CLOCK_MONOTONIC, 30);
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("absolute monotonic +30 ms: %s, waited at least 30 ms: %s\n", name(r), seconds(CLOCK_MONOTONIC) - t0 >= 0.030 ? "yes" : "no");
    t0 = seconds(CLOCK_REALTIME);
    abs = in(CLOCK_REALTIME, 30);
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("absolute realtime +30 ms: %s, waited at least 30 ms: %s\n", name(r), seconds(CLOCK_REALTIME) - t0 >= 0.030 ? "yes" : "no");
    abs = in(CLOCK_MONOTONIC, -1000);
    printf("deadline in the past: %s\n", name(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY)));
    struct timespec bad = {0, 1000000000};
    printf("bad timeout: %s\n", name(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0)));

    // Wake counts: three waiters that wait once each, woken one and then the rest.
    pthread_t t[3];
    word = 0;
    waiting = 0;
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, wait_once, NULL);
    wait_until_queued(&word, 3);
    long first = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    long rest = futex(&word, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
    long results = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        results += (long)r;
    }
    printf("wake 1 of 3: %ld, then the rest: %ld, every wait returned 0: %s\n", first, rest, results == 0 ? "yes" : "no");

    // Bitsets: only waiters whose bits meet the wake's bits.
    word = 0;
    waiting = 0;
    pthread_create(&t[0], NULL, bitset_waiter, (void *)(uintptr_t)1);
    pthread_create(&t[1], NULL, bitset_waiter, (void *)(uintptr_t)2);
    wait_until_queued(&word, 2);
    long four = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 4);
    long two = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    long rest1 = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 1);
    futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0); // none should be left; never hang if one is
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("wake bitset 4: %ld, bitset 2: %ld, bitset 1: %ld\n", four, two, rest1);

    // Requeue: three waiters on word; one woken, two moved to word2, then woken there.
    word = 0;
    word2 = 0;
    waiting = 0;
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, wait_once, NULL);
    wait_until_queued(&word, 3);
    printf("cmp_requeue with a stale value: %s\n",
           name(futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (struct timespec *)2, &word2, 99)));
    long moved = futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (struct timespec *)2, &word2, 0);
    long on_word = futex(&word, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    long on_word2 = futex(&word2, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
    futex(&word, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("cmp_requeue: woken and moved %ld, left on the first word %ld, woken on the second %ld\n", moved, on_word, on_word2);

    interrupt_test(0);
    interrupt_test(1);
    printf("futex: done\n");
    return 0;
}
