/* The newer descriptor and process system calls, one section per family (argv[1]): timerfd,
 * signalfd, memfd, pidfd, execveat, affinity, inotify, procvm. argv[2] is a scratch directory.
 * Built for riscv64 and for the host (newsys-host), so that the VM's output can be compared line
 * by line with the host kernel's: it prints only what is the same on every run and every Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *dir = ".";

/* A call's result as "0", "3" or "-1 EINVAL": errno by name for the ones these tests expect. */
static const char *res(long r)
{
    static char text[8][64];
    static int next;
    char *t = text[next++ % 8];
    if (r >= 0) {
        snprintf(t, 64, "%ld", r);
        return t;
    }
    const char *name = errno == EINVAL ? "EINVAL" : errno == EBADF ? "EBADF" : errno == EAGAIN ? "EAGAIN"
        : errno == EFAULT ? "EFAULT" : errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM" : errno == ENOENT ? "ENOENT"
        : errno == ECHILD ? "ECHILD" : errno == ENOTDIR ? "ENOTDIR" : errno == EINTR ? "EINTR" : NULL;
    if (name) snprintf(t, 64, "-1 %s", name);
    else snprintf(t, 64, "-1 errno %d", errno);
    return t;
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int timerfd_section(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd_create: %s, cloexec %d, nonblock %d\n", fd < 0 ? res(fd) : "ok",
           (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    uint64_t count = 0;
    printf("read unarmed: %s\n", res(read(fd, &count, 8)));
    struct itimerspec cur;
    const char *g = res(timerfd_gettime(fd, &cur));
    printf("gettime unarmed: %s, %lld.%09ld %lld.%09ld\n", g, (long long)cur.it_value.tv_sec,
           cur.it_value.tv_nsec, (long long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

    /* relative, periodic every 20 ms */
    struct itimerspec every = { { 0, 20000000 }, { 0, 20000000 } }, old;
    memset(&old, 0xff, sizeof old);
    printf("settime relative: %s\n", res(timerfd_settime(fd, 0, &every, &old)));
    printf("old value: %lld.%09ld\n", (long long)old.it_value.tv_sec, old.it_value.tv_nsec);
    timerfd_gettime(fd, &cur);
    printf("gettime: interval %lld.%09ld, value in (0, 20 ms]: %d\n", (long long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    printf("read too small: %s\n", res(read(fd, &count, 4)));
    struct pollfd pfd = { fd, POLLIN, 0 };
    int n = poll(&pfd, 1, 2000);
    printf("poll: %d, revents 0x%x\n", n, pfd.revents);
    usleep(70000);
    /* The second read follows the first at once (no printf between): it must find the count reset.
       A host that stalls the program for a whole period between the two lets the timer expire
       again, so it reads until EAGAIN, four times at most: a count never reset never gives it. */
    const char *r = res(read(fd, &count, 8));
    uint64_t first = count;
    const char *again = res(read(fd, &count, 8));
    for (int tries = 1; tries < 4 && strcmp(again, "-1 EAGAIN") != 0; tries++) again = res(read(fd, &count, 8));
    printf("read: %s, expirations >= 3: %d\n", r, first >= 3);
    printf("read again: %s\n", again);

    /* epoll on it */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ull };
    printf("epoll_ctl: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)));
    struct epoll_event got[2];
    memset(got, 0, sizeof got);
    n = epoll_wait(ep, got, 2, 2000);
    printf("epoll_wait: %d, events 0x%x, data 0x%llx\n", n, got[0].events, (unsigned long long)got[0].data.u64);
    read(fd, &count, 8);

    /* disarm */
    struct itimerspec zero = { { 0, 0 }, { 0, 0 } };
    r = res(timerfd_settime(fd, 0, &zero, &old));
    printf("disarm: %s, old interval %lld.%09ld\n", r, (long long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    timerfd_gettime(fd, &cur);
    printf("disarmed: %lld.%09ld %lld.%09ld\n", (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
           (long long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
    printf("poll disarmed: %d\n", poll(&pfd, 1, 50));
    close(ep);
    close(fd);

    /* absolute, one shot, a blocking read */
    fd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec at = { { 0, 0 }, { now.tv_sec, now.tv_nsec + 30000000 } };
    if (at.it_value.tv_nsec >= 1000000000) {
        at.it_value.tv_sec++;
        at.it_value.tv_nsec -= 1000000000;
    }
    printf("settime absolute: %s\n", res(timerfd_settime(fd, TFD_TIMER_ABSTIME, &at, NULL)));
    count = 0;
    r = res(read(fd, &count, 8));
    printf("blocking read: %s, count %llu, waited >= 25 ms: %d\n", r, (unsigned long long)count, ms_since(&start) >= 25);
    timerfd_gettime(fd, &cur);
    printf("one shot, value now: %lld.%09ld\n", (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    struct itimerspec past = { { 0, 0 }, { 1, 0 } };
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &past, NULL);
    r = res(read(fd, &count, 8));
    printf("absolute in the past: read %s, count %llu\n", r, (unsigned long long)count);
    close(fd);

    /* errors */
    printf("bad clock: %s\n", res(timerfd_create(12345, 0)));
    printf("bad flags: %s\n", res(timerfd_create(CLOCK_MONOTONIC, 1)));
    int pipes[2];
    pipe(pipes);
    printf("settime on a pipe: %s\n", res(timerfd_settime(pipes[0], 0, &every, NULL)));
    printf("gettime on a pipe: %s\n", res(timerfd_gettime(pipes[0], &cur)));
    printf("settime on a bad fd: %s\n", res(timerfd_settime(999, 0, &every, NULL)));
    fd = timerfd_create(CLOCK_BOOTTIME, 0);
    struct itimerspec bad = { { 0, 0 }, { 0, 1000000000 } };
    printf("boottime: %s, bad nsec: %s\n", fd < 0 ? res(fd) : "ok", res(timerfd_settime(fd, 0, &bad, NULL)));
    printf("bad settime flags: %s\n", res(timerfd_settime(fd, 0x100, &every, NULL)));
    printf("settime bad address: %s\n", res(timerfd_settime(fd, 0, (void *)8, NULL)));
    return 0;
}

static void print_siginfo(const char *what, const struct signalfd_siginfo *si)
{
    printf("%s: signo %u, code %d, from us %d, uid ok %d\n", what, si->ssi_signo, si->ssi_code, si->ssi_pid == (uint32_t)getpid(),
           si->ssi_uid == getuid());
}

static int signalfd_section(void)
{
    sigset_t blocked, mask;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigaddset(&blocked, SIGUSR2);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s, cloexec %d, nonblock %d\n", fd < 0 ? res(fd) : "ok", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    struct signalfd_siginfo si[2];
    printf("read, nothing pending: %s\n", res(read(fd, si, sizeof si)));
    struct pollfd pfd = { fd, POLLIN, 0 };
    printf("poll, nothing pending: %d\n", poll(&pfd, 1, 0));

    kill(getpid(), SIGUSR1);
    int n = poll(&pfd, 1, 1000);
    printf("poll after kill: %d, revents 0x%x\n", n, pfd.revents);
    printf("read too small: %s\n", res(read(fd, si, sizeof si[0] - 1)));
    memset(si, 0, sizeof si);
    const char *r = res(read(fd, si, sizeof si));
    printf("read: %s\n", r);
    print_siginfo("  info", &si[0]);
    printf("poll after read: %d\n", poll(&pfd, 1, 0));
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR1 still pending: %d\n", sigismember(&pending, SIGUSR1));

    /* a signal outside the mask stays pending; widening the mask takes it */
    kill(getpid(), SIGUSR2);
    printf("poll, SIGUSR2 not in the mask: %d\n", poll(&pfd, 1, 0));
    sigaddset(&mask, SIGUSR2);
    printf("signalfd on the same fd: same %d\n", signalfd(fd, &mask, 0) == fd);
    printf("poll, mask widened: %d\n", poll(&pfd, 1, 0));
    kill(getpid(), SIGUSR1);
    memset(si, 0, sizeof si);
    r = res(read(fd, si, sizeof si));
    printf("read both: %s\n", r);
    print_siginfo("  first", &si[0]);
    print_siginfo("  second", &si[1]);

    /* a thread-directed signal (raise is tgkill), seen through epoll */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll_wait, nothing pending: %d\n", epoll_wait(ep, &got, 1, 0));
    raise(SIGUSR2);
    n = epoll_wait(ep, &got, 1, 1000);
    printf("epoll_wait after raise: %d, events 0x%x, data %llu\n", n, got.events, (unsigned long long)got.data.u64);
    memset(si, 0, sizeof si);
    r = res(read(fd, si, sizeof si));
    printf("read: %s\n", r);
    print_siginfo("  info", &si[0]);
    close(ep);

    /* a blocking read that waits for SIGCHLD from a child */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    int chld = signalfd(-1, &mask, 0);
    pid_t child = fork();
    if (child == 0) {
        usleep(20000);
        _exit(7);
    }
    memset(si, 0, sizeof si);
    r = res(read(chld, si, sizeof si));
    printf("blocking read for SIGCHLD: %s, signo %u, code %d, the child %d, status %d\n", r, si[0].ssi_signo, si[0].ssi_code,
           si[0].ssi_pid == (uint32_t)child, si[0].ssi_status);
    int status;
    int waited = waitpid(child, &status, 0) == child;
    printf("waitpid: %d, exit %d\n", waited, WEXITSTATUS(status));

    /* errors */
    int pipes[2];
    pipe(pipes);
    printf("signalfd on a pipe: %s\n", res(signalfd(pipes[0], &mask, 0)));
    printf("signalfd on a bad fd: %s\n", res(signalfd(999, &mask, 0)));
    printf("bad flags: %s\n", res(syscall(SYS_signalfd4, -1, &mask, 8, 1)));
    printf("bad size: %s\n", res(syscall(SYS_signalfd4, -1, &mask, 4, 0)));
    printf("bad mask address: %s\n", res(syscall(SYS_signalfd4, -1, (void *)8, 8, 0)));
    printf("write: %s\n", res(write(fd, si, sizeof si[0])));
    return 0;
}

static int memfd_section(void)
{
    int fd = memfd_create("isomorph-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd_create: %s, cloexec %d\n", fd < 0 ? res(fd) : "ok", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    printf("write: %s\n", res(write(fd, "hello memfd", 11)));
    char buf[64] = { 0 };
    lseek(fd, 0, SEEK_SET);
    const char *r = res(read(fd, buf, sizeof buf - 1));
    printf("read back: %s \"%s\"\n", r, buf);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: regular %d, size %lld, links %ld\n", S_ISREG(st.st_mode), (long long)st.st_size, (long)st.st_nlink);

    /* a shared mapping of it, written by a forked child */
    ftruncate(fd, 8192);
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap shared: %s, sees \"%.11s\"\n", map == MAP_FAILED ? "failed" : "ok", map);
    pid_t child = fork();
    if (child == 0) {
        strcpy(map + 100, "from the child");
        strcpy(map + 4096, "second page");
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 20, 4096);
    printf("after the child: mapping \"%s\", file \"%s\"\n", map + 100, buf);
    strcpy(map, "HELLO");
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 11, 0);
    printf("store through the mapping reaches the file: \"%s\"\n", buf);
    munmap(map, 8192);

    /* seals */
    printf("F_GET_SEALS: %s\n", res(fcntl(fd, F_GET_SEALS)));
    printf("F_ADD_SEALS shrink|grow: %s\n", res(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)));
    printf("F_GET_SEALS: %s\n", res(fcntl(fd, F_GET_SEALS)));
    printf("ftruncate smaller: %s\n", res(ftruncate(fd, 100)));
    printf("pwrite past the end: %s\n", res(pwrite(fd, "x", 1, 8192)));
    printf("F_ADD_SEALS write: %s\n", res(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    printf("write when sealed: %s\n", res(pwrite(fd, "x", 1, 0)));
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("writable shared mmap when sealed: %s\n", map == MAP_FAILED ? res(-1) : "ok");
    close(fd);

    int plain = memfd_create("plain", 0);
    printf("without sealing: cloexec %d, F_GET_SEALS %s, F_ADD_SEALS %s\n", (fcntl(plain, F_GETFD) & FD_CLOEXEC) != 0,
           res(fcntl(plain, F_GET_SEALS)), res(fcntl(plain, F_ADD_SEALS, F_SEAL_GROW)));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    printf("name of 299 bytes: %s\n", res(memfd_create(longname, 0)));
    longname[249] = 0;
    int ok = memfd_create(longname, 0);
    printf("name of 249 bytes: %s\n", ok < 0 ? res(ok) : "ok");
    printf("bad flags: %s\n", res(memfd_create("x", 0x100)));
    printf("bad name address: %s\n", res(syscall(SYS_memfd_create, (void *)8, 0)));
    return 0;
}

static int pidfd_open_(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal_(int fd, int sig, siginfo_t *info, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }

static int pidfd_section(void)
{
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        for (;;) pause();
    }
    int fd = pidfd_open_(child, 0);
    printf("pidfd_open: %s, cloexec %d\n", fd < 0 ? res(fd) : "ok", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    struct pollfd pfd = { fd, POLLIN, 0 };
    printf("poll, child running: %d\n", poll(&pfd, 1, 0));
    char c;
    printf("read: %s\n", res(read(fd, &c, 1)));
    printf("send signal 0: %s\n", res(pidfd_send_signal_(fd, 0, NULL, 0)));
    printf("bad flags: %s\n", res(pidfd_send_signal_(fd, SIGTERM, NULL, 8)));
    printf("two scopes: %s\n", res(pidfd_send_signal_(fd, SIGTERM, NULL, 3)));
    printf("send SIGTERM to the thread: %s\n", res(pidfd_send_signal_(fd, SIGTERM, NULL, 1 /* PIDFD_SIGNAL_THREAD */)));
    int n = poll(&pfd, 1, 5000);
    printf("poll after SIGTERM: %d, POLLIN %d\n", n, (pfd.revents & POLLIN) != 0);
    printf("signal 0 to the zombie: %s\n", res(pidfd_send_signal_(fd, 0, NULL, 0)));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    const char *r = res(waitid(P_PIDFD, fd, &info, WEXITED));
    printf("waitid(P_PIDFD): %s, the child %d, code %d, status %d\n", r, info.si_pid == child, info.si_code, info.si_status);
    printf("signal 0 when reaped: %s\n", res(pidfd_send_signal_(fd, 0, NULL, 0)));
    printf("pidfd_open when reaped: %s\n", res(pidfd_open_(child, 0)));
    close(fd);

    /* a child that exits by itself, opened non-blocking */
    child = fork();
    if (child == 0) {
        usleep(30000);
        _exit(3);
    }
    fd = pidfd_open_(child, PIDFD_NONBLOCK);
    printf("PIDFD_NONBLOCK: nonblock %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    n = epoll_wait(ep, &got, 1, 5000);
    printf("epoll_wait: %d, EPOLLIN %d, data %llu\n", n, (got.events & EPOLLIN) != 0, (unsigned long long)got.data.u64);
    memset(&info, 0, sizeof info);
    r = res(waitid(P_PIDFD, fd, &info, WEXITED));
    printf("waitid(P_PIDFD): %s, code %d, status %d\n", r, info.si_code, info.si_status);
    close(ep);
    close(fd);

    /* itself */
    sigset_t usr1, pending;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    fd = pidfd_open_(getpid(), 0);
    printf("send SIGUSR1 to itself: %s\n", res(pidfd_send_signal_(fd, SIGUSR1, NULL, 0)));
    sigpending(&pending);
    printf("SIGUSR1 pending: %d\n", sigismember(&pending, SIGUSR1));
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR2;
    info.si_code = SI_QUEUE;
    printf("siginfo naming another signal: %s\n", res(pidfd_send_signal_(fd, SIGUSR1, &info, 0)));
    printf("waitid(P_PIDFD) on itself: %s\n", res(waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG)));

    /* CLONE_PIDFD, from clone3 and from clone */
    struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } args;
    memset(&args, 0, sizeof args);
    int cfd = -1;
    args.flags = CLONE_PIDFD;
    args.pidfd = (uintptr_t)&cfd;
    args.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(5);
    memset(&info, 0, sizeof info);
    r = res(waitid(P_PIDFD, cfd, &info, WEXITED));
    printf("clone3 CLONE_PIDFD: pidfd %d, cloexec %d, waitid %s, the child %d, status %d\n", cfd >= 0,
           (fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0, r, info.si_pid == pid, info.si_status);
    cfd = -1;
    pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
    if (pid == 0) _exit(6);
    pfd.fd = cfd;
    n = poll(&pfd, 1, 5000);
    memset(&info, 0, sizeof info);
    r = res(waitid(P_PIDFD, cfd, &info, WEXITED));
    printf("clone CLONE_PIDFD: pidfd %d, poll %d, waitid %s, status %d\n", cfd >= 0, n, r, info.si_status);
    printf("clone CLONE_PIDFD|CLONE_PARENT_SETTID: %s\n", res(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0)));

    /* errors */
    printf("pidfd_open(-1): %s\n", res(pidfd_open_(-1, 0)));
    printf("pidfd_open bad flags: %s\n", res(pidfd_open_(getpid(), 1)));
    printf("send through a pipe: %s\n", res(pidfd_send_signal_(ready[0], SIGUSR1, NULL, 0)));
    printf("send through a bad fd: %s\n", res(pidfd_send_signal_(999, SIGUSR1, NULL, 0)));
    printf("waitid(P_PIDFD) on a pipe: %s\n", res(waitid(P_PIDFD, ready[0], &info, WEXITED)));
    return 0;
}

extern char **environ;

/* Runs execveat in a child; the child, if the new program starts, prints its own line. */
static void try_execveat(const char *what, int dirfd, const char *path, int flags)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = { "renamed", "exec-child", (char *)what, NULL };
        syscall(SYS_execveat, dirfd, path, argv, environ, flags);
        printf("%s: %s\n", what, res(-1));
        fflush(stdout);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
}

static int execveat_section(void)
{
    char exe[4096] = { 0 };
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    int fd = open(exe, O_RDONLY | O_CLOEXEC);
    try_execveat("AT_EMPTY_PATH on a close-on-exec fd", fd, "", AT_EMPTY_PATH);
    try_execveat("empty path without AT_EMPTY_PATH", fd, "", 0);
    int opath = open(exe, O_PATH);
    try_execveat("AT_EMPTY_PATH on an O_PATH fd", opath, "", AT_EMPTY_PATH);

    char link[4096];
    snprintf(link, sizeof link, "%s/program-link", dir);
    unlink(link);
    symlink(exe, link);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    try_execveat("relative to a directory fd", dfd, "program-link", 0);
    try_execveat("AT_SYMLINK_NOFOLLOW on a link", dfd, "program-link", AT_SYMLINK_NOFOLLOW);
    try_execveat("absolute path, dirfd ignored", 999, exe, 0);
    try_execveat("missing", dfd, "missing", 0);
    try_execveat("bad flags, empty path", fd, "", 0x1);
    try_execveat("bad flags", dfd, "program-link", 0x1);
    try_execveat("bad dirfd", 999, "program-link", 0);
    try_execveat("a directory", dfd, ".", 0);
    try_execveat("AT_EMPTY_PATH on a bad fd", 999, "", AT_EMPTY_PATH);
    return 0;
}

static int exec_child(int argc, char **argv)
{
    printf("%s: started as \"%s\" with %d arguments\n", argc > 2 ? argv[2] : "?", argv[0], argc);
    return 0;
}

static void *affinity_thread(void *arg)
{
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    printf("a new thread inherits: count %d, cpu 0 %d\n", CPU_COUNT(&set), CPU_ISSET(0, &set));
    return arg;
}

static int affinity_section(void)
{
    cpu_set_t all, set;
    CPU_ZERO(&all);
    long size = syscall(SYS_sched_getaffinity, 0, sizeof all, &all);
    int cpus = CPU_COUNT(&all);
    printf("sched_getaffinity: returns whole longs %d, some CPUs %d, cpu 0 %d\n", size > 0 && size % 8 == 0, cpus > 0, CPU_ISSET(0, &all));
    printf("for its pid: %s, for a bad pid: %s, size 4: %s, size 1: %s\n", res(sched_getaffinity(getpid(), sizeof set, &set)),
           res(sched_getaffinity(0x3fffffff, sizeof set, &set)), res(syscall(SYS_sched_getaffinity, 0, 4, &set)),
           res(syscall(SYS_sched_getaffinity, 0, 1, &set)));
    printf("bad address: %s\n", res(syscall(SYS_sched_getaffinity, 0, sizeof set, (void *)8)));

    CPU_ZERO(&set);
    CPU_SET(0, &set);
    printf("set cpu 0 only: %s\n", res(sched_setaffinity(0, sizeof set, &set)));
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("now: count %d, cpu 0 %d\n", CPU_COUNT(&set), CPU_ISSET(0, &set));
    pthread_t thread;
    pthread_create(&thread, NULL, affinity_thread, NULL);
    pthread_join(thread, NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        sched_getaffinity(0, sizeof set, &set);
        printf("a forked child inherits: count %d\n", CPU_COUNT(&set));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);

    CPU_ZERO(&set);
    printf("set no CPU: %s\n", res(sched_setaffinity(0, sizeof set, &set)));
    CPU_SET(CPU_SETSIZE - 1, &set);
    printf("set only a CPU that is not there: %s\n", res(sched_setaffinity(0, sizeof set, &set)));
    printf("set for a bad pid: %s\n", res(sched_setaffinity(0x3fffffff, sizeof all, &all)));
    printf("set from a bad address: %s\n", res(syscall(SYS_sched_setaffinity, 0, sizeof set, (void *)8)));
    printf("set everything back, for its pid: %s\n", res(sched_setaffinity(getpid(), sizeof all, &all)));
    sched_getaffinity(0, sizeof set, &set);
    printf("all again: %d\n", CPU_EQUAL(&set, &all));
    return 0;
}

/* Prints the inotify events in the buffer: the watch (as its order of creation), mask, name, and whether moves pair up. */
static void print_events(const char *buf, long n, int *wds, int nwds)
{
    uint32_t cookie = 0;
    for (const char *at = buf; at < buf + n;) {
        const struct inotify_event *e = (const struct inotify_event *)at;
        int which = -1;
        for (int i = 0; i < nwds; i++)
            if (wds[i] == e->wd) which = i;
        const char *pair = "";
        if (e->mask & IN_MOVED_FROM) cookie = e->cookie;
        if (e->mask & IN_MOVED_TO) pair = e->cookie == cookie && cookie != 0 ? " (pairs with the move from)" : " (unpaired)";
        printf("  watch %d mask 0x%x name \"%s\"%s\n", which, e->mask, e->len ? e->name : "", pair);
        at += sizeof *e + e->len;
    }
}

static int inotify_section(void)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("inotify_init1: %s, cloexec %d, nonblock %d\n", fd < 0 ? res(fd) : "ok", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    char buf[4096] __attribute__((aligned(8)));
    printf("read, no events: %s\n", res(read(fd, buf, sizeof buf)));
    char path[4096], sub[1024];
    snprintf(sub, sizeof sub, "%s/watched", dir);
    mkdir(sub, 0755);
    int wds[3];
    wds[0] = inotify_add_watch(fd, sub, IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO);
    printf("add_watch: %s\n", wds[0] > 0 ? "ok" : res(wds[0]));

    snprintf(path, sizeof path, "%s/a", sub);
    int f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(f, "data", 4);
    close(f);
    char to[4096];
    snprintf(to, sizeof to, "%s/b", sub);
    rename(path, to);
    unlink(to);
    snprintf(path, sizeof path, "%s/d", sub);
    mkdir(path, 0755);
    struct pollfd pfd = { fd, POLLIN, 0 };
    int ready = poll(&pfd, 1, 1000);
    printf("poll: %d, revents 0x%x\n", ready, pfd.revents);
    long n = read(fd, buf, sizeof buf);
    printf("read: %s\n", n > 0 ? "events" : res(n));
    print_events(buf, n, wds, 1);

    /* a relative path names the same directory: the same watch, its mask replaced */
    chdir(dir);
    wds[1] = inotify_add_watch(fd, "watched", IN_ATTRIB);
    printf("relative path: same watch %d\n", wds[1] == wds[0]);
    chmod(path, 0700);
    rmdir(path);
    n = read(fd, buf, sizeof buf);
    print_events(buf, n, wds, 1);

    /* a watch on a file through a symbolic link, and on the link itself */
    snprintf(path, sizeof path, "%s/file", sub);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    symlink("watched/file", "link");
    wds[1] = inotify_add_watch(fd, "link", IN_MODIFY | IN_ATTRIB);
    wds[2] = inotify_add_watch(fd, "link", IN_ATTRIB | IN_DONT_FOLLOW);
    printf("through the link: ok %d, the link itself: ok %d, different %d\n", wds[1] > 0, wds[2] > 0, wds[1] != wds[2]);
    f = open(path, O_WRONLY);
    write(f, "x", 1);
    close(f);
    n = read(fd, buf, sizeof buf);
    print_events(buf, n, wds, 3);

    /* epoll, then rm_watch: IN_IGNORED */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 5 }, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll_wait, nothing: %d\n", epoll_wait(ep, &got, 1, 0));
    printf("rm_watch: %s\n", res(inotify_rm_watch(fd, wds[0])));
    ready = epoll_wait(ep, &got, 1, 1000);
    printf("epoll_wait: %d, data %llu\n", ready, (unsigned long long)got.data.u64);
    n = read(fd, buf, sizeof buf);
    print_events(buf, n, wds, 3);
    unlink("link");
    n = read(fd, buf, 1);
    printf("read buffer too small for an event: %s\n", res(n));

    /* errors */
    printf("rm_watch again: %s\n", res(inotify_rm_watch(fd, wds[0])));
    printf("missing: %s\n", res(inotify_add_watch(fd, "no-such-file", IN_ALL_EVENTS)));
    printf("empty path: %s\n", res(inotify_add_watch(fd, "", IN_ALL_EVENTS)));
    printf("no events: %s\n", res(inotify_add_watch(fd, "watched", 0)));
    printf("IN_ONLYDIR on a file: %s\n", res(inotify_add_watch(fd, "watched/file", IN_ONLYDIR | IN_ATTRIB)));
    int pipes[2];
    pipe(pipes);
    printf("on a pipe: %s\n", res(inotify_add_watch(pipes[0], "watched", IN_ATTRIB)));
    printf("on a bad fd: %s\n", res(inotify_add_watch(999, "watched", IN_ATTRIB)));
    printf("bad flags: %s\n", res(inotify_init1(1)));
    printf("bad path address: %s\n", res(inotify_add_watch(fd, (const char *)8, IN_ATTRIB)));
    return 0;
}

static char shared_text[64] = "set before fork";

static int procvm_section(void)
{
    /* the process itself, scattered on both sides */
    char src1[] = "hello, ", src2[] = "process_vm", dst1[5] = { 0 }, dst2[32] = { 0 };
    struct iovec local[2] = { { dst1, 4 }, { dst2, sizeof dst2 - 1 } };
    struct iovec remote[2] = { { src1, 7 }, { src2, 10 } };
    long n = process_vm_readv(getpid(), local, 2, remote, 2, 0);
    printf("readv itself: %s, \"%s\" \"%s\"\n", res(n), dst1, dst2);
    char target[16] = "..........";
    struct iovec from = { "ABCDEFG", 3 }, into[2] = { { target + 1, 2 }, { target + 5, 4 } };
    n = process_vm_writev(getpid(), &from, 1, into, 2, 0);
    printf("writev itself: %s, \"%s\"\n", res(n), target);
    struct iovec empty = { NULL, 0 };
    printf("no iovecs: %s, empty ones: %s\n", res(process_vm_readv(getpid(), NULL, 0, NULL, 0, 0)),
           res(process_vm_readv(getpid(), &empty, 1, &empty, 1, 0)));

    /* a page that cannot be reached ends the transfer */
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(pages, 'p', 8192);
    mprotect(pages + 4096, 4096, PROT_NONE);
    char big[64] = { 0 };
    struct iovec l = { big, 20 }, r = { pages + 4096 - 10, 20 };
    printf("readv across into PROT_NONE: %s\n", res(process_vm_readv(getpid(), &l, 1, &r, 1, 0)));
    r.iov_base = pages + 4096;
    printf("readv of PROT_NONE: %s\n", res(process_vm_readv(getpid(), &l, 1, &r, 1, 0)));
    mprotect(pages + 4096, 4096, PROT_READ);
    struct iovec w = { "x", 1 };
    printf("writev to a read-only page: %s\n", res(process_vm_writev(getpid(), &w, 1, &r, 1, 0)));
    r.iov_base = pages;
    l.iov_base = pages + 4096;
    printf("readv into a read-only page: %s\n", res(process_vm_readv(getpid(), &l, 1, &r, 1, 0)));

    /* a forked child: read what it changed, write what it then prints */
    int go[2], done[2];
    pipe(go);
    pipe(done);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        strcpy(shared_text, "changed in the child");
        write(done[1], "r", 1);
        char c;
        read(go[0], &c, 1);
        printf("child sees: \"%s\"\n", shared_text);
        fflush(stdout);
        _exit(0);
    }
    char c, got[64] = { 0 };
    read(done[0], &c, 1);
    struct iovec gl = { got, sizeof got - 1 }, gr = { shared_text, sizeof shared_text - 1 };
    n = process_vm_readv(child, &gl, 1, &gr, 1, 0);
    printf("readv the child: %s, \"%s\"; ours still \"%s\"\n", res(n), got, shared_text);
    struct iovec wl = { "written by the parent", 22 }, wr = { shared_text, 22 };
    printf("writev the child: %s\n", res(process_vm_writev(child, &wl, 1, &wr, 1, 0)));
    write(go[1], "g", 1);
    int status;
    waitpid(child, &status, 0);
    printf("readv the reaped child: %s\n", res(process_vm_readv(child, &gl, 1, &gr, 1, 0)));

    /* errors */
    printf("bad flags: %s\n", res(process_vm_readv(getpid(), local, 2, remote, 2, 1)));
    printf("too many iovecs: %s\n", res(process_vm_readv(getpid(), local, 1025, remote, 2, 0)));
    printf("bad pid: %s\n", res(process_vm_readv(0x3fffffff, local, 2, remote, 2, 0)));
    printf("bad local iovec array: %s\n", res(process_vm_readv(getpid(), (struct iovec *)8, 2, remote, 2, 0)));
    printf("bad remote iovec array: %s\n", res(process_vm_readv(getpid(), local, 2, (struct iovec *)8, 2, 0)));
    struct iovec bad = { (void *)8, 10 };
    printf("bad remote address: %s\n", res(process_vm_readv(getpid(), local, 2, &bad, 1, 0)));
    printf("bad local address: %s\n", res(process_vm_readv(getpid(), &bad, 1, remote, 2, 0)));
    return 0;
}

static volatile sig_atomic_t got_pdeath;
static void on_pdeath(int signal) { got_pdeath = signal; }

static void *named_thread(void *unused)
{
    char name[32] = { 0 };
    prctl(PR_GET_NAME, name);
    printf("a new thread starts with its creator's name: \"%s\"\n", name);
    prctl(PR_SET_NAME, "worker");
    prctl(PR_GET_NAME, name);
    printf("the thread renamed itself: \"%s\"\n", name);
    return NULL;
}

/* prctl: names, the parent-death signal, dumpable, and the per-thread options the host keeps. */
static int prctl_section(const char *argv0)
{
    char name[32] = { 0 };
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    printf("get name: %s\n", res(prctl(PR_GET_NAME, name)));
    printf("the first name is the program's file name: %s\n", strncmp(name, base, 15) == 0 ? "yes" : name);
    printf("set a 20-byte name: %s\n", res(prctl(PR_SET_NAME, "abcdefghijklmnopqrst")));
    prctl(PR_GET_NAME, name);
    printf("name now \"%s\"\n", name);
    pthread_t thread;
    pthread_create(&thread, NULL, named_thread, NULL);
    pthread_join(thread, NULL);
    prctl(PR_GET_NAME, name);
    printf("the main thread keeps \"%s\"\n", name);
    printf("get name into a bad address: %s\n", res(prctl(PR_GET_NAME, (char *)8)));
    printf("set name from a bad address: %s\n", res(prctl(PR_SET_NAME, (char *)8)));

    int sig = -1;
    const char *got = res(prctl(PR_GET_PDEATHSIG, &sig));
    printf("get pdeathsig: %s, %d\n", got, sig);
    printf("set pdeathsig 65: %s\n", res(prctl(PR_SET_PDEATHSIG, 65)));
    /* A grandchild asks for SIGUSR1 when its parent ends; the parent then exits. */
    int ready[2], told[2];
    if (pipe(ready) || pipe(told)) return 1;
    fflush(stdout);
    pid_t middle = fork();
    if (middle == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            sigset_t block, old;
            sigemptyset(&block);
            sigaddset(&block, SIGUSR1);
            sigprocmask(SIG_BLOCK, &block, &old);
            signal(SIGUSR1, on_pdeath);
            int inherited = -1;
            prctl(PR_GET_PDEATHSIG, &inherited);
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            write(ready[1], &inherited, sizeof inherited);
            while (!got_pdeath) sigsuspend(&old);
            write(told[1], (const void *)&got_pdeath, sizeof(int));
            _exit(0);
        }
        int inherited;
        read(ready[0], &inherited, sizeof inherited);
        write(told[1], &inherited, sizeof inherited);
        _exit(0);
    }
    int inherited = -1, delivered = -1;
    read(told[0], &inherited, sizeof inherited);
    waitpid(middle, NULL, 0);
    read(told[0], &delivered, sizeof delivered);
    printf("a forked child's pdeathsig: %d; the signal it got when its parent ended: %d\n", inherited, delivered);

    printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
    got = res(prctl(PR_SET_DUMPABLE, 0));
    printf("set dumpable 0: %s, now %d\n", got, prctl(PR_GET_DUMPABLE));
    printf("set dumpable 2: %s\n", res(prctl(PR_SET_DUMPABLE, 2)));
    prctl(PR_SET_DUMPABLE, 1);
    printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    printf("set no_new_privs with a stray argument: %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0)));
    got = res(prctl(PR_SET_TIMERSLACK, 100000));
    printf("set timerslack: %s, now %d\n", got, prctl(PR_GET_TIMERSLACK));
    printf("capability bounding set has CAP_CHOWN: %d\n", prctl(PR_CAPBSET_READ, 0));
    printf("capability 1000: %s\n", res(prctl(PR_CAPBSET_READ, 1000)));
    printf("seccomp mode: %d\n", prctl(PR_GET_SECCOMP));
    printf("an unknown option: %s\n", res(prctl(12345, 0, 0, 0, 0)));
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: newsys SECTION [DIR]\n");
        return 2;
    }
    if (argc > 2 && strcmp(argv[1], "exec-child")) dir = argv[2];
    const char *s = argv[1];
    if (!strcmp(s, "timerfd")) return timerfd_section();
    if (!strcmp(s, "signalfd")) return signalfd_section();
    if (!strcmp(s, "memfd")) return memfd_section();
    if (!strcmp(s, "pidfd")) return pidfd_section();
    if (!strcmp(s, "execveat")) return execveat_section();
    if (!strcmp(s, "affinity")) return affinity_section();
    if (!strcmp(s, "inotify")) return inotify_section();
    if (!strcmp(s, "procvm")) return procvm_section();
    if (!strcmp(s, "prctl")) return prctl_section(argv[0]);
    if (!strcmp(s, "exec-child")) return exec_child(argc, argv);
    fprintf(stderr, "newsys: unknown section %s\n", s);
    return 2;
}
