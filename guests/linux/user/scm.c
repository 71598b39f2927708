/* Descriptors and credentials over AF_UNIX sockets (SCM_RIGHTS, SCM_CREDENTIALS): a forked child
 * passes a file (sharing its offset), a pipe and a socket to its parent; MSG_CMSG_CLOEXEC; a control
 * buffer too small for what was sent (MSG_CTRUNC). "scm host PATH" instead connects to a host process
 * listening on PATH, receives a descriptor from it, reads it, and sends one back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int send_fds(int sock, const int *fds, int n, const char *data)
{
    char control[CMSG_SPACE(8 * sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)data, strlen(data) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    return sendmsg(sock, &m, 0);
}

/* Receives up to room descriptors into fds; returns how many, with the data and msg_flags. */
static int recv_fds(int sock, int *fds, int room, char *data, size_t size, int flags, int *msg_flags)
{
    char control[CMSG_SPACE(8 * sizeof(int))];
    struct iovec iov = { data, size - 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = CMSG_SPACE(room * sizeof(int)) };
    ssize_t n = recvmsg(sock, &m, flags);
    if (n < 0) return -1;
    data[n] = 0;
    *msg_flags = m.msg_flags;
    int count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        memcpy(fds + count, CMSG_DATA(c), k * sizeof(int));
        count += k;
    }
    return count;
}

static void read_text(const char *what, int fd)
{
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("%s: %zd \"%s\"\n", what, n, buf);
}

static int host(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
    int fds[8], flags;
    char data[64];
    int n = recv_fds(s, fds, 8, data, sizeof data, 0, &flags);
    printf("from the host: %d descriptor(s) with \"%s\"\n", n, data);
    if (n > 0) read_text("host's descriptor reads", fds[0]);
    int p[2];
    pipe(p);
    send_fds(s, &p[0], 1, "pipe");
    close(p[0]);
    write(p[1], "written by the guest", 20);
    close(p[1]);
    char done;
    read(s, &done, 1); /* the host has read the pipe */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "host") == 0) return host(argv[2]);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char file[] = "/tmp/isomorph-scm-XXXXXX";
    int tmp = mkstemp(file);
    write(tmp, "0123456789shared offset", 23);
    unlink(file);

    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        int p[2], inner[2];
        pipe(p);
        socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
        lseek(tmp, 10, SEEK_SET);
        int fds[3] = { tmp, p[0], inner[1] };
        send_fds(sv[1], fds, 3, "three");
        write(p[1], "through a passed pipe", 21);
        write(inner[0], "through a passed socket", 23);
        /* Three more, for a receiver with room for one. */
        send_fds(sv[1], fds, 3, "truncated");
        char ack;
        read(sv[1], &ack, 1);
        _exit(0);
    }
    close(sv[1]);
    close(tmp);
    int fds[8], flags;
    char data[64];
    int n = recv_fds(sv[0], fds, 8, data, sizeof data, MSG_CMSG_CLOEXEC, &flags);
    printf("received %d descriptors with \"%s\", flags %s\n", n, data, flags & MSG_CTRUNC ? "MSG_CTRUNC" : "0");
    read_text("file at the child's offset", fds[0]);
    read_text("pipe", fds[1]);
    read_text("socket", fds[2]);
    printf("close-on-exec with MSG_CMSG_CLOEXEC: %s\n", (fcntl(fds[1], F_GETFD) & FD_CLOEXEC) ? "yes" : "no");
    printf("distinct descriptors: %s\n", fds[0] != fds[1] && fds[1] != fds[2] && fds[0] > 2 ? "yes" : "no");

    n = recv_fds(sv[0], fds, 1, data, sizeof data, 0, &flags);
    printf("room for one: received %d with \"%s\", flags %s\n", n, data, flags & MSG_CTRUNC ? "MSG_CTRUNC" : "0");
    printf("close-on-exec without the flag: %s\n", (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) ? "yes" : "no");
    write(sv[0], "k", 1);
    int status;
    waitpid(child, &status, 0);

    /* A descriptor that is not open cannot be sent. */
    int bad = 999;
    printf("sending a closed descriptor: %s\n", send_fds(sv[0], &bad, 1, "x") < 0 ? strerror(errno) : "sent");

    /* Credentials: the kernel checks them and the receiver sees the sender's. */
    int pair[2], on = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    struct ucred cred = { getpid(), getuid(), getgid() };
    char control[CMSG_SPACE(sizeof cred)];
    struct iovec iov = { "creds", 5 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof cred);
    memcpy(CMSG_DATA(c), &cred, sizeof cred);
    printf("sendmsg with our credentials: %s\n", sendmsg(pair[0], &m, 0) == 5 ? "ok" : strerror(errno));
    char buf[16];
    struct iovec riov = { buf, sizeof buf };
    struct msghdr r = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    recvmsg(pair[1], &r, 0);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&r);
    struct ucred got;
    memcpy(&got, CMSG_DATA(rc), sizeof got);
    printf("received credentials: type %s, uid %s, gid %s\n", rc->cmsg_type == SCM_CREDENTIALS ? "SCM_CREDENTIALS" : "other",
           got.uid == getuid() ? "ours" : "other", got.gid == getgid() ? "ours" : "other");
    printf("scm: ok\n");
    return 0;
}
