/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benches share: the clock, the median and a fixed random stream. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds. */
static inline double bench_now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* CLOCK_MONOTONIC in microseconds. */
static inline double bench_now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Sorts v. */
static inline double bench_median(double *v, unsigned n) {
        qsort(v, n, sizeof(*v), bench_cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* xorshift: the same numbers every run (a stream per program). */
static uint64_t bench_rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint32_t bench_rnd(void) {
        bench_rng_state ^= bench_rng_state << 13;
        bench_rng_state ^= bench_rng_state >> 7;
        bench_rng_state ^= bench_rng_state << 17;
        return (uint32_t) bench_rng_state;
}
