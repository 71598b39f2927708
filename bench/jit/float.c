/* Floating-point kernels (double): an n-body step over 32 bodies, a 24x24 matrix multiply and a
   Horner polynomial with a square root, iterated; prints a checksum. Built natively and for
   riscv64 Linux (static) by bench/jit/run.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BODIES 32
#define N 24

static double px[BODIES], py[BODIES], pz[BODIES], vx[BODIES], vy[BODIES], vz[BODIES], mass[BODIES];
static double a[N][N], b[N][N], c[N][N];

static void nbody_step(double dt)
{
    for (int i = 0; i < BODIES; i++)
        for (int j = i + 1; j < BODIES; j++) {
            double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
            double d2 = dx * dx + dy * dy + dz * dz + 0.01;
            double mag = dt / (d2 * sqrt(d2));
            vx[i] -= dx * mass[j] * mag; vy[i] -= dy * mass[j] * mag; vz[i] -= dz * mass[j] * mag;
            vx[j] += dx * mass[i] * mag; vy[j] += dy * mass[i] * mag; vz[j] += dz * mass[i] * mag;
        }
    for (int i = 0; i < BODIES; i++) { px[i] += dt * vx[i]; py[i] += dt * vy[i]; pz[i] += dt * vz[i]; }
}

static void matmul(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
}

static double horner(double x)
{
    static const double k[] = { 1.0, -0.5, 0.25, -0.125, 0.0625, -0.03125, 0.015625, -0.0078125 };
    double r = 0;
    for (int i = 7; i >= 0; i--) r = r * x + k[i];
    return sqrt(fabs(r) + x * x);
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    for (int i = 0; i < BODIES; i++) {
        px[i] = i * 0.37; py[i] = (i % 7) * 1.3; pz[i] = (i % 5) * -0.9;
        vx[i] = vy[i] = vz[i] = 0; mass[i] = 1.0 + (i % 3) * 0.5;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (i + j) * 0.01; b[i][j] = (i - j) * 0.02; }
    double acc = 0;
    for (int it = 0; it < iterations; it++) {
        nbody_step(0.001);
        matmul();
        a[it % N][(it * 7) % N] += c[(it * 3) % N][it % N] * 1e-3;
        for (int i = 0; i < 64; i++) acc += horner(i * 0.01 + it * 1e-6);
    }
    printf("iterations %d px0 %.9f c00 %.9f acc %.6f\n", iterations, px[0], c[0][0], acc);
    return 0;
}
