// A hostile virtio driver for the virt machine (run with --firmware none / -bios none, 128 MiB of
// RAM; hart 0 works, the others park). For every virtio-mmio device the board has (blk, net, rng,
// console) it sets up the queue the device consumes on a notification and offers it malformed
// requests: buffers outside RAM, 4 GiB lengths, descriptor chains that loop, a next index past the
// table, indirect tables that point at themselves, loop, claim 4 GiB or have a bad length, an
// available index that jumps past the queue, a head index past the table, rings outside RAM or
// running off its end, misaligned rings, and absurd queue sizes. After each one the device must
// either have served the request or set DEVICE_NEEDS_RESET (virtio 1.1, 2.1.2: "the device has
// experienced an error from which it can't recover") with a configuration-change interrupt; for
// the requests the spec forbids, it must be the latter. Never must it hang. Then the driver resets
// the device and a well-formed request must succeed. One line per case on the UART; the machine
// ends through the SiFive test device: status 0 when every case behaved, 1 otherwise.
#include <stdint.h>

#define UART        0x10000000ul
#define SIFIVE_TEST 0x100000ul
#define VIRTIO_BASE 0x10001000ul
#define VIRTIO_SLOTS 8
#define RAM_END     0x88000000ul     /* --memory 128M */
#define NOT_RAM     0x400000000000ul

enum {
    MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
    DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
    QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
    QUEUE_DESC = 0x080, QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0a0,
};
enum { ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 64 };
enum { F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4 };
enum { ID_NET = 1, ID_BLK = 2, ID_CONSOLE = 3, ID_RNG = 4 };
enum { COMPLETED, RESET, TIMEOUT };

__asm__(".section .text.init\n.globl _start\n_start:\n"
        "  csrr t0, mhartid\n  bnez t0, 1f\n"
        "  .option push\n  .option norelax\n  la gp, __global_pointer$\n  .option pop\n"
        "  la sp, _stack_top\n  j main\n"
        "1: wfi\n  j 1b\n");

void *memset(void *d, int c, unsigned long n) { volatile uint8_t *p = d; while (n--) *p++ = (uint8_t)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { volatile uint8_t *p = d; const uint8_t *q = s; while (n--) *p++ = *q++; return d; }

static inline uint32_t rd(uintptr_t dev, int off) { return *(volatile uint32_t *)(dev + off); }
static inline void wr(uintptr_t dev, int off, uint32_t v) { *(volatile uint32_t *)(dev + off) = v; }
static void wr64(uintptr_t dev, int off, uint64_t v) { wr(dev, off, (uint32_t)v); wr(dev, off + 4, (uint32_t)(v >> 32)); }

static void putc_(char c)
{
    while (!(*(volatile uint8_t *)(UART + 5) & 0x20)) {}
    *(volatile uint8_t *)UART = (uint8_t)c;
}
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void putdec(uint32_t v) { char b[12]; int i = 0; do b[i++] = (char)('0' + v % 10); while (v /= 10); while (i) putc_(b[--i]); }

__attribute__((noreturn)) static void finish(int failed)
{
    *(volatile uint32_t *)SIFIVE_TEST = failed ? (1u << 16) | 0x3333 : 0x5555;
    for (;;) __asm__ volatile("wfi");
}

// Rings and descriptors written byte by byte, so that misaligned rings are possible.
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static uint16_t get16(const volatile uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint32_t get32(const volatile uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t descs[4096 * 2] __attribute__((aligned(4096)));
static uint8_t avail[4096] __attribute__((aligned(4096)));
static uint8_t used[4096 * 2] __attribute__((aligned(4096)));
static uint8_t indirect[16 * 2048] __attribute__((aligned(4096)));
static uint8_t buf[4096] __attribute__((aligned(4096)));

struct queue { uint8_t *desc, *avail, *used; uint32_t size; uint16_t idx; };

static void desc(uint8_t *table, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = table + 16 * i;
    put64(d, addr); put32(d + 8, len); put16(d + 12, flags); put16(d + 14, next);
}

static int failures, cases;

static void fail(const char *what)
{
    puts_("    FAIL: "); puts_(what); putc_('\n');
    failures++;
}

/// Resets the device and sets up queue qi of `size` entries whose rings the device finds at the
/// given registers' addresses (the driver's own view is in q). Absurd sizes are offered first when
/// `absurd`: the device must ignore them and keep a power of two within QueueNumMax.
static int setup(uintptr_t dev, int qi, struct queue *q, uint64_t dreg, uint64_t areg, uint64_t ureg, int absurd)
{
    wr(dev, STATUS, 0);
    if (rd(dev, STATUS) != 0) { fail("status is not 0 after a reset"); return -1; }
    wr(dev, STATUS, ACKNOWLEDGE);
    wr(dev, STATUS, ACKNOWLEDGE | DRIVER);
    wr(dev, DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(dev, DEVICE_FEATURES);
    wr(dev, DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(dev, DEVICE_FEATURES);
    wr(dev, DRIVER_FEATURES_SEL, 0);
    wr(dev, DRIVER_FEATURES, lo & (1u << 28));   // VIRTIO_F_INDIRECT_DESC
    wr(dev, DRIVER_FEATURES_SEL, 1);
    wr(dev, DRIVER_FEATURES, hi & 1);            // VIRTIO_F_VERSION_1
    wr(dev, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if (!(rd(dev, STATUS) & FEATURES_OK)) { fail("FEATURES_OK refused"); return -1; }
    wr(dev, QUEUE_SEL, (uint32_t)qi);
    uint32_t max = rd(dev, QUEUE_NUM_MAX);
    if (max == 0 || rd(dev, QUEUE_READY) != 0) { fail("queue not available"); return -1; }
    if (absurd)
    {
        static const uint32_t sizes[] = { 0, 3, 0x8000, 0x10000, 0xffffffff, 7 };
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        {
            wr(dev, QUEUE_NUM, sizes[i]);
            uint32_t n = rd(dev, QUEUE_NUM);
            if (n == 0 || n > max || (n & (n - 1))) { fail("an absurd queue size was taken"); return -1; }
        }
    }
    if (q->size > max) q->size = max;
    wr(dev, QUEUE_NUM, q->size);
    memset(q->avail, 0, 6 + 2 * q->size);
    memset(q->used, 0, 6 + 8 * q->size);
    q->idx = 0;
    wr64(dev, QUEUE_DESC, dreg);
    wr64(dev, QUEUE_DRIVER, areg);
    wr64(dev, QUEUE_DEVICE, ureg);
    wr(dev, QUEUE_READY, 1);
    wr(dev, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    return 0;
}

/// A well-formed request for the device, in descriptors from 0; returns how many.
static int build(int id, uint8_t *table)
{
    memset(buf, 0, sizeof buf);
    switch (id)
    {
    case ID_BLK:    // read sector 0: header, 512 bytes, status
        put32(buf, 0); put64(buf + 8, 0);
        buf[1024] = 0xff;
        desc(table, 0, (uintptr_t)buf, 16, F_NEXT, 1);
        desc(table, 1, (uintptr_t)buf + 512, 512, F_WRITE | F_NEXT, 2);
        desc(table, 2, (uintptr_t)buf + 1024, 1, F_WRITE, 0);
        return 3;
    case ID_NET:    // a 60-byte broadcast frame after the 12-byte header
        memset(buf + 12, 0xff, 6);
        desc(table, 0, (uintptr_t)buf, 12 + 60, 0, 0);
        return 1;
    case ID_CONSOLE:
        memcpy(buf, "virtio-hostile\n", 15);
        desc(table, 0, (uintptr_t)buf, 15, 0, 0);
        return 1;
    default:        // rng: 16 bytes
        desc(table, 0, (uintptr_t)buf + 512, 16, F_WRITE, 0);
        return 1;
    }
}

static void publish(struct queue *q, uint16_t head)
{
    put16(q->avail + 4 + 2 * (q->idx % q->size), head);
    __asm__ volatile("fence rw, rw");
    q->idx++;
    put16(q->avail + 2, q->idx);
    __asm__ volatile("fence rw, rw");
}

static int await(uintptr_t dev, struct queue *q, uint16_t seen)
{
    for (long i = 0; i < 2000000; i++)
    {
        if (get16(q->used + 2) != seen) return COMPLETED;
        if (rd(dev, STATUS) & NEEDS_RESET) return RESET;
    }
    return TIMEOUT;
}

enum Case {
    BUFFERS_OUTSIDE_RAM, LENGTHS_4GIB, CHAIN_LOOPS, NEXT_PAST_TABLE, INDIRECT_SELF, INDIRECT_LOOP, INDIRECT_4GIB,
    INDIRECT_BAD_LENGTH, AVAIL_IDX_JUMP, HEAD_PAST_TABLE, DESC_TABLE_OUTSIDE_RAM, USED_RING_OUTSIDE_RAM,
    USED_RING_OFF_RAM_END, MISALIGNED_RINGS, ABSURD_QUEUE_SIZES, CASES
};
static const char *const names[CASES] = {
    "buffers outside RAM", "4 GiB lengths", "chain loops", "next past the table", "indirect table is itself",
    "indirect chain loops", "indirect table of 4 GiB", "indirect table of 17 bytes", "avail idx jumps 1000",
    "head past the table", "descriptor table outside RAM", "used ring outside RAM", "used ring off RAM's end",
    "misaligned rings", "absurd queue sizes",
};
// The spec forbids these requests: the device must need a reset. The others: it may serve them.
static const uint8_t must_reset[CASES] = { 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };

static void run(uintptr_t dev, int id, int qi, enum Case c)
{
    struct queue q = { descs, avail, used, 16, 0 };
    uint64_t dreg = (uintptr_t)descs, areg = (uintptr_t)avail, ureg = (uintptr_t)used;
    if (c == MISALIGNED_RINGS) { q.desc += 8; q.avail += 1; q.used += 2; dreg += 8; areg += 1; ureg += 2; }
    if (c == DESC_TABLE_OUTSIDE_RAM) dreg = NOT_RAM;
    if (c == USED_RING_OUTSIDE_RAM) ureg = 0x1000;
    if (c == USED_RING_OFF_RAM_END) ureg = RAM_END - 4;
    cases++;
    puts_("  "); puts_(names[c]); puts_(": ");
    if (setup(dev, qi, &q, dreg, areg, ureg, c == ABSURD_QUEUE_SIZES) < 0) return;

    int n = build(id, q.desc);
    uint16_t head = 0;
    switch (c)
    {
    case BUFFERS_OUTSIDE_RAM:
        for (int i = 0; i < n; i++) put64(q.desc + 16 * i, NOT_RAM + 4096ul * i);
        break;
    case LENGTHS_4GIB:
        for (int i = 0; i < n; i++) put32(q.desc + 16 * i + 8, 0xffffffff);
        break;
    case CHAIN_LOOPS:
        put16(q.desc + 16 * (n - 1) + 12, get16(q.desc + 16 * (n - 1) + 12) | F_NEXT);
        put16(q.desc + 16 * (n - 1) + 14, 0);
        break;
    case NEXT_PAST_TABLE:
        put16(q.desc + 16 * (n - 1) + 12, get16(q.desc + 16 * (n - 1) + 12) | F_NEXT);
        put16(q.desc + 16 * (n - 1) + 14, (uint16_t)(q.size + 3));
        break;
    case INDIRECT_SELF:
        desc(q.desc, 0, dreg, 16 * 4, F_INDIRECT, 0);
        break;
    case INDIRECT_LOOP:
        desc(indirect, 0, (uintptr_t)buf, 16, F_NEXT, 1);
        desc(indirect, 1, (uintptr_t)buf + 16, 16, F_NEXT, 0);
        desc(q.desc, 0, (uintptr_t)indirect, 32, F_INDIRECT, 0);
        break;
    case INDIRECT_4GIB:
        for (int i = 0; i < 2048; i++) desc(indirect, i, (uintptr_t)buf, 16, F_NEXT, (uint16_t)(i + 1));
        desc(q.desc, 0, (uintptr_t)indirect, 0xfffffff0, F_INDIRECT, 0);
        break;
    case INDIRECT_BAD_LENGTH:
        desc(q.desc, 0, (uintptr_t)indirect, 17, F_INDIRECT, 0);
        break;
    case HEAD_PAST_TABLE:
        head = (uint16_t)(q.size + 1);
        break;
    default:
        break;
    }
    publish(&q, head);
    if (c == AVAIL_IDX_JUMP) put16(q.avail + 2, (uint16_t)(q.idx + 1000));
    if (c == ABSURD_QUEUE_SIZES) { wr(dev, QUEUE_NOTIFY, 0xffff); wr(dev, QUEUE_NOTIFY, 7); }
    wr(dev, QUEUE_NOTIFY, (uint32_t)qi);

    int r = await(dev, &q, 0);
    puts_(r == COMPLETED ? "served" : r == RESET ? "needs reset" : "no answer");
    if (r == TIMEOUT) { putc_('\n'); fail("the device neither served the request nor needs a reset"); }
    else if (must_reset[c] && r != RESET) { putc_('\n'); fail("a forbidden request did not put the device in DEVICE_NEEDS_RESET"); }
    else if (r == RESET && !(rd(dev, INTERRUPT_STATUS) & 2)) { putc_('\n'); fail("DEVICE_NEEDS_RESET without a configuration-change interrupt"); }
    wr(dev, INTERRUPT_ACK, rd(dev, INTERRUPT_STATUS));

    // Recovery: reset, then a well-formed request is served.
    q = (struct queue){ descs, avail, used, 16, 0 };
    if (setup(dev, qi, &q, (uintptr_t)descs, (uintptr_t)avail, (uintptr_t)used, 0) < 0) return;
    build(id, q.desc);
    publish(&q, 0);
    wr(dev, QUEUE_NOTIFY, (uint32_t)qi);
    r = await(dev, &q, 0);
    uint32_t len = get32(q.used + 4 + 4);
    if (r != COMPLETED) { putc_('\n'); fail("after a reset, a well-formed request was not served"); }
    else if (id == ID_BLK && (buf[1024] != 0 || len != 513)) { putc_('\n'); fail("after a reset, the disk read failed"); }
    else if (id == ID_RNG && len != 16) { putc_('\n'); fail("after a reset, the rng gave no 16 bytes"); }
    else puts_(", then reset and served\n");
    wr(dev, INTERRUPT_ACK, rd(dev, INTERRUPT_STATUS));
    wr(dev, STATUS, 0);
}

int main(void)
{
    static const char *const kinds[] = { "?", "net", "blk", "console", "rng" };
    int devices = 0;
    puts_("virtio-hostile\n");
    for (int slot = 0; slot < VIRTIO_SLOTS; slot++)
    {
        uintptr_t dev = VIRTIO_BASE + 0x1000ul * slot;
        uint32_t id = rd(dev, DEVICE_ID);
        if (rd(dev, MAGIC) != 0x74726976 || rd(dev, VERSION) != 2 || id == 0 || id > ID_RNG) continue;
        devices++;
        puts_("virtio-"); puts_(kinds[id]); puts_(" in slot "); putdec((uint32_t)slot); putc_('\n');
        // The queue the device consumes when notified: transmit for net and console.
        int qi = id == ID_NET || id == ID_CONSOLE ? 1 : 0;
        for (int c = 0; c < CASES; c++) run(dev, (int)id, qi, (enum Case)c);
    }
    puts_("virtio-hostile: "); putdec((uint32_t)devices); puts_(" devices, "); putdec((uint32_t)cases); puts_(" cases, ");
    putdec((uint32_t)failures); puts_(" failures\n");
    finish(failures != 0 || devices == 0);
}
