/* Processes: fork, pipes, dup2, execve, wait4/waitid statuses, posix_spawn (clone with CLONE_VM|CLONE_VFORK),
 * and per-process state (memory, working directory) staying apart. Prints only values that are the same on
 * every run, so its output can be compared with qemu-riscv64's. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static int shared_value = 1;

static void describe(const char *what, int status)
{
    if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    else printf("%s: status 0x%x\n", what, status);
}

static int child_mode(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "echo") == 0) {
        for (int i = 2; i < argc; i++) printf("%s%s", i > 2 ? " " : "", argv[i]);
        printf("\n");
        return 3;
    }
    return -1;
}

int main(int argc, char **argv)
{
    int r = child_mode(argc, argv);
    if (r >= 0) return r;
    setvbuf(stdout, NULL, _IONBF, 0);

    /* 1. exit status, separate memory, getppid */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        shared_value = 99;
        _exit(getppid() == parent ? 7 : 8);
    }
    int status;
    pid_t got = waitpid(pid, &status, 0);
    printf("waited for the child: %s\n", got == pid ? "yes" : "no");
    describe("fork child", status);
    printf("parent's value after the child changed its copy: %d\n", shared_value);

    /* 2. a pipe from child to parent; end of file once the child has gone */
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        const char *msg = "hello through a pipe\n";
        for (int i = 0; i < 3; i++) write(fds[1], msg, strlen(msg));
        _exit(0);
    }
    close(fds[1]);
    char buffer[256];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fds[0], buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
    buffer[total] = 0;
    close(fds[0]);
    printf("read %zu bytes: %s", total, buffer);
    waitpid(pid, &status, 0);
    describe("pipe writer", status);

    /* 3. dup2 onto stdout, then execve this program in echo mode */
    if (pipe(fds) != 0) return 1;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *args[] = { argv[0], "echo", "exec'd", "with", "arguments", NULL };
        execve("/proc/self/exe", args, environ);
        _exit(127);
    }
    close(fds[1]);
    total = 0;
    while ((n = read(fds[0], buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
    buffer[total] = 0;
    close(fds[0]);
    printf("exec'd child said: %s", buffer);
    waitpid(pid, &status, 0);
    describe("exec'd child", status);

    /* 4. a child killed by a signal; execve of a missing program fails in the child */
    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    describe("self-terminated child", status);
    pid = fork();
    if (pid == 0) {
        char *args[] = { "missing", NULL };
        execve("/no/such/program", args, environ);
        _exit(errno == ENOENT ? 40 : 41);
    }
    waitpid(pid, &status, 0);
    describe("failed exec", status);

    /* 5. posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc) and waitid */
    char *spawn_args[] = { argv[0], "echo", "spawned", NULL };
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, spawn_args, environ) != 0) return 1;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, pid, &info, WEXITED) != 0) return 1;
    printf("waitid: signo %d code %d status %d pid matches %s\n", info.si_signo, info.si_code, info.si_status,
           info.si_pid == pid ? "yes" : "no");
    /* the child runs in the parent's memory (CLONE_VM|CLONE_VFORK), so its exec failure reaches posix_spawn */
    char *missing_args[] = { "missing", NULL };
    int e = posix_spawn(&pid, "/no/such/program", NULL, NULL, missing_args, environ);
    printf("posix_spawn of a missing program: %s\n", e == ENOENT ? "ENOENT" : e == 0 ? "0" : strerror(e));
    if (e == 0) waitpid(pid, &status, 0);

    /* 6. WNOHANG while the child is blocked, then the child ends when its pipe closes */
    if (pipe(fds) != 0) return 1;
    pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char c;
        _exit(read(fds[0], &c, 1) == 0 ? 5 : 6);
    }
    close(fds[0]);
    printf("WNOHANG while the child waits: %d\n", (int)waitpid(pid, &status, WNOHANG));
    close(fds[1]);
    waitpid(pid, &status, 0);
    describe("reader at end of file", status);

    /* 7. the working directory is per process */
    char before[512], after[512];
    getcwd(before, sizeof before);
    pid = fork();
    if (pid == 0) {
        if (chdir("/") != 0) _exit(1);
        getcwd(after, sizeof after);
        _exit(strcmp(after, "/") == 0 ? 0 : 2);
    }
    waitpid(pid, &status, 0);
    describe("chdir child", status);
    getcwd(after, sizeof after);
    printf("parent's directory unchanged: %s\n", strcmp(before, after) == 0 ? "yes" : "no");

    /* 8. nothing left to wait for */
    errno = 0;
    printf("wait with no children: %d %s\n", (int)wait(&status), errno == ECHILD ? "ECHILD" : strerror(errno));
    printf("procs: ok\n");
    return 0;
}
