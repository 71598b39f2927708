/* Isomorph sample: prints a greeting through the HTIF console and exits with status 0. */
#include "test.h"

int main(void)
{
    puts_("Hello from Isomorph!\n");
    uint64_t a = 0, b = 1;
    for (int i = 0; i < 50; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    puts_("fib(50) = ");
    print_dec(a);
    puts_("\n");
    return a == 12586269025ull ? 0 : 1;
}
