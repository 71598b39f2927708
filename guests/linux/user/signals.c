/* Signals: handlers with siginfo, masks and pending signals, an alternate stack, caught SIGSEGV (left with
 * siglongjmp), SIGILL and SIGTRAP skipped by editing the ucontext's pc, SA_RESETHAND, sigsuspend with SIGCHLD,
 * signals between processes, sleeps cut short, sigtimedwait. Prints only values that are the same on every run. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t count, last_signal, last_code, from_self, on_alt_stack, chld_status;
static volatile uintptr_t fault_address;
static sigjmp_buf recover;
static char *alt_stack;
static const size_t alt_size = 64 * 1024;

static void on_usr(int sig, siginfo_t *info, void *context)
{
    count++;
    last_signal = sig;
    last_code = info->si_code;
    from_self = info->si_pid == getpid();
    char here;
    on_alt_stack = &here >= alt_stack && &here < alt_stack + alt_size;
}

static void on_segv(int sig, siginfo_t *info, void *context)
{
    last_signal = sig;
    last_code = info->si_code;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(recover, 1);
}

static void skip_instruction(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    last_signal = sig;
    last_code = info->si_code;
    fault_address = (uintptr_t)info->si_addr == uc->uc_mcontext.__gregs[REG_PC];
    uc->uc_mcontext.__gregs[REG_PC] += 4;
    /* clobber FP registers: sigreturn must bring the interrupted code's back */
    volatile double x = 3.0;
    for (int i = 0; i < 10; i++) x = x * 1.5 + 0.25;
}

static void on_chld(int sig, siginfo_t *info, void *context)
{
    last_signal = sig;
    last_code = info->si_code;
    chld_status = info->si_status;
}

static void install(int sig, void (*handler)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) { perror("sigaction"); exit(1); }
}

static void describe(const char *what, int status)
{
    if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);

    /* 1. a handler with siginfo */
    install(SIGUSR1, on_usr, 0);
    raise(SIGUSR1);
    printf("handler ran %d time(s): signal %d code %d from self %d\n", count, last_signal, last_code, from_self);

    /* 2. a blocked signal stays pending until unblocked */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    kill(getpid(), SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("while blocked: ran %d time(s), pending %d\n", count, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblocking: ran %d time(s), code %d (SI_USER is 0)\n", count, last_code);

    /* 3. the alternate stack */
    alt_stack = malloc(alt_size);
    stack_t ss = { .ss_sp = alt_stack, .ss_size = alt_size, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 1; }
    install(SIGUSR2, on_usr, SA_ONSTACK);
    raise(SIGUSR2);
    printf("SA_ONSTACK handler on the alternate stack: %d\n", on_alt_stack);
    raise(SIGUSR1);
    printf("plain handler on the alternate stack: %d\n", on_alt_stack);

    /* 4. SIGSEGV caught and left with siglongjmp: unmapped, then write-protected memory */
    install(SIGSEGV, on_segv, SA_ONSTACK);
    if (sigsetjmp(recover, 1) == 0) {
        volatile int *volatile unmapped = (volatile int *)0x10;
        *unmapped = 1;
        printf("no fault?\n");
    }
    printf("SIGSEGV: signal %d code %d (SEGV_MAPERR) address 0x%lx\n", last_signal, last_code, (unsigned long)fault_address);
    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(recover, 1) == 0) {
        page[100] = 1;
        printf("no fault?\n");
    }
    printf("SIGSEGV: code %d (SEGV_ACCERR) at the page + %ld\n", last_code, (long)(fault_address - (uintptr_t)page));
    sigprocmask(SIG_SETMASK, NULL, &old);
    printf("SIGSEGV unblocked again after siglongjmp: %d\n", !sigismember(&old, SIGSEGV));

    /* 5. SIGILL and SIGTRAP, skipped by moving the pc in the ucontext; FP state survives the handler */
    install(SIGILL, skip_instruction, 0);
    install(SIGTRAP, skip_instruction, 0);
    volatile double kept = 1.0 / 3.0;
    double before = kept * 7.0;
    __asm__ volatile(".4byte 0x00000000" ::: "memory");
    printf("SIGILL: signal %d code %d (ILL_ILLOPC), address is the pc %d\n", last_signal, last_code, (int)fault_address);
    __asm__ volatile(".4byte 0x00100073" ::: "memory"); /* ebreak */
    printf("SIGTRAP: signal %d code %d (TRAP_BRKPT), address is the pc %d\n", last_signal, last_code, (int)fault_address);
    printf("FP value intact across handlers: %d\n", before == kept * 7.0);

    /* 6. SA_RESETHAND: the second signal takes the default action */
    pid_t pid = fork();
    if (pid == 0) {
        install(SIGUSR1, on_usr, SA_RESETHAND);
        raise(SIGUSR1);
        raise(SIGUSR1);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    describe("SA_RESETHAND child", status);

    /* 7. sigsuspend until SIGCHLD; then a signal from a child to its parent */
    install(SIGCHLD, on_chld, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid = fork();
    if (pid == 0) _exit(9);
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    printf("sigsuspend returned %d (%s): signal %d code %d (CLD_EXITED) status %d\n", r, errno == EINTR ? "EINTR" : "?",
           last_signal, last_code, chld_status);
    waitpid(pid, &status, 0);
    count = 0;
    pid = fork();
    if (pid == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    while (count == 0) sigsuspend(&none);
    printf("SIGUSR2 from the child: signal %d from self %d\n", last_signal, from_self);
    waitpid(pid, &status, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGCHLD, SIG_DFL);

    /* 8. a sleep cut short: by a handled signal (EINTR), and by a fatal one */
    pid = fork();
    if (pid == 0) {
        install(SIGUSR1, on_usr, 0);
        struct timespec t = { 10, 0 }, left = { 0, 0 };
        int r = nanosleep(&t, &left);
        _exit(r == -1 && errno == EINTR && left.tv_sec > 5 ? 20 : 21);
    }
    struct timespec pause = { 0, 200 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    kill(pid, SIGUSR1);
    waitpid(pid, &status, 0);
    describe("sleeper interrupted by a handler", status);
    pid = fork();
    if (pid == 0) {
        struct timespec t = { 10, 0 };
        nanosleep(&t, NULL);
        _exit(0);
    }
    nanosleep(&pause, NULL);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    describe("sleeper terminated", status);

    /* 9. sigtimedwait takes a blocked signal without running its handler */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    count = 0;
    raise(SIGUSR1);
    siginfo_t info;
    struct timespec timeout = { 1, 0 };
    int got = sigtimedwait(&set, &info, &timeout);
    printf("sigtimedwait: %d (signo %d), handler ran %d time(s)\n", got, info.si_signo, count);
    errno = 0;
    timeout.tv_sec = 0;
    timeout.tv_nsec = 1000;
    got = sigtimedwait(&set, &info, &timeout);
    printf("sigtimedwait with nothing pending: %d %s\n", got, errno == EAGAIN ? "EAGAIN" : strerror(errno));

    /* 10. ITIMER_REAL: SIGALRM once after 50 ms, then a periodic one stopped after three */
    install(SIGALRM, on_usr, 0);
    count = 0;
    /* armed for 10 s first, so that a loaded machine cannot let it expire before getitimer looks */
    struct itimerval it = { { 0, 0 }, { 10, 0 } }, now;
    setitimer(ITIMER_REAL, &it, NULL);
    getitimer(ITIMER_REAL, &now);
    printf("itimer armed: %d\n", now.it_value.tv_sec * 1000000L + now.it_value.tv_usec > 0
                                  && now.it_value.tv_sec * 1000000L + now.it_value.tv_usec <= 10000000L);
    it.it_value.tv_sec = 0;
    it.it_value.tv_usec = 50000;
    setitimer(ITIMER_REAL, &it, NULL);
    sigemptyset(&none);
    while (count == 0) sigsuspend(&none);
    getitimer(ITIMER_REAL, &now);
    printf("SIGALRM: signal %d, timer now disarmed %d\n", last_signal, now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);
    it.it_interval.tv_usec = 20000;
    setitimer(ITIMER_REAL, &it, NULL);
    while (count < 4) sigsuspend(&none);
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, &now);
    printf("periodic SIGALRM reached %d, interval was %ld us\n", count >= 4, (long)now.it_interval.tv_usec);

    printf("signals: ok\n");
    return 0;
}
