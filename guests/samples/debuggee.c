/* Isomorph sample for the gdb stub's tests on the bare machine: a call two deep, a global
   changed on each call (for watchpoints), and an exit status of 0. */
#include "test.h"

volatile uint64_t ticks;

__attribute__((noinline)) uint64_t square(uint64_t x)
{
    ticks = ticks + 1;
    return x * x;
}

__attribute__((noinline)) uint64_t sum_squares(int n)
{
    uint64_t sum = 0;
    for (int i = 1; i <= n; i++) sum += square(i);
    return sum;
}

int main(void)
{
    uint64_t s = sum_squares(4);
    puts_("sum of squares = ");
    print_dec(s);
    puts_("\n");
    return s == 30 ? 0 : 1;
}
