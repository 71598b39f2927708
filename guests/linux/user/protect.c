// Page protections seen by hot code: a loop that reads and writes a page runs often enough to be
// translated, then the page is made read-only, inaccessible, unmapped and mapped again, and the
// same loop runs each time. Each access the protections refuse must be a SIGSEGV at that access
// (translated code must not keep an old permission), and one they allow must work. Also a
// misaligned access, an access that straddles into a refused page, and a page shared between
// two threads that one of them unmaps. The output is known by construction; qemu-riscv64 gives the same.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096
static sigjmp_buf back;
static volatile uintptr_t fault_address;

static void on_segv(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(back, 1);
}

__attribute__((noinline)) static long sum(volatile long *p, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++) s += p[i];
    return s;
}

__attribute__((noinline)) static void fill(volatile long *p, int n, long v)
{
    for (int i = 0; i < n; i++) p[i] = v + i;
}

// Several fields through one base register, in straight-line code: translated code checks the
// first access of each kind and only the distance of the others from it, so a field in another
// page than the first one's must be checked on its own.
__attribute__((noinline)) static long fields(volatile long *p) { return p[0] + p[1] + p[-1] + p[9]; }

__attribute__((noinline)) static void set_fields(volatile long *p, long v)
{
    long first = p[0];
    p[1] = v + first;
    p[9] = v;
    p[-1] = v;
}

static long hot_fields[16];

// fields() or set_fields() at page + offset, after a hot run of it on an array of its own: its
// result, or the fault's offset in the page.
static void attempt_fields(const char *what, char *page, long offset, int store)
{
    volatile long total = 0;
    for (int i = 0; i < 3000; i++) {
        if (store) set_fields(hot_fields + 2, i);
        else total += fields(hot_fields + 2);
    }
    if (sigsetjmp(back, 1) == 0) {
        long r = 0;
        if (store) set_fields((volatile long *)(page + offset), 5);
        else r = fields((volatile long *)(page + offset));
        printf("%s: ok %ld (%ld)\n", what, r, total);
    } else {
        printf("%s: SIGSEGV at page+%ld\n", what, (long)(fault_address - (uintptr_t)page));
    }
}

// Runs the loop hot, then once more as the test: "ok" and its result, or the fault's offset in the page.
static void attempt(const char *what, char *page, int store)
{
    volatile long *p = (volatile long *)page;
    if (sigsetjmp(back, 1) == 0) {
        long r = 0;
        if (store) fill(p, 512, 7);
        else r = sum(p, 512);
        printf("%s: ok %ld\n", what, r);
    } else {
        printf("%s: SIGSEGV at page+%ld\n", what, (long)(fault_address - (uintptr_t)page));
    }
}

static char *shared_page;
static volatile int phase;

static void *reader(void *arg)
{
    (void)arg;
    long s = 0;
    while (phase == 0) s += sum((volatile long *)shared_page, 512);
    phase = 2;
    if (sigsetjmp(back, 1) == 0) {
        while (1) s += sum((volatile long *)shared_page, 512);
    }
    printf("reader: SIGSEGV after the other thread unmapped the page\n");
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    char *page = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long total = 0;
    for (int i = 0; i < 2000; i++) {
        fill((volatile long *)page, 512, i);
        total += sum((volatile long *)page, 512);
    }
    printf("hot: %ld\n", total);

    mprotect(page, PAGE, PROT_READ);
    attempt("load after PROT_READ", page, 0);
    attempt("store after PROT_READ", page, 1);
    mprotect(page, PAGE, PROT_NONE);
    attempt("load after PROT_NONE", page, 0);
    mprotect(page, PAGE, PROT_READ | PROT_WRITE);
    attempt("store after PROT_READ|PROT_WRITE", page, 1);
    attempt("load after PROT_READ|PROT_WRITE", page, 0);
    munmap(page, PAGE);
    attempt("load after munmap", page, 0);
    if (mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page) return 1;
    attempt("load after mmap again", page, 0);

    // A misaligned load inside the page, then one that straddles into a page that is refused.
    mprotect(page + PAGE, PAGE, PROT_NONE);
    memset(page, 1, PAGE);
    printf("misaligned: %lx\n", (unsigned long)sum((volatile long *)(page + 3), 1));
    if (sigsetjmp(back, 1) == 0) printf("straddling: %ld\n", sum((volatile long *)(page + PAGE - 4), 1));
    else printf("straddling: SIGSEGV at page+%ld\n", (long)(fault_address - (uintptr_t)page));

    // Fields of one base register across pages: both readable, then the second refused (a load
    // and a store there fault at that field), the first read-only (a store faults after a load
    // through the same register went through), and a field in the page before.
    char *pages = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(pages, 2, 3 * PAGE);
    attempt_fields("fields across two pages", pages, PAGE - 16, 0);
    attempt_fields("field stores across two pages", pages, PAGE - 16, 1);
    mprotect(pages + PAGE, PAGE, PROT_NONE);
    attempt_fields("field in a refused page", pages, PAGE - 16, 0);
    attempt_fields("field store in a refused page", pages, PAGE - 16, 1);
    attempt_fields("field before a refused page", pages + 2 * PAGE, 0, 0);
    mprotect(pages + PAGE, PAGE, PROT_READ | PROT_WRITE);
    mprotect(pages, PAGE, PROT_READ);
    attempt_fields("field store in a read-only page", pages, 8, 1);
    attempt_fields("fields in a read-only page", pages, 8, 0);

    // Another thread reads a page hot while this one unmaps it.
    shared_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    for (volatile long spin = 0; spin < 2000000; spin++) {}
    phase = 1;
    while (phase != 2) {}
    munmap(shared_page, PAGE);
    pthread_join(t, NULL);
    printf("protect: done\n");
    return 0;
}
