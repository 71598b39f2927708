/* Time, identity and the environment: clocks, sleep, uname, ids, getenv, auxv, /proc/self/exe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

int main(int argc, char **argv)
{
    struct timespec a, b, r;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    CHECK(nanosleep(&nap, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    long elapsed = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    CHECK(elapsed >= 20 * 1000 * 1000);
    CHECK(clock_getres(CLOCK_MONOTONIC, &r) == 0 && r.tv_sec == 0);
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    time_t now = time(NULL);
    CHECK(now > 1700000000 && labs(now - tv.tv_sec) <= 2);
    printf("slept at least 20 ms: %s\n", elapsed >= 20000000 ? "yes" : "no");

    /* Sleeps shorter than a millisecond (Go's scheduler sleeps 20 us at a time) sleep: 100 of
     * 200 us take at least 20 ms and the thread spends less than half of that on the CPU. */
    struct timespec c0, c1, brief = { 0, 200 * 1000 };
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0 && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0) == 0);
    for (int i = 0; i < 100; i++) CHECK(nanosleep(&brief, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0 && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1) == 0);
    elapsed = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    long busy = (c1.tv_sec - c0.tv_sec) * 1000000000L + (c1.tv_nsec - c0.tv_nsec);
    CHECK(elapsed >= 20 * 1000 * 1000);
    printf("100 sleeps of 200 us: %s\n", busy < elapsed / 2 ? "asleep" : "on the CPU");

    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("machine %s, system %s\n", u.machine, u.sysname);
    printf("uid matches euid: %s\n", getuid() == geteuid() ? "yes" : "no");
    CHECK(getpid() > 0 && getppid() > 0);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0);

    printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
    printf("AT_HWCAP %#lx\n", getauxval(AT_HWCAP));
    printf("AT_CLKTCK %lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
    CHECK(getauxval(AT_ENTRY) != 0 && getauxval(AT_PHDR) != 0 && getauxval(AT_RANDOM) != 0);
    CHECK(getauxval(AT_UID) == getuid());
    CHECK(strcmp((const char *)getauxval(AT_EXECFN), argv[0]) == 0);

    unsigned char random[32] = { 0 }, zero[32] = { 0 };
    CHECK(getrandom(random, sizeof random, 0) == sizeof random && memcmp(random, zero, sizeof zero) != 0);

    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = 0;
    const char *base = strrchr(exe, '/');
    printf("exe name %s\n", base ? base + 1 : exe);

    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg %d: [%s]\n", i, argv[i]);
    const char *greeting = getenv("ISOMORPH_GREETING");
    printf("ISOMORPH_GREETING=%s\n", greeting ? greeting : "(unset)");
    int count = 0;
    for (char **e = environ; *e; e++) count++;
    CHECK(count > 0);

    printf("timeenv: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
