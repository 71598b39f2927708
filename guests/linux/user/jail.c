// What a guest confined with `isomorph run --root DIR` may not do (docs/process-vm-jail.md):
// make device nodes, open device nodes other than null/zero/full/random/urandom/tty, reach
// abstract Unix sockets, or open sockets of other families. Run with the abstract socket name a
// host process listens on (without its leading NUL) as the argument; the root is expected to hold
// dev/null, dev/zero (allowed), dev/mem, dev/kmsg (character devices, refused), dev/disk (a block
// device, refused) and dev/fake-null (a character device named like an allowed one, refused by number).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerror(errno));
    else
        printf("%s: ok\n", what);
}

static void try_open(const char *path, int flags)
{
    int fd = open(path, flags);
    char what[64];
    snprintf(what, sizeof what, "open %s%s", path, flags & O_PATH ? " (O_PATH)" : "");
    report(what, fd);
    if (fd >= 0) close(fd);
}

static socklen_t abstract(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path + 1, name, sizeof a->sun_path - 2);
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *name = argc > 1 ? argv[1] : "isomorph-jail";
    report("mknod block device", mknod("made-disk", S_IFBLK | 0600, makedev(8, 0)));
    report("mknod character device", mknod("made-mem", S_IFCHR | 0600, makedev(1, 1)));
    report("mknod character device like null", mknod("made-null", S_IFCHR | 0666, makedev(1, 3)));
    report("mknod fifo", mknod("made-fifo", S_IFIFO | 0600, 0));
    report("mknod regular file", mknod("made-file", S_IFREG | 0600, 0));
    try_open("/dev/null", O_WRONLY);
    try_open("/dev/zero", O_RDONLY);
    try_open("/dev/mem", O_RDONLY);
    try_open("/dev/kmsg", O_RDONLY);
    try_open("/dev/disk", O_RDONLY);
    try_open("/dev/disk", O_PATH);
    try_open("/dev/fake-null", O_WRONLY);

    report("socket AF_NETLINK", socket(AF_NETLINK, SOCK_RAW, 0));
    report("socket AF_PACKET", socket(AF_PACKET, SOCK_RAW, 0));
    int pair[2];
    report("socketpair AF_NETLINK", socketpair(AF_NETLINK, SOCK_RAW, 0, pair));
    report("socket AF_INET", socket(AF_INET, SOCK_STREAM, 0));
    report("socketpair AF_UNIX", socketpair(AF_UNIX, SOCK_STREAM, 0, pair));

    struct sockaddr_un a;
    socklen_t length = abstract(&a, name);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    report("connect to the host's abstract socket", connect(s, (struct sockaddr *)&a, length));
    close(s);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    report("sendto an abstract address", sendto(s, "x", 1, 0, (struct sockaddr *)&a, length));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    length = abstract(&a, "isomorph-jail-own");
    report("bind an abstract address", bind(s, (struct sockaddr *)&a, length));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    report("autobind", bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un path = {.sun_family = AF_UNIX, .sun_path = "jail.sock"};
    report("bind a path", bind(s, (struct sockaddr *)&path, sizeof path));
    close(s);
    return 0;
}
