/* Memory: malloc (brk and mmap), large allocations, mmap/munmap/mprotect, file mappings, realloc,
 * a MAP_GROWSDOWN stack, locked memory (MAP_LOCKED, mlock, VmLck). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static void *fault_address;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    printf("SIGSEGV (code %d) at %s\n", info->si_code, info->si_addr == fault_address ? "the address" : "another address");
    fflush(stdout);
    _exit(3);
}

/* VmLck from /proc/self/status, in kB. */
static long locked_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1) break;
    if (status) fclose(status);
    return kb;
}

int main(int argc, char **argv)
{
    uint64_t sum = 0;
    char *small[1000];
    for (int i = 0; i < 1000; i++) {
        small[i] = malloc(16 + i % 200);
        memset(small[i], i & 0xFF, 16 + i % 200);
    }
    for (int i = 0; i < 1000; i++) { sum += (unsigned char)small[i][i % 16]; free(small[i]); }
    printf("small allocations: sum %llu\n", (unsigned long long)sum);

    size_t big = 64u << 20;
    unsigned char *b = malloc(big);
    CHECK(b != NULL);
    for (size_t i = 0; i < big; i += 4096) b[i] = (unsigned char)(i >> 12);
    sum = 0;
    for (size_t i = 0; i < big; i += 4096) sum += b[i];
    printf("big allocation: sum %llu\n", (unsigned long long)sum);
    b = realloc(b, big * 2);
    CHECK(b != NULL && b[4096 * 3] == 3);
    free(b);

    long page = sysconf(_SC_PAGESIZE);
    printf("page size %ld\n", page);
    char *m = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(m[0] == 0 && m[3 * page - 1] == 0);
    strcpy(m + page, "mapped memory");
    CHECK(mprotect(m, page, PROT_READ) == 0);
    CHECK(munmap(m + 2 * page, page) == 0);
    printf("%s\n", m + page);
    char *fixed = mmap(m + 2 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(fixed == m + 2 * page && fixed[0] == 0);
    CHECK(munmap(m, 3 * page) == 0);

    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    unsigned char *elf = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(elf != MAP_FAILED);
    printf("mapped own executable: %c%c%c, machine %d\n", elf[1], elf[2], elf[3], elf[18] | elf[19] << 8);
    munmap(elf, 4096);
    close(fd);

    void *brk0 = sbrk(0);
    CHECK(sbrk(1 << 20) == brk0);
    memset(brk0, 0x5A, 1 << 20);
    CHECK(sbrk(0) == (char *)brk0 + (1 << 20));
    CHECK(sbrk(-(1 << 20)) != (void *)-1);

    /* A MAP_GROWSDOWN mapping grows down to an access below it (Linux's stack growth), but not
     * closer than the stack guard gap (256 pages) to another mapping: then SIGSEGV. */
    for (int blocked = 0; blocked < 2; blocked++) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            size_t reserve = 300 * page;
            char *area = mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(area, reserve);
            char *top = area + reserve;
            char *stack = mmap(top - page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
            if (blocked) mmap(top - 100 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            volatile char *below = stack - 5 * page + 100;
            fault_address = (void *)below;
            struct sigaction segv = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
            sigaction(SIGSEGV, &segv, NULL);
            *below = 7;
            printf("growsdown: stored 5 pages below, reads %d\n", *below);
            fflush(stdout);
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        printf("growsdown%s: exited %d\n", blocked ? " with a mapping in the gap" : "", WEXITSTATUS(status));
    }

    /* Locked memory: MAP_LOCKED and mlock count in VmLck, munlock and munmap take it back. Only
     * with the argument "locked": /proc/self/status is qemu-user's host file, which its --strace
     * reads at another size. */
    if (argc > 1 && !strcmp(argv[1], "locked")) {
    long locked0 = locked_kb();
    char *pinned = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    CHECK(pinned != MAP_FAILED);
    printf("VmLck after MAP_LOCKED of 1 MiB: +%ld kB\n", locked_kb() - locked0);
    char *more = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mlock(more + 100, 8192) == 0); /* whole pages: 3 of them */
    printf("VmLck after mlock of 8192 bytes from offset 100: +%ld kB\n", locked_kb() - locked0);
    CHECK(munlock(pinned, 1 << 19) == 0);
    printf("VmLck after munlock of half: +%ld kB\n", locked_kb() - locked0);
    munmap(pinned, 1 << 20);
    munmap(more, 64 << 10);
    printf("VmLck after munmap: +%ld kB\n", locked_kb() - locked0);
    errno = 0;
    printf("mlock of an unmapped range: %d %s\n", mlock(more, 4096), strerror(errno));
    }

    printf("memory: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
