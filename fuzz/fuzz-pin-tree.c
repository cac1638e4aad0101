/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pin store's start-up path on a crafted pin tree: what a crash, an
 * older version or a careless administrator may have left under the pin
 * root. The input builds a tree of folders, pinned links (live, defunct,
 * of the other type), maps, programs and symlinks; then
 * nl_pin_store_recover and nl_pin_store_scan run over it, as netnslinkd
 * does at start; then the tree is removed.
 *
 * Everything happens in a private mount namespace (a bpffs of our own) and
 * a private network namespace (the links attach there), so the host's pins
 * and sockets are never touched. Symlink targets are relative and without
 * "..", so nothing outside the private bpffs can be reached through them.
 *
 * Input: a list of operations, each an op byte then a path (up to a NUL;
 * a path component "@" stands for our netns inode) and, for symlinks, a
 * target; for batch journals, entries: a byte choosing the link it names
 * (one of ours, or made up) and its name.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "link-ops.h"
#include "netns-ref.h"
#include "pin-store-private.h"

#define MAX_OPS 64

enum {
        OBJ_SK_LOOKUP_A,    /* live links in our netns */
        OBJ_SK_LOOKUP_B,
        OBJ_FLOW,
        OBJ_DEFUNCT,        /* a link whose netns is gone */
        OBJ_MAP,
        OBJ_PROG,
        _OBJ_MAX,
};

static char bpffs[256], root[300];
static bool ready;
static int netns_fd = -EBADF;
static uint64_t netns_ino;
static int prog_sk = -EBADF, prog_flow = -EBADF;
static int objs[_OBJ_MAX] = { -EBADF, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF };

static int load_prog(enum bpf_prog_type type, enum bpf_attach_type attach, int ret) {
        /* r0 = ret; exit */
        const struct bpf_insn insns[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
                { .code = BPF_JMP | BPF_EXIT },
        };
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach);

        return bpf_prog_load(type, "fuzz", "GPL", insns, 2, &opts);
}

static int make_link(int prog, int ns, enum bpf_attach_type attach) {
        return bpf_link_create(prog, ns, attach, NULL);
}

/* A link that outlives its netns: made in a netns we enter and leave. */
static int make_defunct_link(void) {
        int fd, self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), other;

        if (self < 0 || unshare(CLONE_NEWNET) < 0)
                return -errno;
        other = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        fd = make_link(prog_sk, other, BPF_SK_LOOKUP);
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        close(other);
        close(self);
        return fd;
}

/* The live links are made again when a batch in the tree detached them. */
static void refresh_links(void) {
        static const struct { int obj; enum bpf_attach_type attach; } live[] = {
                { OBJ_SK_LOOKUP_A, BPF_SK_LOOKUP },
                { OBJ_SK_LOOKUP_B, BPF_SK_LOOKUP },
                { OBJ_FLOW, BPF_FLOW_DISSECTOR },
        };

        for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
                NlLinkInfo info;
                int *fd = &objs[live[i].obj];

                if (*fd >= 0 && nl_link_get_info(*fd, false, &info) == 0 && info.netns_ino != 0)
                        continue;
                *fd = safe_close(*fd);
                *fd = make_link(live[i].attach == BPF_SK_LOOKUP ? prog_sk : prog_flow, netns_fd, live[i].attach);
        }
}

static int setup(void) {
        NlError e = {};
        int r;

        r = fuzz_private_mount("bpf", bpffs, sizeof(bpffs));
        if (r < 0)
                return r;
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        snprintf(root, sizeof(root), "%s/root", bpffs);
        netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0)
                return -errno;
        r = nl_netns_ino("/proc/self/ns/net", &netns_ino, &e);
        if (r < 0)
                return r;
        prog_sk = load_prog(BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, 1 /* SK_PASS */);
        prog_flow = load_prog(BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, 0 /* BPF_OK */);
        if (prog_sk < 0 || prog_flow < 0)
                return prog_sk < 0 ? prog_sk : prog_flow;
        objs[OBJ_DEFUNCT] = make_defunct_link();
        objs[OBJ_MAP] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fuzz", 4, 4, 1, NULL);
        objs[OBJ_PROG] = prog_sk;
        refresh_links();
        for (int i = 0; i < _OBJ_MAX; i++)
                if (objs[i] < 0)
                        return objs[i];
        return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int r = setup();

        if (r < 0)
                fuzz_skip_note("fuzz-pin-tree", "cannot set up a private bpffs, netns and links", -r, true);
        else
                ready = true;
        return 0;
}

/* "a/@/b" -> "<root>/a/<ino>/b"; false for paths that could leave root. */
static bool make_path(const char *rel, char *out, size_t size) {
        char copy[1024];
        size_t n;

        if (!*rel || rel[0] == '/' || strlen(rel) >= sizeof(copy))
                return false;
        snprintf(copy, sizeof(copy), "%s", rel);
        n = (size_t) snprintf(out, size, "%s", root);
        for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0)
                        return false;
                if (strcmp(c, "@") == 0)
                        n += (size_t) snprintf(out + n, n < size ? size - n : 0, "/%llu",
                                               (unsigned long long) netns_ino);
                else
                        n += (size_t) snprintf(out + n, n < size ? size - n : 0, "/%s", c);
                if (n >= size)
                        return false;
        }
        return true;
}

/* A batch journal of up to 4 entries, most naming our links by their ids,
 * pinned at path: what a crash in the middle of a batch leaves. */
static void pin_journal(FuzzInput *in, const char *path) {
        static const int live[] = { OBJ_SK_LOOKUP_A, OBJ_SK_LOOKUP_B, OBJ_FLOW, OBJ_DEFUNCT };
        uint32_t n = fuzz_take_u8(in) % 4 + 1;
        int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nl_batch", sizeof(uint32_t), sizeof(JournalEntry), n, NULL);

        if (fd < 0)
                return;
        for (uint32_t k = 0; k < n; k++) {
                uint8_t pick = fuzz_take_u8(in);
                char *name = fuzz_take_string(in);
                JournalEntry je = { .ino = netns_ino, .type = pick & 1, .link_id = pick };
                NlLinkInfo info;

                if (pick < 128 && nl_link_get_info(objs[live[pick % 4]], false, &info) == 0) {
                        je.link_id = info.link_id;
                        je.type = info.attach_type;
                }
                if (pick & 2)
                        je.ino = fuzz_take_u16(in);
                snprintf(je.name, sizeof(je.name), "%s", name);
                (void) bpf_map_update_elem(fd, &k, &je, BPF_ANY);
                free(name);
        }
        (void) bpf_obj_pin(fd, path);
        close(fd);
}

static bool target_ok(const char *t) {
        return *t && t[0] != '/' && !strstr(t, "..");
}

static void build(FuzzInput *in) {
        for (int i = 0; i < MAX_OPS && in->n > 0; i++) {
                uint8_t op = fuzz_take_u8(in);
                char *rel = fuzz_take_string(in), *target = NULL;
                char path[4096];
                bool ok = make_path(rel, path, sizeof(path));

                switch (op % 9) {
                case 0:
                        if (ok)
                                (void) mkdir(path, 0700);
                        break;
                case 1 ... 6:
                        if (ok)
                                (void) bpf_obj_pin(objs[(op % 9) - 1], path);
                        break;
                case 7:
                        target = fuzz_take_string(in);
                        if (ok && target_ok(target))
                                (void) symlink(target, path);
                        break;
                case 8:
                        if (ok)
                                pin_journal(in, path);
                        break;
                }
                free(rel);
                free(target);
        }
}

static int scan_cb(NlPinEntry *entry, void *userdata, NlError *e) {
        unsigned *n = userdata;

        FUZZ_CHECK(entry->path && strncmp(entry->path, root, strlen(root)) == 0);
        FUZZ_CHECK(entry->type >= 0 && entry->type < _NL_ATTACH_MAX);
        FUZZ_CHECK(entry->ino > 0);
        switch (entry->state) {
        case NL_PIN_OK:
                FUZZ_CHECK(entry->link_fd >= 0);
                FUZZ_CHECK(nl_link_name_is_valid(entry->name));
                FUZZ_CHECK(entry->info.netns_ino == entry->ino && entry->info.attach_type == entry->type);
                break;
        case NL_PIN_DEFUNCT:
                FUZZ_CHECK(entry->link_fd >= 0);
                FUZZ_CHECK(nl_link_name_is_valid(entry->name));
                break;
        case NL_PIN_BAD:
                FUZZ_CHECK(entry->reason[0] != 0);
                break;
        default:
                FUZZ_CHECK(!"unknown pin state");
        }
        /* The daemon keeps some fds: the callback may take it. */
        if (entry->link_fd >= 0 && (*n)++ % 2)
                entry->link_fd = safe_close(entry->link_fd);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        NlPinStore *s = NULL;
        NlError e = {};
        unsigned n = 0;
        int r;

        if (!ready)
                return 0;
        refresh_links();
        r = nl_pin_store_open(root, &s, &e);
        if (r < 0) {
                fprintf(stderr, "fuzz-pin-tree: %s\n", e.message);
                abort();
        }
        build(&in);

        r = nl_pin_store_recover(s);
        FUZZ_CHECK(r >= 0);
        r = nl_pin_store_scan(s, scan_cb, &n, &e);
        FUZZ_CHECK(r >= 0);

        nl_pin_store_free(s);
        FUZZ_CHECK(nl_pin_rm_rf(root) == 0);
        FUZZ_CHECK(access(root, F_OK) < 0 && errno == ENOENT);
        return 0;
}
