/* A program for the Isomorph library's tests (tests/Isomorph.Tests/Library): what an embedding
 * .NET program runs. argv[1] picks the part:
 *   echo       standard input to standard output in capitals, $GREETING to standard error, exit 7
 *   spin       loops for ever (instruction limits, timeouts, cancellation)
 *   neighbour  loops for ever incrementing `ticks`, beside `watched`, which it never touches
 *              (the cost of a memory hook or watchpoint on a page the guest works in)
 *   alloc      maps 1 MiB blocks until mmap fails; prints how many it got
 *   getpid     getpid, then openat (an allow-list that has only the first)
 *   plugin     a plugin: asks the host for its name (system call 500), pauses (501) for the host
 *              to call its functions, then exits with the number of calls it served */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HOST_NAME 500
#define HOST_PAUSE 501
#define HOST_LOG 502

static long served;
static char name[64];
char inbox[256]; /* where the host leaves strings for the functions it calls */

long add(long a, long b) { served++; return a + b; }

long sum8(long a, long b, long c, long d, long e, long f, long g, long h) { served++; return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h; }

/* Counts the bytes of a string the host wrote into guest memory, and logs it through the host. */
long greet(const char *who)
{
    char line[128];
    served++;
    int n = snprintf(line, sizeof line, "%s greets %s", name, who);
    syscall(HOST_LOG, line, n);
    return n;
}

long crash(long *p) { return *p; }

long forever(void) { for (volatile long i = 0;; i++) { } }

/* Two variables in one small section, so on one page: the loop writes the first, a hook or a
   watchpoint watches the second. */
__attribute__((section(".neighbours"), aligned(16))) volatile long ticks;
__attribute__((section(".neighbours"))) long watched;
long neighbour(void) { for (;;) ticks++; }

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "";
    if (!strcmp(part, "echo")) {
        int c;
        while ((c = getchar()) != EOF) putchar(toupper(c));
        fprintf(stderr, "greeting: %s\n", getenv("GREETING") ? getenv("GREETING") : "(none)");
        return 7;
    }
    if (!strcmp(part, "spin")) forever();
    if (!strcmp(part, "neighbour")) neighbour();
    if (!strcmp(part, "alloc")) {
        int blocks = 0;
        while (blocks < 100000 && mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) blocks++;
        printf("%d blocks\n", blocks);
        return 0;
    }
    if (!strcmp(part, "getpid")) {
        printf("pid %s\n", getpid() > 0 ? "ok" : "bad");
        fflush(stdout);
        int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
        printf("openat: %d\n", fd);
        return 0;
    }
    if (!strcmp(part, "plugin")) {
        long n = syscall(HOST_NAME, name, sizeof name);
        printf("plugin %s ready (%ld)\n", name, n);
        fflush(stdout);
        syscall(HOST_PAUSE);
        printf("plugin served %ld calls\n", served);
        return (int)served;
    }
    return 2;
}
