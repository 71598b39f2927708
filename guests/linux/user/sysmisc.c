/* Odds and ends: eventfd, poll/ppoll/select, statfs/fstatfs, utimensat/futimens, getrusage, times, sysinfo.
 * Prints only values that are the same on every run and on every Linux. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    /* eventfd: counts add up; a semaphore eventfd hands them out one at a time */
    int efd = eventfd(5, EFD_CLOEXEC);
    uint64_t v = 3;
    write(efd, &v, 8);
    read(efd, &v, 8);
    printf("eventfd read %llu\n", (unsigned long long)v);
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    read(sem, &v, 8);
    printf("semaphore read %llu, ", (unsigned long long)v);
    read(sem, &v, 8);
    printf("%llu, then %s\n", (unsigned long long)v, read(sem, &v, 8) < 0 ? "EAGAIN" : "more?");

    /* poll and select on a pipe: nothing, then readable; a bad descriptor is POLLNVAL */
    int fds[2];
    pipe(fds);
    struct pollfd p[3] = { { fds[0], POLLIN, 0 }, { fds[1], POLLOUT, 0 }, { 999, POLLIN, 0 } };
    int n = poll(p, 3, 10);
    printf("poll: %d ready, read end 0x%x, write end 0x%x, bad fd 0x%x\n", n, p[0].revents, p[1].revents, p[2].revents);
    write(fds[1], "x", 1);
    struct timespec zero = { 0, 0 };
    n = ppoll(p, 1, &zero, NULL);
    printf("ppoll after a write: %d ready, read end 0x%x\n", n, p[0].revents);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fds[0], &readable);
    FD_SET(efd, &readable);
    struct timeval tv = { 0, 1000 };
    n = select(efd > fds[0] ? efd + 1 : fds[0] + 1, &readable, NULL, NULL, &tv);
    printf("select: %d ready, pipe %d, drained eventfd %d\n", n, FD_ISSET(fds[0], &readable), FD_ISSET(efd, &readable));

    /* statfs */
    struct statfs a, b;
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    printf("statfs: %d, fstatfs: %d, same file system: %d, block size > 0: %d\n", statfs("/", &a), fstatfs(fd, &b),
           a.f_type == b.f_type && a.f_blocks == b.f_blocks, a.f_bsize > 0);
    close(fd);

    /* utimensat and futimens */
    char path[256];
    snprintf(path, sizeof path, "%s", argc > 1 ? argv[1] : "sysmisc.tmp");
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    struct timespec times2[2] = { { 1000000000, 0 }, { 1234567890, 500 } };
    printf("utimensat: %d", utimensat(AT_FDCWD, path, times2, 0));
    struct stat st;
    stat(path, &st);
    printf(", mtime %lld.%09ld atime %lld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_atim.tv_sec);
    times2[1].tv_sec = 1500000000;
    times2[0].tv_nsec = UTIME_OMIT;
    printf("futimens: %d", futimens(fd, times2));
    fstat(fd, &st);
    printf(", mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
    close(fd);
    unlink(path);

    /* usage: a child that spins, reaped; the parent's children's time covers it */
    pid_t pid = fork();
    if (pid == 0) {
        volatile unsigned long x = 0;
        for (unsigned long i = 0; i < 30000000; i++) x += i;
        _exit(0);
    }
    int status;
    struct rusage child_usage, children;
    wait4(pid, &status, 0, &child_usage);
    getrusage(RUSAGE_CHILDREN, &children);
    struct rusage self;
    printf("getrusage: self %d, children %d, child used some cpu %d, children >= child %d\n",
           getrusage(RUSAGE_SELF, &self), 0, child_usage.ru_utime.tv_sec + child_usage.ru_utime.tv_usec > 0,
           children.ru_utime.tv_sec * 1000000 + children.ru_utime.tv_usec >= child_usage.ru_utime.tv_sec * 1000000 + child_usage.ru_utime.tv_usec);
    struct tms t;
    clock_t now = times(&t);
    printf("times: %d, children's user ticks > 0 %d\n", now != (clock_t)-1, t.tms_cutime > 0);

    struct sysinfo si;
    printf("sysinfo: %d, has ram %d, unit %u, at least one process %d\n", sysinfo(&si), si.totalram > 0, si.mem_unit, si.procs > 0);
    printf("sysmisc: ok\n");
    return 0;
}
