/* The smallest check: stdio through write(2), arguments, exit status. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello from riscv64 Linux, argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    return argc > 1 && argv[1][0] == 'x' ? 42 : 0;
}
