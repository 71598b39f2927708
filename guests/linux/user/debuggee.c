// The program the gdb stub's tests debug (built -O0 -g, static): calls three deep with locals, a
// global changed twice, four threads alive at once, a spinning loop to interrupt, an exit status, a
// fatal signal and a hot loop that writes a watched global once. Each mode is the first argument.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile long counter;
static pthread_barrier_t barrier;

int leaf(int x)
{
    int doubled = x * 2;
    return doubled + 1;
}

int middle(int x)
{
    int y = leaf(x + 1);
    return y * 3;
}

int outer(int x)
{
    int z = middle(x) + 1;
    return z;
}

void bump(void)
{
    counter = counter + 1;
    counter = counter + 10;
}

void threads_ready(void)
{
}

static void *worker(void *arg)
{
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return arg;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "calls";
    if (strcmp(mode, "calls") == 0) {
        int r = outer(5);
        printf("outer(5) = %d\n", r);
        bump();
        printf("counter = %ld\n", counter);
        return 0;
    }
    if (strcmp(mode, "threads") == 0) {
        pthread_t t[3];
        pthread_barrier_init(&barrier, NULL, 4);
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, NULL);
        pthread_barrier_wait(&barrier);
        threads_ready();
        pthread_barrier_wait(&barrier);
        for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
        puts("threads done");
        return 0;
    }
    if (strcmp(mode, "spin") == 0) {
        for (;;) counter++;
    }
    if (strcmp(mode, "segv") == 0) {
        *(volatile int *)16 = 1;
    }
    if (strcmp(mode, "hot") == 0) {
        long sum = 0;
        for (long i = 0; i < 6000000; i++) {
            sum += i ^ (i >> 3);
            if (i == 2000000) counter = sum;
        }
        counter = 5;
        printf("sum = %ld\n", sum);
        return 0;
    }
    return 7;
}
