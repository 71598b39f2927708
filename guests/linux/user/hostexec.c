/* A riscv64 program that execs host programs (issue 14): what Linux's execve carries over to
 * the new program, checked through the host's /bin/sh and coreutils. Run under isomorph and under
 * qemu-riscv64, the oracle; each section prints lines the test compares. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void report(const char *what, int status)
{
    if (WIFEXITED(status)) printf("%s: exit %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: signal %d\n", what, WTERMSIG(status));
    else printf("%s: status 0x%x\n", what, status);
    fflush(stdout);
}

/* Runs /bin/sh -c SCRIPT in a child made with fork (or vfork) and reports how it ended. */
static void shell(const char *what, const char *script, int use_vfork)
{
    fflush(stdout);
    pid_t pid = use_vfork ? vfork() : fork();
    if (pid == 0) {
        execle("/bin/sh", "sh", "-c", script, (char *)0, environ);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); exit(1); }
    report(what, status);
}

static void on_term(int signal) { _exit(100 + signal); }

int main(int argc, char **argv)
{
    const char *section = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(section, "system")) {
        /* The case that made the issue: system() runs the host's /bin/sh, which runs host gzip and zcat. */
        report("pipeline", system("echo ok | gzip | zcat"));
        report("exit 3", system("exit 3"));
        report("kill -TERM $$", system("kill -TERM $$"));
        shell("vfork", "echo from a vforked child", 1);
    } else if (!strcmp(section, "fds")) {
        /* Descriptors: inherited at the same numbers unless close-on-exec; the program's end is the pipe's end. */
        int p[2];
        if (pipe(p)) return 1;
        dup2(p[1], 5);
        int marked = fcntl(p[1], F_DUPFD_CLOEXEC, 6);
        close(p[1]);
        printf("marked %d\n", marked);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            execl("/bin/sh", "sh", "-c", "echo through 5 >&5; (echo through 6 >&6) 2>/dev/null || echo 6 is closed >&5", (char *)0);
            _exit(127);
        }
        close(5);
        close(marked);
        char buffer[256];
        ssize_t n, total = 0;
        while ((n = read(p[0], buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
        buffer[total] = 0;
        printf("read until end of file:\n%s", buffer);
        int status;
        waitpid(pid, &status, 0);
        report("sh", status);
    } else if (!strcmp(section, "state")) {
        /* Working directory, umask and environment. */
        if (chdir("/usr/share")) return 1;
        umask(027);
        setenv("ISOMORPH_HOSTEXEC", "from the guest", 1);
        shell("state", "pwd; umask; echo \"$ISOMORPH_HOSTEXEC\"", 0);
    } else if (!strcmp(section, "signals")) {
        /* The signal mask and ignored signals carry over; handled ones are reset to the default. */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, on_term);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/usr/bin/grep", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", (char *)0);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        report("masks", status);
        shell("handled TERM is default", "kill -TERM $$; echo survived", 0);
        shell("ignored INT stays ignored", "kill -INT $$; echo survived", 0);
    } else if (!strcmp(section, "kill")) {
        /* A signal the guest parent sends reaches the host program; its end is reported as Linux would. */
        fflush(stdout);
        int p[2];
        if (pipe(p)) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            dup2(p[1], 1);
            execl("/bin/sh", "sh", "-c", "echo started; exec sleep 30", (char *)0);
            _exit(127);
        }
        close(p[1]);
        char line[32] = {0};
        if (read(p[0], line, sizeof line - 1) <= 0) return 1;
        printf("child said %s", line);
        printf("kill 0: %d\n", kill(pid, 0));
        kill(pid, SIGTERM);
        int status;
        waitpid(pid, &status, 0);
        report("sleep", status);
    } else if (!strcmp(section, "errors")) {
        /* The host kernel's answers for what it cannot run. */
        char *args[] = {"x", NULL};
        execv("/nonexistent/program", args);
        printf("missing: %s\n", strerror(errno));
        execv("/usr/share", args);
        printf("directory: %s\n", strerror(errno));
        execv("/etc/passwd", args);
        printf("not executable: %s\n", strerror(errno));
    } else if (!strcmp(section, "exec")) {
        /* execv of the program given, in place: for --root and --allow-host-exec. */
        char *args[] = {argv[2], NULL};
        execv(argv[2], args);
        printf("execv %s: %s\n", argv[2], strerror(errno));
        return 1;
    } else {
        fprintf(stderr, "usage: hostexec system|fds|state|signals|kill|errors|exec PROGRAM\n");
        return 2;
    }
    return 0;
}
