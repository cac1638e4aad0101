/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two helpers the program cache stands on: SHA-256 (the cache key) and
 * the string hashmap (the cache). */
#include <stdio.h>
#include <stdlib.h>

#include "hashmap.h"
#include "sha256.h"
#include "test-util.h"

static const struct {
        const char *in;
        size_t repeat;
        const char *want;
} sha_cases[] = {
        /* FIPS 180-4 / NIST examples */
        { "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
        /* lengths around the 55/56/64-byte padding edges */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,      /* 55 */
          "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,     /* 56 */
          "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, /* 64 */
          "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
};

static void test_sha256(void) {
        for (size_t i = 0; i < ELEMENTSOF(sha_cases); i++) {
                size_t len = strlen(sha_cases[i].in), total = len * sha_cases[i].repeat;
                uint8_t digest[SHA256_DIGEST_SIZE];
                char hex[2 * SHA256_DIGEST_SIZE + 1];
                char *buf = malloc(total + 1);

                test_case("sha256 #%zu (%zu bytes)", i, total);
                if (!CHECK(buf, "malloc"))
                        continue;
                for (size_t k = 0; k < sha_cases[i].repeat; k++)
                        memcpy(buf + k * len, sha_cases[i].in, len);
                sha256(buf, total, digest);
                sha256_hex(digest, hex);
                CHECK_STR_EQ(hex, sha_cases[i].want);
                free(buf);
        }
}

static int freed;
static void count_free(void *v) {
        freed++;
        free(v);
}

static void test_hashmap(void) {
        enum { N = 20000 };
        Hashmap *h;
        HashmapIter it = {};
        const char *key;
        void *v;
        char k[32];
        size_t seen = 0;
        bool all_ok = true;

        test_case("hashmap");
        h = hashmap_new();
        if (!CHECK(h, "hashmap_new"))
                return;
        CHECK_INT_EQ(hashmap_size(h), 0);
        CHECK(hashmap_get(h, "nope") == NULL, "empty get");
        CHECK(hashmap_remove(h, "nope") == NULL, "empty remove");
        CHECK(!hashmap_iterate(h, &it, &v, &key), "empty iterate");

        /* Enough to make it grow several times. */
        for (int i = 0; i < N; i++) {
                int *p = malloc(sizeof(int));
                *p = i;
                snprintf(k, sizeof(k), "key-%d", i);
                if (hashmap_put(h, k, p) < 0) {
                        all_ok = false;
                        free(p);
                }
        }
        CHECK(all_ok, "every put succeeded");
        CHECK_INT_EQ(hashmap_size(h), N);
        CHECK_INT_EQ(hashmap_put(h, "key-7", NULL), -EEXIST);

        all_ok = true;
        for (int i = 0; i < N; i++) {
                int *p;
                snprintf(k, sizeof(k), "key-%d", i);
                p = hashmap_get(h, k);
                if (!p || *p != i)
                        all_ok = false;
        }
        CHECK(all_ok, "every get finds its value");

        /* Keys are copied: the caller's buffer is free to change. */
        snprintf(k, sizeof(k), "copied");
        hashmap_put(h, k, malloc(1));
        snprintf(k, sizeof(k), "changed");
        CHECK(hashmap_get(h, "copied") != NULL, "key was copied");
        free(hashmap_remove(h, "copied"));

        /* Iterate, removing every odd entry on the way. */
        it = (HashmapIter) {};
        while (hashmap_iterate(h, &it, &v, &key)) {
                int i = *(int *) v;
                char want[32];

                seen++;
                snprintf(want, sizeof(want), "key-%d", i);
                if (strcmp(want, key) != 0)
                        all_ok = false;
                if (i % 2) {
                        free(hashmap_remove(h, key));
                }
        }
        CHECK(all_ok, "iteration gives matching keys and values");
        CHECK_INT_EQ(seen, N);
        CHECK_INT_EQ(hashmap_size(h), N / 2);
        CHECK(hashmap_get(h, "key-1") == NULL, "removed during iteration");
        CHECK(hashmap_get(h, "key-2") != NULL, "kept during iteration");

        freed = 0;
        hashmap_free(h, count_free);
        CHECK_INT_EQ(freed, N / 2);
        hashmap_free(NULL, count_free);
}

static void run(void) {
        test_sha256();
        test_hashmap();
}

int main(void) {
        return test_main("lib/test-hashmap-sha256", run);
}
