/* System V IPC: a shared memory segment a parent and its forked child both attach, semaphores a
 * parent waits on until its child posts them, a message queue read by type, the IPC_STAT views of
 * each, errors, and a wait a signal interrupts. Compared line by line with qemu-riscv64. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

struct message { long type; char text[32]; };

static void on_alarm(int signal) { }

int main(void)
{
    /* Shared memory. */
    int shm = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    char *mem = shmat(shm, NULL, 0);
    printf("shmat: %s\n", mem == (void *)-1 ? strerror(errno) : "ok");
    struct shmid_ds ds;
    shmctl(shm, IPC_STAT, &ds);
    printf("segment: %zu bytes, %lu attached, mode %o\n", (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777);
    strcpy(mem, "from the parent");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct shmid_ds in_child;
        shmctl(shm, IPC_STAT, &in_child);
        printf("child sees \"%s\", %lu attached\n", mem, (unsigned long)in_child.shm_nattch);
        char *again = shmat(shm, NULL, SHM_RDONLY);
        strcpy(mem + 5000, "from the child");
        printf("child's second, read-only attachment sees \"%s\"\n", again + 5000);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("parent sees \"%s\"\n", mem + 5000);
    shmctl(shm, IPC_STAT, &ds);
    printf("after the child: %lu attached, last by the child: %s\n", (unsigned long)ds.shm_nattch, ds.shm_lpid == child ? "yes" : "no");
    printf("shmdt: %d, again: %d %s\n", shmdt(mem), shmdt(mem), strerror(errno));
    printf("shmat of a bad id: %p %s\n", shmat(-1, NULL, 0), strerror(errno));
    char *unaligned = shmat(shm, (void *)0x10001, 0);
    printf("shmat at an unaligned address: %s\n", unaligned == (void *)-1 ? strerror(errno) : "attached");
    printf("IPC_RMID: %d\n", shmctl(shm, IPC_RMID, NULL));

    /* Semaphores. */
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    unsigned short values[2] = { 0, 5 };
    semctl(sem, 0, SETALL, (union semun){ .array = values });
    struct semid_ds sds;
    semctl(sem, 0, IPC_STAT, (union semun){ .buf = &sds });
    printf("semaphore set: %lu semaphores, mode %o\n", (unsigned long)sds.sem_nsems, sds.sem_perm.mode & 0777);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        usleep(100000);
        struct sembuf post = { 0, 2, 0 };
        semop(sem, &post, 1);
        _exit(0);
    }
    struct sembuf wait_for = { 0, -2, 0 };
    printf("semop waited for the child: %d\n", semop(sem, &wait_for, 1));
    waitpid(child, NULL, 0);
    struct sembuf take = { 1, -1, IPC_NOWAIT };
    semop(sem, &take, 1);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        struct sembuf give = { 1, 1, IPC_NOWAIT };
        semop(sem, &give, 1);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("GETVAL: %d %d, GETPID: the parent's %s, the child's %s\n", semctl(sem, 0, GETVAL), semctl(sem, 1, GETVAL),
           semctl(sem, 0, GETPID) == getpid() ? "yes" : "no", semctl(sem, 1, GETPID) == child ? "yes" : "no");
    struct sembuf too_much = { 1, -10, IPC_NOWAIT };
    printf("semop that would block, IPC_NOWAIT: %d %s\n", semop(sem, &too_much, 1), strerror(errno));
    struct timespec brief = { 0, 50000000 };
    printf("semtimedop that times out: %d %s\n", semtimedop(sem, &wait_for, 1, &brief), strerror(errno));
    semctl(sem, 0, IPC_RMID);

    /* Message queues. */
    int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        struct message one = { 1, "type one" }, two = { 2, "type two" };
        usleep(100000);
        msgsnd(queue, &one, sizeof one.text, 0);
        msgsnd(queue, &two, sizeof two.text, 0);
        _exit(0);
    }
    struct message got;
    ssize_t n = msgrcv(queue, &got, sizeof got.text, 2, 0);
    printf("msgrcv of type 2 waited: %zd \"%s\"\n", n, got.text);
    waitpid(child, NULL, 0);
    struct msqid_ds qds;
    msgctl(queue, IPC_STAT, &qds);
    printf("queue: %lu message left, last sent by the child: %s\n", (unsigned long)qds.msg_qnum, qds.msg_lspid == child ? "yes" : "no");
    n = msgrcv(queue, &got, sizeof got.text, 0, 0);
    printf("msgrcv of any type: %zd \"%s\"\n", n, got.text);
    printf("msgrcv of an empty queue, IPC_NOWAIT: %zd %s\n", msgrcv(queue, &got, sizeof got.text, 0, IPC_NOWAIT), strerror(errno));
    struct sigaction alarm_action = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &alarm_action, NULL);
    alarm(1);
    printf("msgrcv interrupted by a signal: %zd %s\n", msgrcv(queue, &got, sizeof got.text, 0, 0), strerror(errno));
    msgctl(queue, IPC_RMID, NULL);
    printf("msgsnd to a removed queue: %d %s\n", msgsnd(queue, &got, 4, 0), strerror(errno));
    return 0;
}
