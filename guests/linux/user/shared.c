/* MAP_SHARED mappings: anonymous memory shared by a parent and its forked child, and file mappings
 * whose stores reach the file (after msync, munmap and exit) and show what write() put there.
 * argv[1] is a directory for the files; the last file, "left", is checked by the caller after exit.
 * With a second argument it also grows a shared anonymous mapping with mremap (which qemu-user 7.2
 * gets wrong: the grown pages raise SIGBUS there, where Linux extends the shared memory). Pages past
 * the end of a mapped file raise SIGBUS until the file grows over them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char path_buf[4096];

static const char *in(const char *dir, const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static sigjmp_buf bus_jump;
static volatile void *bus_address;
static volatile int bus_code;

static void on_bus(int signal, siginfo_t *info, void *context)
{
    bus_address = info->si_addr;
    bus_code = info->si_code;
    siglongjmp(bus_jump, 1);
}

/* Reads (or writes, with store) the byte at p and says what happened. */
static void touch(const char *what, volatile char *p, int store)
{
    bus_address = NULL;
    if (sigsetjmp(bus_jump, 1) == 0) {
        if (store) {
            *p = 'w';
            printf("%s: stored\n", what);
        } else {
            printf("%s: reads %d\n", what, *p);
        }
    } else {
        printf("%s: SIGBUS code %d at %s\n", what, bus_code, bus_address == (void *)p ? "the address" : "another address");
    }
}

static void file_text(const char *what, int fd, off_t at)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, at);
    printf("%s: %zd \"%s\"\n", what, n, buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *dir = argv[1];
    int sync_pipe[2];

    /* 1. Anonymous shared memory across fork, both ways. */
    volatile int *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *private_mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    counter[0] = 1;
    private_mem[0] = 1;
    pipe(sync_pipe);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(sync_pipe[0], &c, 1); /* the parent has written counter[1] */
        counter[2] = counter[1] + 100;
        counter[0] = 2;
        private_mem[0] = 2;
        _exit(0);
    }
    counter[1] = 42;
    write(sync_pipe[1], "x", 1);
    waitpid(child, NULL, 0);
    printf("anonymous shared: child saw %d, wrote %d, flag %d; private copy still %d\n", counter[2] - 100, counter[2], counter[0], private_mem[0]);

    /* 2. A shared file mapping: stores reach the file, write() shows in the mapping. */
    int fd = open(in(dir, "shared"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(fd, 8192);
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(map, "through the mapping");
    printf("msync MS_SYNC: %d\n", msync(map, 8192, MS_SYNC));
    file_text("file after msync", fd, 0);
    strcpy(map + 4096, "second page");
    printf("msync MS_ASYNC: %d\n", msync(map + 4096, 4096, MS_ASYNC));
    file_text("second page", fd, 4096);
    pwrite(fd, "WRITTEN", 7, 100);
    printf("mapping after pwrite: \"%s\"\n", map + 100);

    /* 3. A child writes through the inherited mapping and through a mapping of its own. */
    child = fork();
    if (child == 0) {
        strcpy(map + 200, "child inherited");
        int own = open(in(dir, "shared"), O_RDWR);
        char *mine = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, own, 0);
        strcpy(mine + 300, "child's own mapping");
        _exit(0); /* no msync, no munmap: exit writes back */
    }
    waitpid(child, NULL, 0);
    printf("parent sees: \"%s\" and \"%s\"\n", map + 200, map + 300);
    file_text("file sees", fd, 300);

    /* 4. munmap, then the file keeps what was stored. */
    strcpy(map + 400, "before munmap");
    printf("munmap: %d\n", munmap(map, 8192));
    file_text("after munmap", fd, 400);

    /* 5. A private mapping of the same file is a copy. */
    char *copy = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    strcpy(copy, "private");
    file_text("file unchanged by a private mapping", fd, 0);
    munmap(copy, 4096);
    close(fd);

    /* 6. Read-only descriptors cannot give writable shared mappings. */
    int ro = open(in(dir, "shared"), O_RDONLY);
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("writable shared map of a read-only fd: %s\n", w == MAP_FAILED ? strerror(errno) : "mapped");
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    printf("read-only shared map reads: \"%s\"\n", r);
    printf("mprotect it writable: %s\n", mprotect(r, 4096, PROT_READ | PROT_WRITE) == 0 ? "ok" : strerror(errno));
    int rw = open(in(dir, "shared"), O_RDWR);
    pwrite(rw, "LATER", 5, 0);
    printf("read-only shared map after a write: \"%s\"\n", r);
    close(rw);
    close(ro);

    /* 7. Growing a shared anonymous mapping keeps it shared. */
    if (argc > 2) {
    char *grow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(grow, "kept");
    grow = mremap(grow, 4096, 3 * 4096, MREMAP_MAYMOVE);
    child = fork();
    if (child == 0) {
        strcpy(grow + 2 * 4096, "grown page shared");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("after mremap: \"%s\", \"%s\"\n", grow, grow + 2 * 4096);
    }

    /* 8. Past the end of the file: a page wholly beyond it raises SIGBUS (BUS_ADRERR, at the
     * address), shared or private, until the file grows to cover it; a file shrinking under its
     * mapping takes its pages away again. */
    struct sigaction bus = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
    sigaction(SIGBUS, &bus, NULL);
    int t = open(in(dir, "shrinks"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(t, 100);
    char *s = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t, 0);
    char *q = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, t, 0);
    s[0] = 'a';
    printf("in the last page, past the end: %d\n", s[200]);
    touch("shared, a page past the end", s + 4096 + 8, 0);
    touch("private, a page past the end", q + 4096, 0);
    touch("write past the end", s + 2 * 4096, 1);
    ftruncate(t, 3 * 4096);
    touch("shared, after the file grew", s + 4096 + 8, 1);
    touch("private, after the file grew", q + 4096, 0);
    file_text("the grown page reaches the file", t, 4096 + 8);
    ftruncate(t, 100);
    touch("shared, after ftruncate shrank it", s + 4096 + 8, 0);
    s[1] = 'y';
    file_text("the first page still reaches the file", t, 0);
    close(open(in(dir, "shrinks"), O_RDWR | O_TRUNC));
    touch("the first page after O_TRUNC", s, 0);
    close(t);

    /* 9. Left for the caller to read after exit: stores never synced or unmapped. */

    fd = open(in(dir, "left"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(fd, 64);
    char *left = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(left, "stored before exit");
    printf("shared: ok\n");
    return 0;
}
