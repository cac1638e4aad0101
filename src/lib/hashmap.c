/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct Entry {
        struct Entry *next;
        uint64_t hash;
        void *value;
        char key[];
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets, size;
};

static uint64_t hash_key(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;    /* FNV-1a */
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

Hashmap *hashmap_new(void) {
        Hashmap *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->n_buckets = 64;
        h->buckets = calloc(h->n_buckets, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        return h;
}

void hashmap_free(Hashmap *h, void (*free_value)(void *)) {
        if (!h)
                return;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *n; e; e = n) {
                        n = e->next;
                        if (free_value)
                                free_value(e->value);
                        free(e);
                }
        free(h->buckets);
        free(h);
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->size : 0;
}

static void grow(Hashmap *h) {
        size_t n = h->n_buckets * 4;
        Entry **b = calloc(n, sizeof(Entry *));

        if (!b)
                return;    /* stay slower, not wrong */
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (n - 1)];
                        b[e->hash & (n - 1)] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
}

static Entry **find(const Hashmap *h, const char *key, uint64_t hash) {
        Entry **p = &h->buckets[hash & (h->n_buckets - 1)];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == hash && strcmp((*p)->key, key) == 0)
                        return p;
        return p;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        uint64_t hash = hash_key(key);
        size_t len = strlen(key);
        Entry **p, *e;

        p = find(h, key, hash);
        if (*p)
                return -EEXIST;
        e = malloc(sizeof(*e) + len + 1);
        if (!e)
                return -ENOMEM;
        e->hash = hash;
        e->value = value;
        memcpy(e->key, key, len + 1);
        e->next = NULL;
        *p = e;
        if (++h->size > h->n_buckets)
                grow(h);
        return 0;
}

void *hashmap_get(const Hashmap *h, const char *key) {
        Entry **p = find(h, key, hash_key(key));
        return *p ? (*p)->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry **p = find(h, key, hash_key(key)), *e = *p;
        void *v;

        if (!e)
                return NULL;
        *p = e->next;
        v = e->value;
        free(e);
        h->size--;
        return v;
}

bool hashmap_iterate(const Hashmap *h, HashmapIter *it, void **value, const char **key) {
        Entry *e = it->next;

        if (!h)
                return false;
        if (!e) {
                while (it->bucket < h->n_buckets && !(e = h->buckets[it->bucket]))
                        it->bucket++;
                if (!e)
                        return false;
                it->bucket++;
        }
        /* Remember the successor now, so the caller may remove e. */
        it->next = e->next;
        if (value)
                *value = e->value;
        if (key)
                *key = e->key;
        return true;
}
