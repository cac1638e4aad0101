/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for the daemon's Manager (src/daemon/manager.c) under the real
 * D-Bus layer: the bus code parses exactly as in netnslinkd, and what it
 * hands on is checked here the way the Manager checks it first (reference,
 * type, name, program), without touching the kernel, the host's namespaces
 * or any file a fuzzed string names. Success answers with a made-up link,
 * so that the reply path (bus_append_link) runs too.
 *
 * One link is real enough for the Steering interface: sk_lookup link
 * FUZZ_STEER_LINK in our own netns, whose steer maps fuzz-bus-message
 * pins in its private bpffs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bus-fuzz.h"
#include "builtins.h"
#include "netns-ref.h"
#include "steer-maps.h"

uint64_t fuzz_netns_ino;
char fuzz_steer_prog_name[16] = "steer";

static Link fake;
static char fake_netns[4096];

static int check_ref(const LinkRef *ref, NlAttachType *type, NlError *e) {
        char path[4096];
        int r;

        r = nl_netns_ref_to_path(ref->netns, path, sizeof(path), e);
        if (r < 0)
                return r;
        r = nl_attach_type_parse(ref->type, type, e);
        if (r < 0)
                return r;
        return nl_link_name_check(ref->name, e);
}

static int check_program(const ProgramSpec *p, NlAttachType type, NlError *e) {
        struct stat st;

        switch (p->kind) {
        case PROGRAM_BUILTIN:
                return nl_builtin_check(p->builtin, type, e);
        case PROGRAM_FD:
                /* The fd came with the message: it must be open. */
                if (fstat(p->fd, &st) < 0)
                        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, negative_errno(), "Bad object fd: %m");
                return S_ISREG(st.st_mode) ? 0 :
                        nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EBADFD, "The object must be a regular file");
        case PROGRAM_PATH:
                if (!p->path || p->path[0] != '/')
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The object path must be absolute");
                return 0;
        }
        abort();
}

static Link *make_link(const char *netns, NlAttachType type, const char *name) {
        snprintf(fake_netns, sizeof(fake_netns), "%s", netns);
        fake = (Link) {
                .ino = fuzz_netns_ino,
                .type = type,
                .fd = -EBADF,
                .netns = fake_netns,
                .source = (char *) "builtin:steer",
                .builtin = nl_builtin_find("steer"),
                .info = { .link_id = 7, .prog_id = 42, .netns_ino = fuzz_netns_ino, .attach_type = type,
                          .prog_tag = "0123456789abcdef" },
        };
        snprintf(fake.info.prog_name, sizeof(fake.info.prog_name), "%s", fuzz_steer_prog_name);
        snprintf(fake.name, sizeof(fake.name), "%s", name);
        snprintf(fake.key, sizeof(fake.key), "%llu/%d/%s", (unsigned long long) fake.ino, type, name);
        return &fake;
}

static int one(const LinkRef *ref, const ProgramSpec *p, Link **ret, NlError *e) {
        NlAttachType type;
        int r = check_ref(ref, &type, e);

        if (r < 0)
                return r;
        if (p) {
                r = check_program(p, type, e);
                if (r < 0)
                        return r;
        }
        if (ret)
                *ret = make_link(ref->netns, type, ref->name);
        return 0;
}

int manager_attach(Manager *m, const LinkRef *ref, const ProgramSpec *p, Link **ret, NlError *e) {
        return one(ref, p, ret, e);
}

int manager_update(Manager *m, const LinkRef *ref, const ProgramSpec *p, Link **ret, NlError *e) {
        return one(ref, p, ret, e);
}

int manager_replace(Manager *m, const LinkRef *ref, uint32_t expected_prog_id, const ProgramSpec *p,
                    Link **ret, NlError *e) {
        int r = one(ref, p, ret, e);
        if (r == 0 && expected_prog_id != 42)
                return nl_error_set(e, NL_ERR_PROGRAM_MISMATCH, -ESTALE, "Expected %u, running 42", expected_prog_id);
        return r;
}

int manager_detach(Manager *m, const LinkRef *ref, NlError *e) {
        return one(ref, NULL, NULL, e);
}

int manager_get(Manager *m, const LinkRef *ref, Link **ret, NlError *e) {
        return one(ref, NULL, ret, e);
}

/* A batch answers with the same made-up link n times; big batches are
 * parsed whole, then refused, so replies stay small. */
int manager_attach_many(Manager *m, const LinkRef *refs, const ProgramSpec *progs, size_t n,
                        Link ***ret, NlError *e) {
        Link **links;

        for (size_t i = 0; i < n; i++) {
                int r = one(&refs[i], &progs[i], NULL, e);
                if (r < 0)
                        return nl_error_prefix(e, r, "Element %zu", i);
        }
        if (n > 16)
                return nl_error_set(e, NL_ERR_TOO_MANY_LINKS, -E2BIG, "Too many");
        links = calloc(n ? n : 1, sizeof(Link *));
        if (!links)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++)
                links[i] = make_link(refs[i].netns, NL_ATTACH_SK_LOOKUP, refs[i].name);
        *ret = links;
        return 0;
}

int manager_detach_many(Manager *m, const LinkRef *refs, size_t n, NlError *e) {
        for (size_t i = 0; i < n; i++) {
                int r = one(&refs[i], NULL, NULL, e);
                if (r < 0)
                        return nl_error_prefix(e, r, "Element %zu", i);
        }
        return 0;
}

int manager_list(Manager *m, const char *netns, Link ***ret, size_t *ret_n, NlError *e) {
        char path[4096];
        Link **links;

        if (netns && *netns) {
                int r = nl_netns_ref_to_path(netns, path, sizeof(path), e);
                if (r < 0)
                        return r;
        }
        links = calloc(2, sizeof(Link *));
        if (!links)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        links[0] = make_link(netns ? netns : "", NL_ATTACH_SK_LOOKUP, FUZZ_STEER_LINK);
        *ret = links;
        *ret_n = 2;     /* a NULL entry, as a link dropped meanwhile leaves */
        return 0;
}

/* Nothing here loads programs, so no request holds any. */
void manager_hold_free(ProgramHold *h) {
        free(h->progs);
        *h = (ProgramHold) {};
}

uint32_t manager_link_order(Manager *m, const Link *l) {
        return 0;
}

int manager_require_pin_root(Manager *m, NlError *e) {
        return 0;
}

int manager_repair_steer_maps(Manager *m, Link *l, NlError *e) {
        return 0;
}

int steer_maps_grown(int prog_fd, bool switched, void *userdata, NlError *e) {
        return 0;
}

int manager_steer_dir(Manager *m, uint64_t ino, const char *name, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%llu/" NL_STEER_DIR "/%s", nl_pin_store_root(m->store),
                         (unsigned long long) ino, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int manager_find(Manager *m, const char *netns, NlAttachType type, const char *name, Link **ret, NlError *e) {
        char path[4096];
        int r;

        r = nl_link_name_check(name, e);
        if (r < 0)
                return r;
        r = nl_netns_ref_to_path(netns, path, sizeof(path), e);
        if (r < 0)
                return r;
        *ret = make_link(netns, type, name);
        return 0;
}
