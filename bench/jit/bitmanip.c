/* A bit-manipulation kernel for the translator's benchmark (bench/jit/run.sh), built with
 * -march=rv64gc_zba_zbb_zbs as RVA22/RVA23 distributions build everything: population and
 * trailing-zero counts, and-not, signed min and max, a rotate and scaled indexing, which compile to
 * cpop, ctz, andn, min, max, ror and sh3add. Prints a checksum, so every engine's run is compared
 * with the interpreter's. usage: bitmanip [ITERATIONS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t table[4096];

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    for (int i = 0; i < 4096; i++) table[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    uint64_t sum = 0;
    int64_t high = 0, low = 0;
    for (int r = 0; r < iterations; r++)
        for (int i = 0; i < 4096; i++) {
            uint64_t v = table[(i * 7 + r) & 4095];
            sum += __builtin_popcountll(v) + __builtin_ctzll(v | 1) + (v & ~sum);
            int64_t x = (int64_t)(v ^ sum);
            high = x > high ? x : high;
            low = x < low ? x : low;
            table[i] = (v >> 7 | v << 57) ^ (uint64_t)r;
        }
    printf("%llu %lld %lld\n", (unsigned long long)sum, (long long)high, (long long)low);
    return 0;
}
