/* Escape attempts from a root directory (isomorph run --root DIR): each line says what an attempt
 * read. Run inside a root holding /inside ("inside"); argv[1] is the host path of a marker outside
 * the root, which no attempt may reach, and argv[2] (optional) that of a listening AF_UNIX socket
 * outside it. On Linux under chroot(DIR) the output is the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void show(const char *what, int fd)
{
    if (fd < 0) {
        printf("%s: %s\n", what, strerror(errno));
        return;
    }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        printf("%s: read: %s\n", what, strerror(errno));
        return;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    printf("%s: %s\n", what, buf);
}

static void link_text(const char *what, const char *path)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s: %s\n", what, strerror(errno));
        return;
    }
    buf[n] = 0;
    printf("%s: %s\n", what, buf);
}

static void result(const char *what, int r)
{
    printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *outside = argv[1];
    char path[PATH_MAX];

    show("inside", open("/inside", O_RDONLY));
    show("outside by host path", open(outside, O_RDONLY));
    snprintf(path, sizeof path, "/../../../../..%s", outside);
    show("dot-dot chain", open(path, O_RDONLY));
    int root = open("/", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "../../../..%s", outside);
    show("openat / with dot-dot", openat(root, path, O_RDONLY));
    int up = openat(root, "..", O_RDONLY | O_DIRECTORY);
    show("parent of / is /", openat(up, "inside", O_RDONLY));

    symlink(outside, "/abs-link");
    show("absolute symlink", open("/abs-link", O_RDONLY));
    symlink("/inside", "/abs-inside");
    show("absolute symlink inside", open("/abs-inside", O_RDONLY));
    symlink("../../../../../../../..", "/climb");
    snprintf(path, sizeof path, "/climb%s", outside);
    show("climbing symlink", open(path, O_RDONLY));
    show("climbing symlink to inside", open("/climb/inside", O_RDONLY));
    symlink("/loop-b", "/loop-a");
    symlink("/loop-a", "/loop-b");
    show("symlink loop", open("/loop-a", O_RDONLY));
    struct stat st;
    result("stat of outside symlink", stat("/abs-link", &st));
    result("lstat of outside symlink", lstat("/abs-link", &st));

    snprintf(path, sizeof path, "/proc/self/root%s", outside);
    show("proc root", open(path, O_RDONLY));
    show("proc root inside", open("/proc/self/root/inside", O_RDONLY));
    snprintf(path, sizeof path, "/proc/self/fd/%d/../../../..%s", root, outside);
    show("proc fd dot-dot", open(path, O_RDONLY));
    snprintf(path, sizeof path, "/proc/self/fd/%d/inside", root);
    show("proc fd inside", open(path, O_RDONLY));
    snprintf(path, sizeof path, "/proc/self/cwd/../../../..%s", outside);
    show("proc cwd dot-dot", open(path, O_RDONLY));
    link_text("exe", "/proc/self/exe");
    link_text("root", "/proc/self/root");
    snprintf(path, sizeof path, "/proc/self/fd/%d", root);
    link_text("fd of /", path);
    show("reopened fd of /", openat(open(path, O_RDONLY | O_DIRECTORY), "inside", O_RDONLY));

    mkdir("/sub", 0755);
    result("chdir /sub", chdir("/sub"));
    result("chdir up and up", chdir("../../../.."));
    printf("cwd: %s\n", getcwd(path, sizeof path) ? path : strerror(errno));
    show("relative after climbing", open("inside", O_RDONLY));
    snprintf(path, sizeof path, "../../..%s", outside);
    result("chdir to outside's directory", chdir(path));

    int fd = open("/tomove", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "moved\n", 6);
    close(fd);
    result("rename up and out", rename("/tomove", "/../../../../moved"));
    show("renamed file", open("/moved", O_RDONLY));
    result("link up and out", link("/inside", "/../../../../linked"));
    show("linked file", open("/linked", O_RDONLY));
    snprintf(path, sizeof path, "/../../../..%s", outside);
    result("unlink outside", unlink(path));
    result("rename through outside symlink", rename("/abs-link/x", "/y"));

    /* A trailing slash asks for a directory: lstat follows a link to one, name operations refuse. */
    symlink("/sub", "/sub-link");
    printf("lstat sub-link/: %s\n", lstat("/sub-link/", &st) == 0 ? (S_ISDIR(st.st_mode) ? "directory" : "other") : strerror(errno));
    result("lstat abs-inside/", lstat("/abs-inside/", &st));
    result("lstat abs-link/", lstat("/abs-link/", &st));
    result("rmdir inside/", rmdir("/inside/"));
    result("unlink sub-link/", unlink("/sub-link/"));
    result("mkdir new/", mkdir("/new/", 0755));

    /* AF_UNIX names are paths too. */
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (argc > 2) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(address.sun_path, sizeof address.sun_path, "%s", argv[2]);
        result("connect to a socket outside", connect(s, (struct sockaddr *)&address, sizeof address));
        close(s);
    }
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(address.sun_path, "/sock");
    result("bind inside", bind(listener, (struct sockaddr *)&address, sizeof address));
    listen(listener, 1);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(address.sun_path, "../../sub/../sock");
    result("connect inside", connect(client, (struct sockaddr *)&address, sizeof address));
    return 0;
}
