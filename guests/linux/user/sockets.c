/* Sockets and epoll: a socketpair, TCP over 127.0.0.1 between a forked client and the server, UDP, an AF_UNIX
 * stream socket on a path, sendmsg/recvmsg with several iovecs, socket options, and epoll over a listening
 * socket and a pipe. Prints only values that are the same on every run. Argument: a directory for the socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
    if (!ok) { perror(what); exit(1); }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);

    /* socketpair */
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    send(sv[0], "ping", 4, 0);
    char buf[256] = { 0 };
    printf("socketpair: %zd bytes: %s\n", recv(sv[1], buf, sizeof buf, 0), buf);

    /* TCP on the loopback: a forked client */
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    check(setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "setsockopt");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    check(bind(server, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    check(listen(server, 4) == 0, "listen");
    socklen_t len = sizeof addr;
    check(getsockname(server, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    int type = 0;
    len = sizeof type;
    getsockopt(server, SOL_SOCKET, SO_TYPE, &type, &len);
    printf("tcp: bound to 127.0.0.1, port assigned %d, SO_TYPE stream %d\n", addr.sin_port != 0, type == SOCK_STREAM);

    /* epoll: the listening socket and a pipe */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int pfd[2];
    pipe(pfd);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ull };
    check(epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev) == 0, "epoll_ctl");
    ev.data.u64 = 42;
    check(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == 0, "epoll_ctl");
    struct epoll_event got[4];
    printf("epoll before anything: %d\n", epoll_wait(ep, got, 4, 10));
    write(pfd[1], "!", 1);
    int n = epoll_wait(ep, got, 4, 1000);
    printf("epoll after a pipe write: %d event(s), data %llu, events 0x%x\n", n, (unsigned long long)got[0].data.u64, got[0].events);
    char c;
    read(pfd[0], &c, 1);

    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        check(connect(s, (struct sockaddr *)&addr, sizeof addr) == 0, "connect");
        const char *hello = "hello over tcp";
        send(s, hello, strlen(hello), 0);
        char reply[64] = { 0 };
        ssize_t r = recv(s, reply, 5, MSG_WAITALL);
        _exit(r == 5 && memcmp(reply, "HELLO", 5) == 0 ? 0 : 1);
    }
    n = epoll_wait(ep, got, 4, 5000);
    printf("epoll with a client connecting: %d event(s), data 0x%llx\n", n, (unsigned long long)got[0].data.u64);
    struct sockaddr_in peer;
    len = sizeof peer;
    int conn = accept4(server, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    check(conn >= 0, "accept4");
    printf("accepted from 127.0.0.1: %d\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    ssize_t total = 0, r;
    while (total < 14 && (r = recv(conn, buf + total, sizeof buf - 1 - total, 0)) > 0) total += r;
    buf[total] = 0;
    printf("server got: %s\n", buf);
    send(conn, "HELLO", 5, 0);
    int status;
    waitpid(pid, &status, 0);
    printf("client exit status %d\n", WEXITSTATUS(status));
    printf("after the client closed, recv returns %zd\n", recv(conn, buf, sizeof buf, 0));
    close(conn);
    close(server);

    /* UDP */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    len = sizeof ua;
    getsockname(u1, (struct sockaddr *)&ua, &len);
    sendto(u2, "datagram", 8, 0, (struct sockaddr *)&ua, sizeof ua);
    struct sockaddr_in from;
    len = sizeof from;
    memset(buf, 0, sizeof buf);
    n = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    printf("udp: %d bytes: %s, from loopback %d\n", n, buf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    /* AF_UNIX on a path, with sendmsg/recvmsg */
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path, sizeof un.sun_path, "%s/sock", argc > 1 ? argv[1] : ".");
    unlink(un.sun_path);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(us, (struct sockaddr *)&un, sizeof un) == 0, "bind unix");
    listen(us, 1);
    pid = fork();
    if (pid == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        check(connect(s, (struct sockaddr *)&un, sizeof un) == 0, "connect unix");
        struct iovec iov[3] = { { "one ", 4 }, { "two ", 4 }, { "three", 5 } };
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
        _exit(sendmsg(s, &m, 0) == 13 ? 0 : 1);
    }
    int uc = accept(us, NULL, NULL);
    char a[6] = { 0 }, b[16] = { 0 };
    struct iovec in[2] = { { a, 5 }, { b, sizeof b - 1 } };
    struct msghdr m = { .msg_iov = in, .msg_iovlen = 2 };
    total = 0;
    waitpid(pid, &status, 0);
    total = recvmsg(uc, &m, MSG_WAITALL);
    printf("unix: recvmsg %zd bytes: [%s][%s], sender status %d\n", total, a, b, WEXITSTATUS(status));
    unlink(un.sun_path);
    printf("sockets: ok\n");
    return 0;
}
