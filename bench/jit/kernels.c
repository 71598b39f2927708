/* CoreMark-like integer kernels (not CoreMark): linked-list search and reversal, a small matrix
   multiply, a state machine over a byte string and CRC-16, iterated; prints a checksum. The same
   source is built natively and for riscv64 Linux (static) by bench/jit/run.sh. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#define N_LIST 256
#define N_MAT 16
#define N_STR 512

struct node { struct node *next; int32_t value, index; };

static uint16_t crc16(uint16_t crc, uint8_t data)
{
    for (int i = 0; i < 8; i++) {
        int x = (data ^ crc) & 1;
        data >>= 1;
        crc = (uint16_t)((crc >> 1) ^ (x ? 0xA001 : 0));
    }
    return crc;
}

static struct node *reverse(struct node *l)
{
    struct node *prev = NULL;
    while (l) { struct node *n = l->next; l->next = prev; prev = l; l = n; }
    return prev;
}

static int32_t list_work(struct node *head, int32_t seed)
{
    int32_t found = 0;
    for (int k = 0; k < 8; k++) {
        int32_t want = (seed + k * 37) & 255;
        for (struct node *p = head; p; p = p->next)
            if (p->value == want) { found += p->index; break; }
    }
    return found;
}

static int64_t matrix_work(int32_t a[N_MAT][N_MAT], int32_t b[N_MAT][N_MAT], int32_t seed)
{
    int64_t sum = 0;
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) {
            int64_t acc = 0;
            for (int k = 0; k < N_MAT; k++) acc += (int64_t)a[i][k] * b[k][j];
            sum += acc ^ seed;
        }
    return sum;
}

static int state_work(const uint8_t *s, int n)
{
    int state = 0, count = 0;
    for (int i = 0; i < n; i++) {
        uint8_t c = s[i];
        switch (state) {
        case 0: state = c >= '0' && c <= '9' ? 1 : c == '-' ? 2 : 0; break;
        case 1: if (c == '.') state = 3; else if (c < '0' || c > '9') { count++; state = 0; } break;
        case 2: state = c >= '0' && c <= '9' ? 1 : 0; break;
        case 3: if (c < '0' || c > '9') { count += 2; state = 0; } break;
        }
    }
    return count;
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 2000;
    static struct node nodes[N_LIST];
    static int32_t a[N_MAT][N_MAT], b[N_MAT][N_MAT];
    static uint8_t text[N_STR];
    uint32_t r = 12345;
    for (int i = 0; i < N_LIST; i++) {
        r = r * 1103515245 + 12345;
        nodes[i].value = (int32_t)((r >> 16) & 255);
        nodes[i].index = i;
        nodes[i].next = i + 1 < N_LIST ? &nodes[i + 1] : NULL;
    }
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) { r = r * 1103515245 + 12345; a[i][j] = (int32_t)(r >> 20); b[j][i] = (int32_t)(r >> 8) & 0xFFF; }
    const char *alphabet = "0123456789.-ab ";
    for (int i = 0; i < N_STR; i++) { r = r * 1103515245 + 12345; text[i] = (uint8_t)alphabet[(r >> 16) % 15]; }

    struct node *head = &nodes[0];
    uint16_t crc = 0;
    int64_t total = 0;
    for (int it = 0; it < iterations; it++) {
        int32_t l = list_work(head, it);
        head = reverse(head);
        int64_t m = matrix_work(a, b, it);
        int s = state_work(text, N_STR);
        crc = crc16(crc, (uint8_t)l);
        crc = crc16(crc, (uint8_t)m);
        crc = crc16(crc, (uint8_t)s);
        total += l + (m & 0xFFFF) + s;
    }
    printf("iterations %d crc 0x%04x total %lld\n", iterations, crc, (long long)total);
    return 0;
}
