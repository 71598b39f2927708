// A hostile program: calls the system calls the process VM implements with bad pointers (NULL,
// kernel-half addresses, unmapped pages), huge lengths and ranges that wrap, and prints what each
// returns. Built for riscv64 and for the host (the Makefile builds both), it must print the same
// lines under `isomorph run` as natively on Linux. `hostile SECTION` runs one section; no argument
// runs them all. Only calls whose answer Linux gives alike on riscv64 and x86-64 are made: where
// the architectures differ a comment says what was left out.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define KERNEL ((void *)0xffffffff80001000UL) /* the kernel half on both architectures */
#define HUGE ((size_t)1 << 62)

static void *unmapped; /* a page that was mapped and is no longer */
static char *page;     /* a mapped, writable page */

/* Prints "name: ok", "name: = VALUE" (when show) or "name: ERRNO". */
static void report(const char *name, long r, int show)
{
    if (r == -1)
        printf("%s: %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    else if (show)
        printf("%s: = %ld\n", name, r);
    else
        printf("%s: ok\n", name);
}

#define T(name, call) (errno = 0, report(name, (long)(call), 0))
#define V(name, call) (errno = 0, report(name, (long)(call), 1))

/* Wraps past the top of the address space from a valid buffer. */
static size_t wrapping(const void *from) { return (size_t)0 - (uintptr_t)from + 4096; }

static void section_brk(void)
{
    long now = syscall(SYS_brk, 0);
    printf("brk(-1) is the current break: %d\n", syscall(SYS_brk, -1L) == now);
    printf("brk(kernel) is the current break: %d\n", syscall(SYS_brk, KERNEL) == now);
    printf("brk(huge) is the current break: %d\n", syscall(SYS_brk, (long)HUGE) == now);
    printf("brk(0) still the same: %d\n", syscall(SYS_brk, 0) == now);
}

static void section_memory(void)
{
    T("mprotect unmapped", syscall(SYS_mprotect, unmapped, 4096, PROT_READ));
    T("mprotect kernel", syscall(SYS_mprotect, KERNEL, 4096, PROT_READ));
    T("mprotect wrapping", syscall(SYS_mprotect, page, wrapping(page), PROT_READ));
    T("mprotect huge", syscall(SYS_mprotect, page, HUGE, PROT_READ));
    /* Linux changes the mapped part before it meets the hole: give the page back its protection. */
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    T("mprotect unaligned", syscall(SYS_mprotect, page + 1, 4096, PROT_READ));
    T("mprotect length 0 unmapped", syscall(SYS_mprotect, unmapped, 0, PROT_READ));
    T("munmap kernel", syscall(SYS_munmap, KERNEL, 4096));
    T("munmap wrapping", syscall(SYS_munmap, unmapped, wrapping(unmapped)));
    T("munmap length 0", syscall(SYS_munmap, unmapped, 0));
    T("munmap unmapped", syscall(SYS_munmap, unmapped, 4096));
    T("mmap huge", syscall(SYS_mmap, 0, HUGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    T("mmap length -1", syscall(SYS_mmap, 0, (size_t)-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    T("mmap fixed kernel", syscall(SYS_mmap, KERNEL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    T("mmap bad fd", syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, 999, 0));
    T("madvise unmapped", syscall(SYS_madvise, unmapped, 4096, MADV_DONTNEED));
    T("madvise kernel", syscall(SYS_madvise, KERNEL, 4096, MADV_DONTNEED));
    T("msync unmapped", syscall(SYS_msync, unmapped, 4096, MS_SYNC));
    T("msync kernel", syscall(SYS_msync, KERNEL, 4096, MS_SYNC));
    T("mremap unmapped", syscall(SYS_mremap, unmapped, 4096, 8192, MREMAP_MAYMOVE));
    T("mremap kernel", syscall(SYS_mremap, KERNEL, 4096, 8192, MREMAP_MAYMOVE));
    T("mremap huge", syscall(SYS_mremap, page, 4096, HUGE, MREMAP_MAYMOVE));
}

static void section_files(void)
{
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY), fds[2];
    pipe(fds);
    write(fds[1], "data", 4);
    T("openat NULL", syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
    T("openat kernel", syscall(SYS_openat, AT_FDCWD, KERNEL, O_RDONLY));
    T("openat unmapped", syscall(SYS_openat, AT_FDCWD, unmapped, O_RDONLY));
    T("openat empty", syscall(SYS_openat, AT_FDCWD, "", O_RDONLY));
    T("openat bad dirfd", syscall(SYS_openat, 999, "x", O_RDONLY));
    char *longer = malloc(8192);
    for (int i = 0; i < 8190; i += 2) longer[i] = 'a', longer[i + 1] = '/';
    longer[4095] = 0; /* 4095 characters, "a/a/.../a": the longest path Linux takes */
    T("openat 4095 characters", syscall(SYS_openat, AT_FDCWD, longer, O_RDONLY));
    longer[4095] = '/', longer[4096] = 0;
    T("openat 4096 characters", syscall(SYS_openat, AT_FDCWD, longer, O_RDONLY));
    longer[4096] = 'a', longer[8190] = 0;
    T("openat 8190 characters", syscall(SYS_openat, AT_FDCWD, longer, O_RDONLY));
    T("mkdirat 4096 characters", syscall(SYS_mkdirat, AT_FDCWD, longer, 0700));
    T("newfstatat 4096 characters", syscall(SYS_newfstatat, AT_FDCWD, longer, page, 0));
    T("faccessat 4096 characters", syscall(SYS_faccessat, AT_FDCWD, longer, F_OK));
    T("chdir 4096 characters", syscall(SYS_chdir, longer));
    /* A path that ends at the end of a mapping without its NUL. */
    memset(page, 'a', 4096);
    T("openat unterminated", syscall(SYS_openat, AT_FDCWD, page, O_RDONLY));
    memset(page, 0, 4096);

    T("read NULL", syscall(SYS_read, zero, NULL, 16));
    T("read kernel", syscall(SYS_read, zero, KERNEL, 16));
    T("read kernel 0 bytes", syscall(SYS_read, zero, KERNEL, 0));
    T("read unmapped", syscall(SYS_read, zero, unmapped, 16));
    T("read wrapping", syscall(SYS_read, zero, page, wrapping(page)));
    T("read huge", syscall(SYS_read, zero, page, HUGE));
    T("read pipe NULL", syscall(SYS_read, fds[0], NULL, 16));
    T("write pipe NULL", syscall(SYS_write, fds[1], NULL, 16));
    T("write pipe kernel", syscall(SYS_write, fds[1], KERNEL, 16));
    T("write pipe kernel 0 bytes", syscall(SYS_write, fds[1], KERNEL, 0));
    T("write pipe wrapping", syscall(SYS_write, fds[1], page, wrapping(page)));
    T("write bad fd", syscall(SYS_write, 999, page, 16));
    T("pread NULL", syscall(SYS_pread64, zero, NULL, 16, 0));
    T("pread huge", syscall(SYS_pread64, zero, page, HUGE, 0));
    T("pwrite kernel", syscall(SYS_pwrite64, null, KERNEL, 16, 0));
    T("readv NULL iov", syscall(SYS_readv, zero, NULL, 1));
    T("readv count -1", syscall(SYS_readv, zero, page, -1));
    T("readv count 1025", syscall(SYS_readv, zero, page, 1025));
    struct iovec iov = {KERNEL, 16};
    T("readv kernel buffer", syscall(SYS_readv, zero, &iov, 1));
    T("writev kernel buffer", syscall(SYS_writev, fds[1], &iov, 1));
    /* Left out: readv into a buffer longer than its mapping. Linux transfers what fits before the
       fault and returns that count; the VM checks whole buffers first and answers EFAULT. */
    T("lseek bad whence", syscall(SYS_lseek, zero, 0, 99));
    T("dup3 same", syscall(SYS_dup3, zero, zero, 0));
    T("dup3 to -1", syscall(SYS_dup3, zero, -1, 0));
    T("dup3 bad flags", syscall(SYS_dup3, zero, 100, 0x1234));
    T("fcntl F_DUPFD -1", syscall(SYS_fcntl, zero, F_DUPFD, -1));
    T("fcntl F_DUPFD huge", syscall(SYS_fcntl, zero, F_DUPFD, 1 << 30));
    T("fcntl F_DUPFD_CLOEXEC -1", syscall(SYS_fcntl, zero, F_DUPFD_CLOEXEC, -1));
    T("fcntl F_GETLK NULL", syscall(SYS_fcntl, zero, F_GETLK, NULL));
    T("fcntl F_SETLK kernel", syscall(SYS_fcntl, zero, F_SETLK, KERNEL));
    T("fcntl bad command", syscall(SYS_fcntl, zero, 9999, 0));
    T("ioctl TCGETS NULL on a file", syscall(SYS_ioctl, zero, 0x5401, NULL));
    T("ioctl FIONREAD NULL on a pipe", syscall(SYS_ioctl, fds[0], 0x541B, NULL));
    T("pipe2 NULL", syscall(SYS_pipe2, NULL, 0));
    T("pipe2 kernel", syscall(SYS_pipe2, KERNEL, 0));
    T("pipe2 bad flags", syscall(SYS_pipe2, page, 0x1234));
    T("eventfd2 bad flags", syscall(SYS_eventfd2, 0, 0x1234));
    T("sendfile bad offset", syscall(SYS_sendfile, null, zero, KERNEL, 16));
    T("ftruncate negative", syscall(SYS_ftruncate, null, -1));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    T("getdents64 NULL", syscall(SYS_getdents64, dir, NULL, 4096));
    T("getdents64 kernel", syscall(SYS_getdents64, dir, KERNEL, 4096));
    T("getdents64 huge", syscall(SYS_getdents64, dir, page, HUGE));
    T("fstat NULL", syscall(SYS_fstat, zero, NULL));
    T("fstat kernel", syscall(SYS_fstat, zero, KERNEL));
    T("newfstatat NULL path", syscall(SYS_newfstatat, AT_FDCWD, NULL, page, 0));
    T("newfstatat NULL buffer", syscall(SYS_newfstatat, AT_FDCWD, "/", NULL, 0));
    T("statx NULL buffer", syscall(SYS_statx, AT_FDCWD, "/", 0, 0x7ff, NULL));
    T("statx kernel path", syscall(SYS_statx, AT_FDCWD, KERNEL, 0, 0x7ff, page));
    T("readlinkat size 0", syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", page, 0));
    T("readlinkat size 0 not a link", syscall(SYS_readlinkat, AT_FDCWD, "/", page, 0));
    T("readlinkat size -1", syscall(SYS_readlinkat, AT_FDCWD, "/", page, (size_t)-1));
    T("readlinkat NULL buffer", syscall(SYS_readlinkat, AT_FDCWD, "/", NULL, 16));
    T("readlinkat NULL path", syscall(SYS_readlinkat, AT_FDCWD, NULL, page, 16));
    T("faccessat NULL", syscall(SYS_faccessat, AT_FDCWD, NULL, F_OK));
    T("mkdirat NULL", syscall(SYS_mkdirat, AT_FDCWD, NULL, 0700));
    T("unlinkat kernel", syscall(SYS_unlinkat, AT_FDCWD, KERNEL, 0));
    T("renameat2 NULL", syscall(SYS_renameat2, AT_FDCWD, NULL, AT_FDCWD, "x", 0)); /* riscv64 has no renameat */
    T("symlinkat NULL target", syscall(SYS_symlinkat, NULL, AT_FDCWD, "x"));
    T("linkat NULL", syscall(SYS_linkat, AT_FDCWD, NULL, AT_FDCWD, "x", 0));
    T("fchmodat NULL", syscall(SYS_fchmodat, AT_FDCWD, NULL, 0700));
    T("fchownat NULL", syscall(SYS_fchownat, AT_FDCWD, NULL, 0, 0, 0));
    T("utimensat bad times", syscall(SYS_utimensat, AT_FDCWD, "/", KERNEL, 0));
    T("mknodat NULL", syscall(SYS_mknodat, AT_FDCWD, NULL, S_IFIFO | 0600, 0));
    T("statfs NULL path", syscall(SYS_statfs, NULL, page));
    T("statfs NULL buffer", syscall(SYS_statfs, "/", NULL));
    T("fstatfs kernel", syscall(SYS_fstatfs, zero, KERNEL));
    T("chdir NULL", syscall(SYS_chdir, NULL));
    T("getcwd NULL", syscall(SYS_getcwd, NULL, 4096));
    T("getcwd size 0", syscall(SYS_getcwd, page, 0));
    T("getcwd kernel", syscall(SYS_getcwd, KERNEL, 4096));
    T("execve empty", syscall(SYS_execve, "", NULL, NULL));
    T("execve NULL", syscall(SYS_execve, NULL, NULL, NULL));
    T("execve kernel", syscall(SYS_execve, KERNEL, NULL, NULL));
    T("execve missing", syscall(SYS_execve, "/nonexistent", NULL, NULL));
    T("execve bad argv", syscall(SYS_execve, "/nonexistent", KERNEL, NULL));
}

static void section_sockets(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0), sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int len = 4;
    T("socket bad family", syscall(SYS_socket, 9999, SOCK_STREAM, 0));
    T("socket bad type", syscall(SYS_socket, AF_INET, 9999, 0));
    T("socketpair NULL", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, NULL));
    T("socketpair kernel", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, KERNEL));
    T("bind NULL", syscall(SYS_bind, s, NULL, 16));
    T("bind kernel", syscall(SYS_bind, s, KERNEL, 16));
    T("bind length huge", syscall(SYS_bind, s, page, 4096));
    T("bind length -1", syscall(SYS_bind, s, page, -1));
    T("connect NULL", syscall(SYS_connect, s, NULL, 16));
    T("connect unmapped", syscall(SYS_connect, s, unmapped, 16));
    T("getsockname NULL length", syscall(SYS_getsockname, s, page, NULL));
    T("getsockname kernel address", syscall(SYS_getsockname, s, KERNEL, &len));
    T("getsockname NULL address", syscall(SYS_getsockname, s, NULL, &len));
    len = -1;
    T("getsockname length -1", syscall(SYS_getsockname, s, page, &len));
    len = 4;
    T("getsockopt NULL value", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, NULL, &len));
    T("getsockopt kernel value", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, KERNEL, &len));
    T("getsockopt unmapped value", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, unmapped, &len));
    T("getsockopt NULL length", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, page, NULL));
    T("getsockopt kernel length", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, page, KERNEL));
    len = 0;
    T("getsockopt kernel value, length 0", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, KERNEL, &len));
    T("getsockopt NULL value, length 0", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, NULL, &len));
    len = -1;
    T("getsockopt length -1", syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, page, &len));
    T("setsockopt NULL", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, NULL, 4));
    T("setsockopt kernel", syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, KERNEL, 4));
    T("sendto NULL buffer", syscall(SYS_sendto, sv[0], NULL, 16, 0, NULL, 0));
    T("sendto kernel buffer", syscall(SYS_sendto, sv[0], KERNEL, 16, 0, NULL, 0));
    T("sendto bad address", syscall(SYS_sendto, s, "x", 1, 0, KERNEL, 16));
    send(sv[1], "data", 4, 0);
    T("recvfrom NULL buffer", syscall(SYS_recvfrom, sv[0], NULL, 16, MSG_DONTWAIT, NULL, NULL));
    send(sv[1], "data", 4, 0);
    T("recvfrom kernel length", syscall(SYS_recvfrom, sv[0], page, 16, MSG_DONTWAIT, page + 64, KERNEL));
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    struct msghdr m = {0};
    m.msg_iov = &iov, m.msg_iovlen = 1;
    T("sendmsg NULL", syscall(SYS_sendmsg, sv[0], NULL, 0));
    T("sendmsg kernel", syscall(SYS_sendmsg, sv[0], KERNEL, 0));
    m.msg_control = NULL, m.msg_controllen = 16;
    T("sendmsg NULL control, length 16", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_control = KERNEL;
    T("sendmsg kernel control", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_control = NULL, m.msg_controllen = 0;
    m.msg_iov = KERNEL;
    T("sendmsg kernel iov", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iov = &iov, m.msg_iovlen = 1025;
    T("sendmsg 1025 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iovlen = 1;
    iov.iov_base = KERNEL;
    T("sendmsg kernel buffer", syscall(SYS_sendmsg, sv[0], &m, 0));
    iov.iov_base = &byte;
    m.msg_name = KERNEL, m.msg_namelen = 16;
    T("sendmsg kernel name", syscall(SYS_sendmsg, s, &m, 0));
    m.msg_name = NULL, m.msg_namelen = 0;
    send(sv[1], "data", 4, 0);
    m.msg_control = NULL, m.msg_controllen = 64;
    T("recvmsg NULL control, length 64", syscall(SYS_recvmsg, sv[0], &m, MSG_DONTWAIT));
    T("recvmsg NULL", syscall(SYS_recvmsg, sv[0], NULL, MSG_DONTWAIT));
    T("accept NULL address on a datagram socket", syscall(SYS_accept4, s, NULL, NULL, 0));
    T("shutdown bad how", syscall(SYS_shutdown, sv[0], 99));
}

static void section_misc(void)
{
    T("clock_gettime NULL", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL));
    T("clock_gettime kernel", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KERNEL));
    T("clock_gettime bad clock", syscall(SYS_clock_gettime, 9999, page));
    T("clock_getres bad clock", syscall(SYS_clock_getres, 9999, page));
    T("gettimeofday kernel", syscall(SYS_gettimeofday, KERNEL, NULL));
    T("nanosleep NULL", syscall(SYS_nanosleep, NULL, NULL));
    struct timespec bad = {0, 2000000000};
    T("nanosleep bad nanoseconds", syscall(SYS_nanosleep, &bad, NULL));
    T("clock_nanosleep NULL", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, NULL, NULL));
    T("getitimer NULL", syscall(SYS_getitimer, ITIMER_REAL, NULL));
    T("setitimer kernel", syscall(SYS_setitimer, ITIMER_REAL, KERNEL, NULL));
    T("uname NULL", syscall(SYS_uname, NULL));
    T("sysinfo NULL", syscall(SYS_sysinfo, NULL));
    T("times kernel", syscall(SYS_times, KERNEL));
    T("getrusage NULL", syscall(SYS_getrusage, RUSAGE_SELF, NULL));
    T("getrusage bad who", syscall(SYS_getrusage, 99, page));
    T("prlimit64 kernel", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, KERNEL));
    T("prlimit64 bad resource", syscall(SYS_prlimit64, 0, 999, NULL, page));
    T("getrandom NULL", syscall(SYS_getrandom, NULL, 16, 0));
    T("getrandom kernel", syscall(SYS_getrandom, KERNEL, 16, 0));
    T("getrandom bad flags", syscall(SYS_getrandom, page, 16, 0x1234));
    T("capget NULL", syscall(SYS_capget, NULL, NULL));
    /* rt_sigaction: x86-64's struct sigaction has sa_restorer where riscv64's does not; only bad pointers are passed. */
    T("rt_sigaction kernel", syscall(SYS_rt_sigaction, SIGUSR1, KERNEL, NULL, 8));
    T("rt_sigaction kernel old", syscall(SYS_rt_sigaction, SIGUSR1, NULL, KERNEL, 8));
    T("rt_sigaction signal 0", syscall(SYS_rt_sigaction, 0, NULL, page, 8));
    T("rt_sigaction signal 65", syscall(SYS_rt_sigaction, 65, NULL, page, 8));
    T("rt_sigaction bad size", syscall(SYS_rt_sigaction, SIGUSR1, NULL, page, 7));
    T("rt_sigprocmask kernel", syscall(SYS_rt_sigprocmask, SIG_BLOCK, KERNEL, NULL, 8));
    T("rt_sigprocmask kernel old", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, KERNEL, 8));
    T("rt_sigprocmask bad how", syscall(SYS_rt_sigprocmask, 99, page, NULL, 8));
    T("rt_sigpending NULL", syscall(SYS_rt_sigpending, NULL, 8));
    T("sigaltstack kernel", syscall(SYS_sigaltstack, KERNEL, NULL));
    T("sigaltstack kernel old", syscall(SYS_sigaltstack, NULL, KERNEL));
    T("kill bad signal", syscall(SYS_kill, getpid(), 999));
    T("tgkill bad tid", syscall(SYS_tgkill, getpid(), -5, 0));
    T("wait4 kernel status, no children", syscall(SYS_wait4, -1, KERNEL, WNOHANG, NULL));
    T("waitid bad which", syscall(SYS_waitid, 99, 0, page, WEXITED, NULL));
    T("set_robust_list bad size", syscall(SYS_set_robust_list, page, 7));
    T("futex NULL", syscall(SYS_futex, NULL, 0 /* FUTEX_WAIT */, 1, NULL, NULL, 0));
    T("futex kernel", syscall(SYS_futex, KERNEL, 0, 1, NULL, NULL, 0));
    T("futex unaligned", syscall(SYS_futex, page + 1, 0, 1, NULL, NULL, 0));
    T("futex bad op", syscall(SYS_futex, page, 99, 1, NULL, NULL, 0));
    T("ppoll NULL", syscall(SYS_ppoll, NULL, 1, NULL, NULL, 8));
    T("ppoll kernel", syscall(SYS_ppoll, KERNEL, 1, NULL, NULL, 8));
    T("ppoll huge count", syscall(SYS_ppoll, page, 1 << 30, NULL, NULL, 8));
    T("pselect6 kernel set", syscall(SYS_pselect6, 1, KERNEL, NULL, NULL, NULL, NULL));
    T("pselect6 negative", syscall(SYS_pselect6, -1, NULL, NULL, NULL, NULL, NULL));
    int ep = epoll_create1(0);
    T("epoll_create1 bad flags", syscall(SYS_epoll_create1, 0x1234));
    T("epoll_ctl kernel event", syscall(SYS_epoll_ctl, ep, 1 /* EPOLL_CTL_ADD */, 0, KERNEL));
    T("epoll_pwait NULL events", syscall(SYS_epoll_pwait, ep, NULL, 1, 0, NULL, 8));
    T("epoll_pwait 0 events", syscall(SYS_epoll_pwait, ep, page, 0, 0, NULL, 8));
    T("set_tid_address kernel", syscall(SYS_set_tid_address, KERNEL) > 0 ? 0 : -1);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unmapped = page + 4096;
    munmap(unmapped, 4096);
    const char *only = argc > 1 ? argv[1] : NULL;
    struct { const char *name; void (*run)(void); } sections[] = {
        {"brk", section_brk}, {"memory", section_memory}, {"files", section_files},
        {"sockets", section_sockets}, {"misc", section_misc},
    };
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        if (!only || strcmp(only, sections[i].name) == 0) {
            printf("[%s]\n", sections[i].name);
            sections[i].run();
        }
    return 0;
}
