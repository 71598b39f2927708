/* Core dumps: a child ended by a signal whose default action dumps core leaves a core file in its
 * working directory, and its parent sees WCOREDUMP, as on Linux, when RLIMIT_CORE allows; with
 * RLIMIT_CORE 0 there is no dump, and signals that only terminate never dump. The core is read
 * back by the caller with gdb. argv[1]: the signal the dumping child raises (default SIGABRT);
 * with argv[2] "direct" the program raises it itself, with no child, for a debugger to compare. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int depth;

__attribute__((noinline)) static void level3(int signal)
{
    depth = 3;
    raise(signal);
}

__attribute__((noinline)) static void level2(int signal)
{
    level3(signal);
    depth = 2;
}

__attribute__((noinline)) static void level1(int signal)
{
    level2(signal);
    depth = 1;
}

static void child_raises(int signal, rlim_t limit)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct rlimit core = { limit, RLIM_INFINITY };
        setrlimit(RLIMIT_CORE, &core);
        level1(signal);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        printf("signal %d, core limit %s: killed by %d, %s\n", signal, limit ? "unlimited" : "0",
               WTERMSIG(status), WCOREDUMP(status) ? "core dumped" : "no core");
    else
        printf("signal %d: exited %d\n", signal, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    int signal = argc > 1 ? atoi(argv[1]) : SIGABRT;
    if (argc > 2) {
        struct rlimit core = { RLIM_INFINITY, RLIM_INFINITY };
        setrlimit(RLIMIT_CORE, &core);
        level1(signal);
        return 1;
    }
    child_raises(SIGTERM, RLIM_INFINITY);
    child_raises(signal, 0);
    child_raises(signal, RLIM_INFINITY);
    return 0;
}
