/* A guest that writes through a bad pointer must die of SIGSEGV (exit 139), and the host survive. */
#include <stdio.h>

int main(void)
{
    printf("about to fault\n");
    fflush(stdout);
    volatile int *bad = (int *)0x1000;
    *bad = 1;
    printf("still alive?\n");
    return 0;
}
