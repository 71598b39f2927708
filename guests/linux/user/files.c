/* Files and directories: create, write, seek, read back, stat, list, rename, unlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #cond, errno); failures++; } } while (0)

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "files-test.d";
    char path[512], other[512];
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 3);
    const char text[] = "The quick brown fox jumps over the lazy dog\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)sizeof text - 1);
    struct iovec iov[2] = { { "line two\n", 9 }, { "line three\n", 11 } };
    CHECK(writev(fd, iov, 2) == 20);
    CHECK(lseek(fd, 4, SEEK_SET) == 4);
    char buf[128] = { 0 };
    CHECK(read(fd, buf, 5) == 5);
    printf("read at 4: %s\n", buf);
    CHECK(pread(fd, buf, 8, sizeof text - 1) == 8);
    buf[8] = 0;
    printf("pread: %s\n", buf);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size %lld, regular %d, mode %o\n", (long long)st.st_size, S_ISREG(st.st_mode), st.st_mode & 0777);
    CHECK(st.st_size == (off_t)(sizeof text - 1 + 20));
    CHECK(ftruncate(fd, 10) == 0);
    CHECK(stat(path, &st) == 0 && st.st_size == 10);
    CHECK(close(fd) == 0);
    CHECK(close(fd) == -1 && errno == EBADF);

    FILE *f = fopen(path, "a+");
    CHECK(f != NULL);
    fprintf(f, "%d %s\n", 12345, "appended");
    fclose(f);
    f = fopen(path, "r");
    while (fgets(buf, sizeof buf, f)) printf("content: %s", buf);
    fclose(f);

    snprintf(other, sizeof other, "%s/b.txt", dir);
    CHECK(rename(path, other) == 0);
    CHECK(access(path, F_OK) == -1 && errno == ENOENT);
    CHECK(access(other, R_OK | W_OK) == 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(symlink("b.txt", (snprintf(buf, sizeof buf, "%s/link", dir), buf)) == 0 || errno == ENOSYS);

    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, compare);
    for (int i = 0; i < n; i++) printf("entry: %s\n", names[i]);

    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK(access("b.txt", F_OK) == 0);
    CHECK(chdir(cwd) == 0);

    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "piped", 5) == 5);
    CHECK(read(p[0], buf, sizeof buf) == 5);
    int copy = dup(p[0]);
    CHECK(copy > p[1]);
    CHECK(dup2(p[1], 30) == 30);
    CHECK(write(30, "x", 1) == 1 && read(copy, buf, 1) == 1 && buf[0] == 'x');
    close(p[0]); close(p[1]); close(copy); close(30);

    CHECK(open("/nonexistent/file", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(read(99, buf, 1) == -1 && errno == EBADF);
    const char *volatile unmapped = (const char *)16;
    CHECK(write(1, unmapped, 4) == -1 && errno == EFAULT);

    CHECK(unlink(other) == 0);
    unlink((snprintf(buf, sizeof buf, "%s/link", dir), buf));
    CHECK(rmdir(path) == 0);
    CHECK(rmdir(dir) == 0);
    printf("files: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
