/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "steer-private.h"

/*
 * The bindings' hit counters (steer-abi.h): one per binding, per CPU, in
 * counters; which ids are taken is counter_used's bitmap. An id is zeroed
 * when it is taken, before any entry points to it, so what a binding
 * released earlier counted never shows; a lookup still running on a binding
 * just released may add one hit to the next binding that takes its id. The
 * maps of a release before per-CPU counters have none (max_counters 0):
 * their bindings get id 0 and keep the hits their program counts.
 */

static int ncpus(void) {
        return libbpf_num_possible_cpus();
}

static uint32_t counter_words(NlSteer *s) {
        return s->max_counters / STEER_COUNTER_WORD_BITS;
}

/* The whole bitmap, words[counter_words(s)]. */
static int used_read(NlSteer *s, uint64_t *words) {
        for (uint32_t w = 0; w < counter_words(s); w++) {
                int r = bpf_map_lookup_elem(steer_fd(s, counter_used), &w, &words[w]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Writes back the words of the bitmap that differ from before. */
static int used_write(NlSteer *s, const uint64_t *before, const uint64_t *words) {
        for (uint32_t w = 0; w < counter_words(s); w++)
                if (before[w] != words[w]) {
                        int r = bpf_map_update_elem(steer_fd(s, counter_used), &w, &words[w], BPF_ANY);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Both copies of the bitmap, as used_read gives it. */
typedef struct UsedMap {
        uint64_t *before, *words;
} UsedMap;

static void used_done(UsedMap *u) {
        free(u->before);
        free(u->words);
}

static int used_load(NlSteer *s, UsedMap *u) {
        size_t n = counter_words(s) + 1;

        u->before = calloc(n, sizeof(uint64_t));
        u->words = calloc(n, sizeof(uint64_t));
        if (!u->before || !u->words)
                return -ENOMEM;
        int r = used_read(s, u->words);
        if (r >= 0)
                memcpy(u->before, u->words, n * sizeof(uint64_t));
        return r;
}

static bool used_has(const uint64_t *words, uint32_t id) {
        return words[id / STEER_COUNTER_WORD_BITS] & (1ULL << (id % STEER_COUNTER_WORD_BITS));
}

static void used_set(uint64_t *words, uint32_t id, bool on) {
        uint64_t bit = 1ULL << (id % STEER_COUNTER_WORD_BITS);

        if (on)
                words[id / STEER_COUNTER_WORD_BITS] |= bit;
        else
                words[id / STEER_COUNTER_WORD_BITS] &= ~bit;
}

size_t counters_in_use(NlSteer *s) {
        UsedMap u = {};
        size_t n = 0;

        if (s->max_counters == 0)
                return 0;
        if (used_load(s, &u) >= 0)
                for (uint32_t w = 0; w < counter_words(s); w++)
                        n += (size_t) __builtin_popcountll(u.words[w]);
        used_done(&u);
        return n;
}

/* Each counter of ids[n] zeroed on every CPU, in one batch. */
static int counters_zero(NlSteer *s, const uint32_t *ids, size_t n) {
        int nc = ncpus();
        _cleanup_free_ uint64_t *zero = NULL;

        if (nc < 0)
                return nc;
        zero = calloc(n * (size_t) nc + 1, sizeof(uint64_t));
        if (!zero)
                return -ENOMEM;
        return array_update_many(steer_fd(s, counters), ids, zero, (size_t) nc * sizeof(uint64_t), n);
}

int counters_take(NlSteer *s, uint32_t *ids, size_t n) {
        UsedMap u = {};
        size_t got = 0;
        int r;

        if (s->max_counters == 0 || n == 0) {
                memset(ids, 0, n * sizeof(*ids));
                return 0;
        }
        r = used_load(s, &u);
        /* From the hint up, then from the start (another NlSteer may have
         * released ids below it). Id 0 is never taken: it is the one of
         * entries without a counter. */
        for (uint32_t k = 0, start = s->counter_hint > 0 ? s->counter_hint : 1;
             r >= 0 && got < n && k < s->max_counters; k++) {
                uint32_t id = (start + k) % s->max_counters;

                if (id > 0 && !used_has(u.words, id)) {
                        used_set(u.words, id, true);
                        ids[got++] = id;
                }
        }
        if (r >= 0 && got < n)
                r = -ENOSPC;
        if (r >= 0)
                r = used_write(s, u.before, u.words);
        if (r >= 0)
                r = counters_zero(s, ids, n);
        if (r >= 0)
                s->counter_hint = ids[n - 1] + 1;
        else if (got > 0 && r != -ENOSPC)
                (void) used_write(s, u.words, u.before);
        used_done(&u);
        return r;
}

void counters_release(NlSteer *s, const uint32_t *ids, size_t n) {
        UsedMap u = {};

        if (s->max_counters == 0 || n == 0)
                return;
        if (used_load(s, &u) >= 0) {
                for (size_t i = 0; i < n; i++)
                        if (ids[i] > 0 && ids[i] < s->max_counters) {
                                used_set(u.words, ids[i], false);
                                if (ids[i] < s->counter_hint)
                                        s->counter_hint = ids[i];
                        }
                (void) used_write(s, u.before, u.words);
        }
        used_done(&u);
}

int counters_rebuild(NlSteer *s, const uint32_t *ids, size_t n) {
        UsedMap u = {};
        int r;

        if (s->max_counters == 0)
                return 0;
        r = used_load(s, &u);
        if (r >= 0) {
                memset(u.words, 0, counter_words(s) * sizeof(uint64_t));
                for (size_t i = 0; i < n; i++)
                        if (ids[i] > 0 && ids[i] < s->max_counters)
                                used_set(u.words, ids[i], true);
                r = used_write(s, u.before, u.words);
        }
        s->counter_hint = 1;
        used_done(&u);
        return r;
}

/* The sum over CPUs of counter id, from v (ncpus values). */
static uint64_t sum_cpus(const uint64_t *v, int nc) {
        uint64_t sum = 0;

        for (int c = 0; c < nc; c++)
                sum += v[c];
        return sum;
}

int counters_add_hits(NlSteer *s, const uint32_t *ids, NlSteerBinding *b, size_t n) {
        _cleanup_free_ uint64_t *v = NULL, *all = NULL;
        int nc = ncpus(), r = 0;

        if (s->max_counters == 0 || n == 0)
                return 0;
        if (nc < 0)
                return nc;
        /* Many: the whole map in a few batch reads; few: one read each. */
        if (n >= 64) {
                all = calloc((size_t) s->max_counters * (size_t) nc, sizeof(uint64_t));
                if (!all)
                        return -ENOMEM;
                r = array_read_all(steer_fd(s, counters), all, (size_t) nc * sizeof(uint64_t), s->max_counters);
                if (r < 0)
                        return r;
        } else {
                v = calloc((size_t) nc, sizeof(uint64_t));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (ids[i] == 0 || ids[i] >= s->max_counters)
                        continue;
                if (all)
                        b[i].hits += sum_cpus(all + (size_t) ids[i] * (size_t) nc, nc);
                else if (v && bpf_map_lookup_elem(steer_fd(s, counters), &ids[i], v) == 0)
                        b[i].hits += sum_cpus(v, nc);
        }
        return r;
}
