// POSIX threads in the process VM: every result is known by construction, and the output is
// compared with qemu-riscv64's. "threads parallel" instead measures whether two spinning threads
// run at the same time (printed for people to read, never compared).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long atomic_counter;
static long cas_counter;

static void *increment(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
        long seen = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_counter, &seen, seen + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        }
    }
    return NULL;
}

static void test_counters(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, increment, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    printf("mutex counter: %ld (expected %d)\n", counter, THREADS * ROUNDS);
    printf("atomic counter: %ld, cas counter: %ld\n", atomic_counter, cas_counter);
}

// --- Producer/consumer over a condition variable ------------------------------------------------
#define SLOTS 4
#define ITEMS 2000
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int queue[SLOTS], queue_head, queue_count;

static void *producer(void *arg)
{
    (void)arg;
    for (int item = 1; item <= ITEMS + 2; item++) {
        int value = item <= ITEMS ? item : -1; // two -1s end the two consumers
        pthread_mutex_lock(&queue_lock);
        while (queue_count == SLOTS) pthread_cond_wait(&not_full, &queue_lock);
        queue[(queue_head + queue_count++) % SLOTS] = value;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&queue_lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0, taken = 0;
    (void)arg;
    while (1) {
        pthread_mutex_lock(&queue_lock);
        while (queue_count == 0) pthread_cond_wait(&not_empty, &queue_lock);
        int value = queue[queue_head];
        queue_head = (queue_head + 1) % SLOTS;
        queue_count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&queue_lock);
        if (value < 0) break;
        sum += value;
        taken++;
    }
    long *result = malloc(2 * sizeof(long));
    result[0] = sum;
    result[1] = taken;
    return result;
}

static void test_condvar(void)
{
    pthread_t p, c[2];
    pthread_create(&p, NULL, producer, NULL);
    for (int i = 0; i < 2; i++) pthread_create(&c[i], NULL, consumer, NULL);
    pthread_join(p, NULL);
    long sum = 0, taken = 0;
    for (int i = 0; i < 2; i++) {
        long *r;
        pthread_join(c[i], (void **)&r);
        sum += r[0];
        taken += r[1];
        free(r);
    }
    printf("producer/consumer: %ld items, sum %ld (expected %d)\n", taken, sum, ITEMS * (ITEMS + 1) / 2);
}

// --- Join values, thread ids, thread-local storage --------------------------------------------
static __thread long tls_value = 1000;
static pthread_t tls_threads[THREADS];
static pid_t thread_tids[THREADS];

static void *square(void *arg)
{
    long n = (long)arg;
    thread_tids[n] = (pid_t)syscall(SYS_gettid);
    long before = tls_value; // each thread starts with the initial value
    tls_value = n * 10;
    sched_yield();
    usleep(1000);
    if (tls_value != n * 10 || before != 1000) return (void *)-1L;
    return (void *)(n * n);
}

static void test_join_and_tls(void)
{
    long total = 0;
    tls_value = 7;
    for (long i = 0; i < THREADS; i++) pthread_create(&tls_threads[i], NULL, square, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(tls_threads[i], &r);
        total += (long)r;
    }
    int distinct = 1;
    for (int i = 0; i < THREADS; i++) {
        if (thread_tids[i] == getpid()) distinct = 0;
        for (int j = 0; j < i; j++)
            if (thread_tids[i] == thread_tids[j]) distinct = 0;
    }
    printf("join values: %ld (expected %d), main tls still %ld, thread ids distinct: %s\n", total, 0 + 1 + 4 + 9, tls_value,
           distinct ? "yes" : "no");
    // Many short-lived threads: each one's resources come back.
    long sum = 0;
    for (long i = 0; i < 64; i++) {
        pthread_t t;
        void *r;
        pthread_create(&t, NULL, square, (void *)(i % THREADS));
        pthread_join(t, &r);
        sum += (long)r;
    }
    printf("64 threads in turn: %ld (expected %d)\n", sum, 16 * 14);
}

// --- Barrier ---------------------------------------------------------------------------------
static pthread_barrier_t barrier;
static int phase_counts[3];
static int serial_count;

static void *phases(void *arg)
{
    (void)arg;
    for (int phase = 0; phase < 3; phase++) {
        __atomic_fetch_add(&phase_counts[phase], 1, __ATOMIC_SEQ_CST);
        int r = pthread_barrier_wait(&barrier);
        // Past the barrier, every thread has counted itself in this phase.
        if (__atomic_load_n(&phase_counts[phase], __ATOMIC_SEQ_CST) != THREADS) return (void *)1L;
        if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_fetch_add(&serial_count, 1, __ATOMIC_SEQ_CST);
        else if (r != 0) return (void *)2L;
    }
    return NULL;
}

static void test_barrier(void)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, phases, NULL);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("barrier: 3 phases, errors %ld, serial threads %d (expected 3)\n", bad, serial_count);
}

// --- pthread_kill to one thread ---------------------------------------------------------------
static volatile pid_t handled_on;
static volatile int target_ready, target_done;

static void on_usr1(int signal)
{
    (void)signal;
    handled_on = (pid_t)syscall(SYS_gettid);
}

static void *kill_target(void *arg)
{
    pid_t *tid = arg;
    *tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&target_ready, 1, __ATOMIC_SEQ_CST);
    while (handled_on == 0) usleep(1000); // interrupted by the signal, or not: it loops until the handler ran
    return NULL;
}

static void test_pthread_kill(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pid_t tid = 0;
    pthread_create(&t, NULL, kill_target, &tid);
    while (!__atomic_load_n(&target_ready, __ATOMIC_SEQ_CST)) usleep(1000);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    printf("pthread_kill: handled on the target thread: %s, not on main: %s\n", handled_on == tid ? "yes" : "no",
           handled_on != getpid() ? "yes" : "no");
}

// --- A robust mutex whose owner dies -------------------------------------------------------------
static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; // ends without unlocking
}

static void test_robust(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int first = pthread_mutex_lock(&robust);
    int consistent = first == EOWNERDEAD ? pthread_mutex_consistent(&robust) : -1;
    pthread_mutex_unlock(&robust);
    int again = pthread_mutex_lock(&robust);
    pthread_mutex_unlock(&robust);
    printf("robust mutex: first lock %s, consistent %d, next lock %d\n", first == EOWNERDEAD ? "EOWNERDEAD" : strerror(first),
           consistent, again);
}

// --- exit_group while other threads are blocked -----------------------------------------------
static pthread_mutex_t never_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int block_pipe[2];

static void *block_in_futex(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&never_lock);
    while (1) pthread_cond_wait(&never, &never_lock);
    return NULL;
}

static void *block_in_read(void *arg)
{
    char c;
    (void)arg;
    while (1) read(block_pipe[0], &c, 1);
    return NULL;
}

static void test_exit_group(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pthread_t a, b;
        pipe(block_pipe);
        pthread_create(&a, NULL, block_in_futex, NULL);
        pthread_create(&b, NULL, block_in_read, NULL);
        usleep(20000);
        exit(7); // exit_group: both blocked threads must end too
    }
    int status;
    waitpid(child, &status, 0);
    printf("exit_group with blocked threads: %s %d\n", WIFEXITED(status) ? "exited" : "killed",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

// --- Parallelism (measured, not compared) --------------------------------------------------------
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
    volatile unsigned long x = 0;
    long n = (long)arg;
    for (long i = 0; i < n; i++) x += i;
    return NULL;
}

static void measure_parallel(long n)
{
    pthread_t a, b;
    double t0 = now();
    pthread_create(&a, NULL, spin, (void *)n);
    pthread_join(a, NULL);
    double one = now() - t0;
    t0 = now();
    pthread_create(&a, NULL, spin, (void *)n);
    pthread_create(&b, NULL, spin, (void *)n);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    double two = now() - t0;
    printf("parallel: one spinning thread %.3f s, two at once %.3f s, ratio %.2f\n", one, two, two / one);
}

// --- execve from a thread other than the main one -------------------------------------------------
static void *exec_from_thread(void *arg)
{
    char pid[32];
    (void)arg;
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    execl("/proc/self/exe", "threads", "after-exec", pid, (char *)NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-from-thread") == 0) {
        pthread_t t, idle;
        pthread_create(&idle, NULL, block_in_futex, NULL); // ended by the execve too
        pthread_create(&t, NULL, exec_from_thread, NULL);
        pthread_join(t, NULL); // never returns: the execve replaces the whole process
        return 1;
    }
    if (argc > 2 && strcmp(argv[1], "after-exec") == 0) {
        printf("after execve from a thread: same process id %s, thread id is the process id %s\n",
               getpid() == atoi(argv[2]) ? "yes" : "no", syscall(SYS_gettid) == getpid() ? "yes" : "no");
        return 5;
    }
    if (argc > 1 && strcmp(argv[1], "parallel") == 0) {
        measure_parallel(argc > 2 ? atol(argv[2]) : 20000000);
        return 0;
    }
    test_counters();
    test_condvar();
    test_join_and_tls();
    test_barrier();
    test_pthread_kill();
    test_robust();
    test_exit_group();
    return 0;
}
