/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A string-keyed hash table (keys are copied), growing as it fills, so that
 * lookups stay O(1) with tens of thousands of links. */
typedef struct Hashmap Hashmap;

Hashmap *hashmap_new(void);
void hashmap_free(Hashmap *h, void (*free_value)(void *));
/* For _cleanup_: a map whose values own nothing. */
static inline void hashmap_freep(Hashmap **h) {
        if (*h)
                hashmap_free(*h, NULL);
}
size_t hashmap_size(const Hashmap *h);
/* -EEXIST if key is present, -ENOMEM. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
void *hashmap_remove(Hashmap *h, const char *key);

/* Iteration: start with *state = 0; removing the current entry is allowed. */
typedef struct HashmapIter {
        size_t bucket;
        void *next;
} HashmapIter;
bool hashmap_iterate(const Hashmap *h, HashmapIter *it, void **value, const char **key);
