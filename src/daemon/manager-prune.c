/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <time.h>

#include "manager-private.h"

/*
 * Pruning: pin folders of a netns with no links left are removed a few
 * seconds later, not at once: a Detach followed by an Attach in the same
 * netns, as orchestrators do, would otherwise pay two rmdir and two mkdir,
 * more than the attach itself.
 */
#define PRUNE_DELAY_USEC (5ULL * 1000 * 1000)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void manager_mark_emptied(Manager *m, uint64_t ino) {
        char k[32];

        manager_netns_key(k, ino);
        if (hashmap_get(m->netns, k))
                return;         /* it has links: its folders are in use */
        /* Kept as a pointer-sized value: when it was emptied. */
        (void) hashmap_remove(m->emptied, k);
        (void) hashmap_put(m->emptied, k, (void *) (uintptr_t) now_usec());
}

/* Removes the folders of a netns without links. A load making steer maps
 * in it (in a child process, so at any time) makes them in a folder of its
 * own, which keeps the netns folder from going; the load marks the netns
 * again when it ends (the loader's ended hook, manager_attach_one). Returns 1 if
 * the netns folder went. */
int manager_prune_now(Manager *m, uint64_t ino) {
        char key[32];

        manager_netns_key(key, ino);
        hashmap_remove(m->emptied, key);
        /* A netns with links again keeps its folders. */
        return !hashmap_get(m->netns, key) && nl_pin_store_prune(m->store, ino) > 0;
}

int manager_prune(Manager *m, bool all) {
        _cleanup_free_ uint64_t *due = NULL;
        uint64_t now = now_usec();
        HashmapIter it = {};
        size_t n = 0;
        const char *k;
        void *v;
        int pruned = 0;

        if (m->pin_root_lost)
                return 0;       /* what is at its path now is not ours */
        due = calloc(hashmap_size(m->emptied) + 1, sizeof(uint64_t));
        if (!due)
                return -ENOMEM;
        while (hashmap_iterate(m->emptied, &it, &v, &k))
                if (all || now - (uint64_t) (uintptr_t) v >= PRUNE_DELAY_USEC)
                        due[n++] = strtoull(k, NULL, 10);
        for (size_t i = 0; i < n; i++)
                pruned += manager_prune_now(m, due[i]);
        return pruned;
}
