/* Memory: malloc (brk and mmap), large allocations, mmap/munmap/mprotect, file mappings, realloc. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

int main(void)
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

    printf("memory: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
