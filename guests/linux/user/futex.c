// futex(2) through raw system calls: EAGAIN, timeouts (relative, absolute, CLOCK_REALTIME),
// wake counts and bitsets, requeue, and a wait interrupted by a signal with and without
// SA_RESTART. "futex shared": futexes in MAP_SHARED memory between processes (raw, and glibc's
// process-shared mutex, condition variable and semaphore) and through two mappings of one file.
// Every line is the same on Linux (qemu-riscv64 is the oracle).
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

// --- Futexes in shared memory ----------------------------------------------------------------------
struct shared {
    uint32_t word, scratch;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    sem_t sem;
    int go;
    long counter;
};

static long count_queued(uint32_t *w, uint32_t *scratch)
{
    long queued = futex(w, FUTEX_CMP_REQUEUE, 0, (struct timespec *)(long)INT_MAX, scratch, *w);
    futex(scratch, FUTEX_CMP_REQUEUE, 0, (struct timespec *)(long)INT_MAX, w, *scratch);
    return queued;
}

static void shared_between_processes(void)
{
    struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->mutex, &ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&sh->cond, &ca);
    sem_init(&sh->sem, 1, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        long r = futex(&sh->word, FUTEX_WAIT, 0, NULL, NULL, 0); // a shared futex: the parent wakes it
        pthread_mutex_lock(&sh->mutex);
        while (!sh->go) pthread_cond_wait(&sh->cond, &sh->mutex);
        pthread_mutex_unlock(&sh->mutex);
        for (int i = 0; i < 1000; i++) {
            pthread_mutex_lock(&sh->mutex);
            sh->counter++;
            pthread_mutex_unlock(&sh->mutex);
        }
        sem_post(&sh->sem);
        _exit(r == 0 ? 10 : 20);
    }
    while (count_queued(&sh->word, &sh->scratch) < 1) usleep(1000);
    printf("queued in the other process: 1, private wake reaches it: %ld\n", futex(&sh->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    sh->word = 1;
    printf("shared wake: %ld\n", futex(&sh->word, FUTEX_WAKE, 1, NULL, NULL, 0));
    pthread_mutex_lock(&sh->mutex);
    sh->go = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mutex);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&sh->mutex);
        sh->counter++;
        pthread_mutex_unlock(&sh->mutex);
    }
    sem_wait(&sh->sem);
    int status;
    waitpid(child, &status, 0);
    printf("process-shared mutex counter: %ld, child exit %d\n", sh->counter, WEXITSTATUS(status));
}

static uint32_t *other_view;
static void *wait_on_view(void *arg)
{
    uint32_t *w = arg;
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    return (void *)futex(w, FUTEX_WAIT, 0, NULL, NULL, 0);
}

static void two_mappings_of_one_file(void)
{
    char path[] = "/tmp/isomorph-futex-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    ftruncate(fd, 4096);
    uint32_t *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    other_view = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pthread_t t;
    waiting = 0;
    pthread_create(&t, NULL, wait_on_view, a);
    while (count_queued(a, a + 1) < 1) usleep(1000);
    long through_private = futex(other_view, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    long through_other = futex(other_view, FUTEX_WAKE, 1, NULL, NULL, 0);
    void *r;
    pthread_join(t, &r);
    printf("two mappings of a file, different addresses: private wake %ld, shared wake %ld, waiter got %ld\n", through_private,
           through_other, (long)r);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "shared") == 0) {
        shared_between_processes();
        two_mappings_of_one_file();
        return 0;
    }
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
