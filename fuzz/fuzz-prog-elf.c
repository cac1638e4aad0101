/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BPF ELF objects through the project's loading path, as object_fd and
 * object_path bring them: nl_prog_load_elf_mem with a program cache, so
 * the cache key, libbpf's ELF parser, the program-type check, the kernel's
 * verifier (for objects that get that far) and the log capture all run.
 *
 * Input: a flags byte (bit 0: flow_dissector instead of sk_lookup, bit 1:
 * load twice, the second time from the cache), the program's name up to a
 * NUL, then the object.
 *
 * The cache is freed and made again every CACHE_ROUNDS inputs, so that
 * loaded programs do not pile up in the kernel.
 */
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "prog-loader.h"

#define CACHE_ROUNDS 32

static NlProgCache *cache;
static unsigned rounds;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t flags = fuzz_take_u8(&in);
        char *name = fuzz_take_string(&in);
        NlAttachType type = (flags & 1) ? NL_ATTACH_FLOW_DISSECTOR : NL_ATTACH_SK_LOOKUP;
        NlProgram *p = NULL, *again = NULL;
        /* A copy of just the object, so ASan sees any read past its end. */
        void *obj = malloc(in.n ? in.n : 1);
        NlError e = {};
        int r;

        if (!obj)
                abort();
        memcpy(obj, in.p, in.n);
        if (!cache || ++rounds % CACHE_ROUNDS == 0) {
                nl_prog_cache_free(cache);
                cache = nl_prog_cache_new();
                if (!cache)
                        abort();
        }

        r = nl_prog_load_elf_mem(cache, obj, in.n, name, type, &p, &e);
        if (r < 0) {
                FUZZ_CHECK(e.kind == NL_ERR_INVALID_PROGRAM || e.kind == NL_ERR_INVALID_ARGS ||
                           e.kind == NL_ERR_FAILED);
                FUZZ_CHECK(e.message[0] && strlen(e.message) < sizeof(e.message));
                FUZZ_CHECK(!p);
        } else {
                FUZZ_CHECK(p && nl_program_fd(p) >= 0 && nl_program_id(p) > 0);
                FUZZ_CHECK(strlen(nl_program_tag(p)) == 16);
                FUZZ_CHECK(strlen(nl_program_name(p)) < 16);
                if (flags & 2) {
                        unsigned loads = nl_prog_cache_loads(cache);
                        r = nl_prog_load_elf_mem(cache, obj, in.n, name, type, &again, &e);
                        FUZZ_CHECK(r == 0 && again == p);
                        FUZZ_CHECK(nl_prog_cache_loads(cache) == loads);
                        nl_program_unref(again);
                }
                nl_program_unref(p);
        }
        free(obj);
        free(name);
        return 0;
}
