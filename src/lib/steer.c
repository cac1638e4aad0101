/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "hashmap.h"
#include "map-pins.h"
#include "names.h"
#include "socket-check.h"
#include "steer.h"

/* ---- input ------------------------------------------------------------ */

int nl_steer_protocol_parse(const char *s, uint8_t *ret, NlError *e) {
        char buf[40];

        if (s && strcmp(s, "tcp") == 0)
                *ret = IPPROTO_TCP;
        else if (s && strcmp(s, "udp") == 0)
                *ret = IPPROTO_UDP;
        else
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid protocol '%s': expected tcp or udp",
                                    nl_printable(s, buf, sizeof(buf)));
        return 0;
}

const char *nl_steer_protocol_to_string(uint8_t protocol) {
        return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "?";
}

static unsigned addr_bytes(uint8_t family) {
        return family == AF_INET ? 4 : 16;
}

static bool host_bits_zero(const uint8_t *addr, unsigned nbytes, unsigned len) {
        for (unsigned bit = len; bit < nbytes * 8; bit++)
                if (addr[bit / 8] & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

int nl_steer_prefix_parse(const char *s, uint8_t *ret_family, uint8_t ret_addr[16],
                          uint8_t *ret_prefixlen, NlError *e) {
        char buf[80], buf2[80], host[INET6_ADDRSTRLEN + 1];
        uint8_t addr[16] = {};
        const char *slash, *p;
        unsigned len = 0, max;
        uint8_t family;

        if (!s || !(slash = strchr(s, '/')) || (size_t) (slash - s) >= sizeof(host) || !slash[1] ||
            strlen(slash + 1) > 3)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': expected ADDRESS/LENGTH, as 10.0.0.0/8 or 2001:db8::/32",
                                    nl_printable(s, buf, sizeof(buf)));
        memcpy(host, s, slash - s);
        host[slash - s] = 0;
        if (inet_pton(AF_INET, host, addr) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, host, addr) == 1)
                family = AF_INET6;
        else
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': '%s' is not an IPv4 or IPv6 address",
                                    nl_printable(s, buf, sizeof(buf)), nl_printable(host, buf2, sizeof(buf2)));
        for (p = slash + 1; *p; p++) {
                if (*p < '0' || *p > '9')
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid prefix '%s': the length is not a number",
                                            nl_printable(s, buf, sizeof(buf)));
                len = len * 10 + (unsigned) (*p - '0');
        }
        max = addr_bytes(family) * 8;
        if (len > max)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': an %s prefix is at most /%u",
                                    nl_printable(s, buf, sizeof(buf)), family == AF_INET ? "IPv4" : "IPv6", max);
        if (!host_bits_zero(addr, addr_bytes(family), len))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': bits are set past the /%u",
                                    nl_printable(s, buf, sizeof(buf)), len);
        *ret_family = family;
        memcpy(ret_addr, addr, 16);
        *ret_prefixlen = (uint8_t) len;
        return 0;
}

int nl_steer_port_parse(const char *s, uint16_t *ret, NlError *e) {
        unsigned long v = 0;
        char buf[40];

        if (!s || !*s || strlen(s) > 5)
                goto bad;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        goto bad;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        if (v > 65535)
                goto bad;
        *ret = (uint16_t) v;
        return 0;
bad:
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid port '%s': expected 0 (every port) to 65535",
                            nl_printable(s, buf, sizeof(buf)));
}

bool nl_steer_label_is_valid(const char *label) {
        size_t n;

        if (!label)
                return false;
        n = strlen(label);
        if (n < 1 || n > NL_STEER_LABEL_MAX)
                return false;
        return strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int nl_steer_label_check(const char *label, NlError *e) {
        char buf[80];

        if (nl_steer_label_is_valid(label))
                return 0;
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid label '%s': expected 1 to %d characters of [A-Za-z0-9_.-]",
                            nl_printable(label, buf, sizeof(buf)), NL_STEER_LABEL_MAX);
}

int nl_steer_binding_parse(const char *protocol, const char *prefix, uint16_t port,
                           const char *label, NlSteerBinding *ret, NlError *e) {
        NlSteerBinding b = { .port = port };
        int r;

        r = nl_steer_protocol_parse(protocol, &b.protocol, e);
        if (r < 0)
                return r;
        r = nl_steer_prefix_parse(prefix, &b.family, b.addr, &b.prefixlen, e);
        if (r < 0)
                return r;
        if (label) {
                r = nl_steer_label_check(label, e);
                if (r < 0)
                        return r;
                strcpy(b.label, label);
        }
        *ret = b;
        return 0;
}

const char *nl_steer_prefix_to_string(const NlSteerBinding *b, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(b->family, b->addr, a, sizeof(a)))
                snprintf(a, sizeof(a), "?");
        snprintf(buf, size, "%s/%u", a, b->prefixlen);
        return buf;
}

/* Checks a binding built by hand rather than parsed. */
static int binding_check(const NlSteerBinding *b, bool want_label, NlError *e) {
        char buf[80];

        if (b->protocol != IPPROTO_TCP && b->protocol != IPPROTO_UDP)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid protocol %u: expected tcp or udp",
                                    b->protocol);
        if (b->family != AF_INET && b->family != AF_INET6)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EAFNOSUPPORT, "Invalid address family %u", b->family);
        if (b->prefixlen > addr_bytes(b->family) * 8)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid prefix length /%u", b->prefixlen);
        if (!host_bits_zero(b->addr, addr_bytes(b->family), b->prefixlen))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid prefix %s: bits are set past the /%u",
                                    nl_steer_prefix_to_string(b, buf, sizeof(buf)), b->prefixlen);
        if (want_label)
                return nl_steer_label_check(b->label, e);
        return 0;
}

/* ---- maps -------------------------------------------------------------- */

struct NlSteer {
        int cfg, regions4, regions6, portlens, prefixes, ports, sockets, dest_stats, dests, dest_ids;
        /* No destination id below this is free (a hint: ids are taken in
         * order, so a search for a free one starts where the last ended
         * rather than at 1, which made adding n labels cost n^2 reads). */
        uint32_t free_hint;
};

static const struct {
        const char *name;
        size_t offset;
        enum bpf_map_type type;
        uint32_t value_size;
} steer_maps[] = {
        { "steer_cfg",  offsetof(NlSteer, cfg),        BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_config) },
        { "regions4",   offsetof(NlSteer, regions4),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_region4) },
        { "regions6",   offsetof(NlSteer, regions6),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_region6) },
        { "portlens",   offsetof(NlSteer, portlens),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_portlens) },
        { "prefixes",   offsetof(NlSteer, prefixes),   BPF_MAP_TYPE_HASH,         sizeof(struct steer_prefix) },
        { "ports",      offsetof(NlSteer, ports),      BPF_MAP_TYPE_HASH,         sizeof(struct steer_port) },
        { "sockets",    offsetof(NlSteer, sockets),    BPF_MAP_TYPE_SOCKMAP,      sizeof(uint64_t) },
        { "dest_stats", offsetof(NlSteer, dest_stats), BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct steer_dest_stats) },
        { "dests",      offsetof(NlSteer, dests),      BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_dest) },
        { "dest_ids",   offsetof(NlSteer, dest_ids),   BPF_MAP_TYPE_HASH,         sizeof(uint32_t) },
};

NlSteer *nl_steer_close(NlSteer *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++)
                safe_close(*(int *) ((char *) s + steer_maps[i].offset));
        free(s);
        return NULL;
}

int nl_steer_open(const char *map_dir, NlSteer **ret, NlError *e) {
        _cleanup_(nl_steer_closep) NlSteer *s = NULL;
        struct stat st;

        if (stat(map_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return nl_error_set(e, NL_ERR_NO_SUCH_LINK, -ENOENT, "No steer map folder %s", map_dir);
        s = malloc(sizeof(*s));
        if (!s)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++)
                *(int *) ((char *) s + steer_maps[i].offset) = -EBADF;
        s->free_hint = 1;

        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++) {
                struct bpf_map_info info;
                char path[4096];
                int fd;

                fd = nl_map_open_pinned(map_dir, steer_maps[i].name, &info, path, sizeof(path));
                if (fd < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, fd, "Not a steer link: cannot open map %s: %m", path);
                *(int *) ((char *) s + steer_maps[i].offset) = fd;
                if (info.type != steer_maps[i].type || info.value_size != steer_maps[i].value_size)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EMEDIUMTYPE,
                                            "Not a steer link: map %s has another layout", path);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int cfg_get(NlSteer *s, struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_lookup_elem(s->cfg, &zero, c);
}

static int cfg_put(NlSteer *s, const struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_update_elem(s->cfg, &zero, c, BPF_ANY);
}

/* The kernel waits for every running BPF program to finish after an update
 * of a map-in-map (maybe_wait_bpf_programs), so after this no lookup is
 * still reading a generation that was switched away from. */
static int wait_for_lookups(void) {
        _cleanup_close_ int inner = -EBADF, outer = -EBADF;
        uint32_t zero = 0, v;

        inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
        if (inner < 0)
                return inner;
        LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
        outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 1, &o);
        if (outer < 0)
                return outer;
        v = (uint32_t) inner;
        return bpf_map_update_elem(outer, &zero, &v, BPF_ANY);
}

/* Every entry of a map, in one batch syscall per few thousand entries. */
typedef struct MapDump {
        void *keys, *values;
        size_t n;
} MapDump;

static void map_dump_done(MapDump *d) {
        free(d->keys);
        free(d->values);
        *d = (MapDump) {};
}

static int map_dump_grow(MapDump *d, size_t cap, size_t ksz, size_t vsz) {
        void *k, *v;

        k = realloc(d->keys, cap * ksz);
        if (!k)
                return -ENOMEM;
        d->keys = k;
        v = realloc(d->values, cap * vsz);
        if (!v)
                return -ENOMEM;
        d->values = v;
        return 0;
}

static int map_dump(int fd, size_t ksz, size_t vsz, MapDump *d) {
        uint64_t in_batch = 0, out_batch = 0;
        size_t cap = 4096;
        bool first = true;
        int r;

        *d = (MapDump) {};
        r = map_dump_grow(d, cap, ksz, vsz);
        while (r >= 0) {
                uint32_t count;

                if (cap - d->n < 1024) {
                        cap *= 2;
                        r = map_dump_grow(d, cap, ksz, vsz);
                        if (r < 0)
                                break;
                }
                count = (uint32_t) (cap - d->n);
                r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
                                         (char *) d->keys + d->n * ksz, (char *) d->values + d->n * vsz,
                                         &count, NULL);
                if (r < 0 && r != -ENOENT && r != -ENOSPC)
                        break;
                d->n += count;
                if (r == -ENOENT)
                        return 0;
                if (r == -ENOSPC && count == 0) {
                        /* One hash bucket holds more than the room left. */
                        cap *= 2;
                        r = map_dump_grow(d, cap, ksz, vsz);
                        continue;
                }
                in_batch = out_batch;
                first = false;
                r = 0;
        }
        map_dump_done(d);
        return r;
}

static int map_update_many(int fd, const void *keys, const void *values, size_t n) {
        uint32_t count = (uint32_t) n;

        if (n == 0)
                return 0;
        return bpf_map_update_batch(fd, keys, values, &count, NULL);
}

/* Deletes every key that is there. The kernel's batch delete stops at the
 * first key that is not (count says where): the rest is deleted past it. */
static int map_delete_many(int fd, const void *keys, size_t ksz, size_t n) {
        size_t done = 0;

        while (done < n) {
                uint32_t count = (uint32_t) (n - done);
                int r = bpf_map_delete_batch(fd, (const char *) keys + done * ksz, &count, NULL);

                if (r != -ENOENT)
                        return r < 0 ? r : 0;
                done += (size_t) count + 1;
        }
        return 0;
}

/* ---- keys ------------------------------------------------------------- */

static uint8_t abi_family(uint8_t family) {
        return family == AF_INET ? STEER_FAMILY_V4 : STEER_FAMILY_V6;
}

static uint8_t af_from_abi(uint8_t f) {
        return f == STEER_FAMILY_V4 ? AF_INET : AF_INET6;
}

static void prefix_key(const NlSteerBinding *b, uint8_t gen, struct steer_prefix_key *k) {
        memset(k, 0, sizeof(*k));
        k->gen = gen;
        k->protocol = b->protocol;
        k->family = abi_family(b->family);
        k->len = b->prefixlen;
        memcpy(k->addr, b->addr, addr_bytes(b->family));
}

static void binding_from_key(const struct steer_prefix_key *k, NlSteerBinding *b) {
        memset(b, 0, sizeof(*b));
        b->protocol = k->protocol;
        b->family = af_from_abi(k->family);
        b->prefixlen = k->len;
        memcpy(b->addr, k->addr, 16);
}

/* Order of listings and of SetBindings' merge: a prefix's ports adjacent. */
static int binding_cmp(const void *x, const void *y) {
        const NlSteerBinding *a = x, *b = y;
        int c;

        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        c = memcmp(a->addr, b->addr, 16);
        if (c)
                return c;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        if (a->port != b->port)
                return a->port < b->port ? -1 : 1;
        return 0;
}

/* ---- destinations ----------------------------------------------------- */

static void dest_key(const char *label, uint8_t protocol, uint8_t abi_fam, struct steer_dest_key *k) {
        memset(k, 0, sizeof(*k));
        snprintf(k->label, sizeof(k->label), "%s", label);
        k->protocol = protocol;
        k->family = abi_fam;
}

static int dest_find(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam) {
        struct steer_dest_key k;
        uint32_t id;

        dest_key(label, protocol, abi_fam, &k);
        if (bpf_map_lookup_elem(s->dest_ids, &k, &id) < 0)
                return -ENOENT;
        return (int) id;
}

static int dests_load(NlSteer *s, struct steer_dest *d) {
        _cleanup_free_ uint32_t *keys = malloc(STEER_MAX_DESTS * sizeof(uint32_t));
        uint32_t out = 0, count = STEER_MAX_DESTS;
        int r;

        if (!keys)
                return -ENOMEM;
        r = bpf_map_lookup_batch(s->dests, NULL, &out, keys, d, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        return count == STEER_MAX_DESTS ? 0 : -EIO;
}

static int dest_zero_stats(NlSteer *s, uint32_t id) {
        int ncpu = libbpf_num_possible_cpus();
        _cleanup_free_ struct steer_dest_stats *z = NULL;

        if (ncpu < 0)
                return ncpu;
        z = calloc((size_t) ncpu, sizeof(*z));
        if (!z)
                return -ENOMEM;
        return bpf_map_update_elem(s->dest_stats, &id, z, BPF_ANY);
}

/* Finds or makes the destination (label, protocol, family). */
static int dest_get(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam, NlError *e) {
        struct steer_dest d = {};
        struct steer_dest_key k;
        uint32_t id;
        int r;

        r = dest_find(s, label, protocol, abi_fam);
        if (r >= 0)
                return r;
        /* From the hint on, then (another NlSteer of the same maps may have
         * freed one below it) from 1: a full table is still found full. */
        for (uint32_t n = 0; n < STEER_MAX_DESTS - 1; n++) {
                id = 1 + (s->free_hint - 1 + n) % (STEER_MAX_DESTS - 1);
                r = bpf_map_lookup_elem(s->dests, &id, &d);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
                if (!d.in_use)
                        break;
                id = STEER_MAX_DESTS;
        }
        if (id < STEER_MAX_DESTS)
                s->free_hint = id;
        if (id >= STEER_MAX_DESTS)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOSPC,
                                    "Too many destinations (labels x protocols x families): at most %d",
                                    STEER_MAX_DESTS - 1);
        memset(&d, 0, sizeof(d));
        snprintf(d.label, sizeof(d.label), "%s", label);
        d.protocol = protocol;
        d.family = abi_fam;
        d.in_use = 1;
        r = dest_zero_stats(s, id);
        if (r >= 0)
                r = bpf_map_update_elem(s->dests, &id, &d, BPF_ANY);
        dest_key(label, protocol, abi_fam, &k);
        if (r >= 0)
                r = bpf_map_update_elem(s->dest_ids, &k, &id, BPF_NOEXIST);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record destination '%s': %m", label);
        return (int) id;
}

static bool dest_has_socket(NlSteer *s, uint32_t id) {
        uint64_t cookie;

        return bpf_map_lookup_elem(s->sockets, &id, &cookie) == 0;
}

/* Forgets a destination nothing points at; its id may be handed out again
 * by a later call, long after any lookup that read it has finished. */
static int dest_release_if_unused(NlSteer *s, uint32_t id, const struct steer_dest *d) {
        struct steer_dest z = {};
        struct steer_dest_key k;

        if (d->refs > 0 || dest_has_socket(s, id))
                return 0;
        dest_key(d->label, d->protocol, d->family, &k);
        (void) bpf_map_delete_elem(s->dest_ids, &k);
        if (id < s->free_hint)
                s->free_hint = id;
        return bpf_map_update_elem(s->dests, &id, &z, BPF_ANY);
}

static int dest_release(NlSteer *s, uint32_t id) {
        struct steer_dest d;
        int r = bpf_map_lookup_elem(s->dests, &id, &d);

        return r < 0 ? r : dest_release_if_unused(s, id, &d);
}

static int dest_ref(NlSteer *s, uint32_t id, int delta) {
        struct steer_dest d;
        int r;

        r = bpf_map_lookup_elem(s->dests, &id, &d);
        if (r < 0)
                return r;
        if (delta < 0 && d.refs < (uint32_t) -delta)
                d.refs = 0;
        else
                d.refs += (uint32_t) delta;
        r = bpf_map_update_elem(s->dests, &id, &d, BPF_ANY);
        if (r < 0)
                return r;
        return delta < 0 ? dest_release_if_unused(s, id, &d) : 0;
}

/* ---- regions ----------------------------------------------------------- */

static void region_range(const uint8_t *addr, uint8_t len, uint32_t *first, uint32_t *count) {
        uint32_t top = ((uint32_t) addr[0] << 8) | addr[1];

        if (len >= STEER_REGION_BITS) {
                *first = top;
                *count = 1;
        } else {
                *count = 1U << (STEER_REGION_BITS - len);
                *first = top & ~(*count - 1);
        }
}

static void portlens_set(struct steer_portlens *v, const NlSteerBinding *b) {
        if (b->family == AF_INET)
                v->v4 |= 1ULL << b->prefixlen;
        else
                v->v6[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
}

static int portlens_mark(NlSteer *s, const NlSteerBinding *b) {
        struct steer_portlens v, old;
        uint32_t port = b->port;
        int q;

        q = bpf_map_lookup_elem(s->portlens, &port, &v);
        if (q < 0)
                return q;
        old = v;
        portlens_set(&v, b);
        if (memcmp(&v, &old, sizeof(v)) == 0)
                return 0;
        return bpf_map_update_elem(s->portlens, &port, &v, BPF_ANY);
}

static int regions_mark(NlSteer *s, const NlSteerBinding *b) {
        uint32_t first, count;

        region_range(b->addr, b->prefixlen, &first, &count);
        for (uint32_t r = first; r < first + count; r++) {
                int q;

                if (b->family == AF_INET) {
                        struct steer_region4 v;

                        q = bpf_map_lookup_elem(s->regions4, &r, &v);
                        if (q < 0)
                                return q;
                        if (v.lens & (1ULL << b->prefixlen))
                                continue;
                        v.lens |= 1ULL << b->prefixlen;
                        q = bpf_map_update_elem(s->regions4, &r, &v, BPF_ANY);
                } else {
                        struct steer_region6 v;

                        q = bpf_map_lookup_elem(s->regions6, &r, &v);
                        if (q < 0)
                                return q;
                        if (v.lens[b->prefixlen / 64] & (1ULL << (b->prefixlen % 64)))
                                continue;
                        v.lens[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
                        q = bpf_map_update_elem(s->regions6, &r, &v, BPF_ANY);
                }
                if (q < 0)
                        return q;
        }
        return portlens_mark(s, b);
}

/* The regions and the port masks: written together, read together. */
typedef struct Regions {
        struct steer_region4 *v4;
        struct steer_region6 *v6;
        struct steer_portlens *pl;
        uint32_t *keys;
} Regions;

static void regions_done(Regions *g) {
        free(g->v4);
        free(g->v6);
        free(g->pl);
        free(g->keys);
}

_Static_assert(STEER_PORTS == STEER_REGIONS, "regions and ports share one key array");

static int regions_alloc(Regions *g) {
        g->v4 = calloc(STEER_REGIONS, sizeof(*g->v4));
        g->v6 = calloc(STEER_REGIONS, sizeof(*g->v6));
        g->pl = calloc(STEER_PORTS, sizeof(*g->pl));
        g->keys = malloc(STEER_REGIONS * sizeof(uint32_t));
        if (!g->v4 || !g->v6 || !g->pl || !g->keys)
                return -ENOMEM;
        for (uint32_t i = 0; i < STEER_REGIONS; i++)
                g->keys[i] = i;
        return 0;
}

static void regions_add(Regions *g, const NlSteerBinding *b) {
        uint32_t first, count;

        region_range(b->addr, b->prefixlen, &first, &count);
        for (uint32_t r = first; r < first + count; r++)
                if (b->family == AF_INET)
                        g->v4[r].lens |= 1ULL << b->prefixlen;
                else
                        g->v6[r].lens[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
        portlens_set(&g->pl[b->port], b);
}

static int regions_read(NlSteer *s, Regions *g) {
        uint64_t in = 0, out = 0;
        uint32_t count = STEER_REGIONS;
        int r;

        r = bpf_map_lookup_batch(s->regions4, NULL, &out, g->keys, g->v4, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        count = STEER_REGIONS;
        r = bpf_map_lookup_batch(s->regions6, NULL, &in, g->keys, g->v6, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        in = 0;
        count = STEER_PORTS;
        r = bpf_map_lookup_batch(s->portlens, NULL, &in, g->keys, g->pl, &count, NULL);
        return r < 0 && r != -ENOENT ? r : 0;
}

static int regions_write(NlSteer *s, const Regions *g) {
        int r = map_update_many(s->regions4, g->keys, g->v4, STEER_REGIONS);
        if (r < 0)
                return r;
        r = map_update_many(s->regions6, g->keys, g->v6, STEER_REGIONS);
        if (r < 0)
                return r;
        return map_update_many(s->portlens, g->keys, g->pl, STEER_PORTS);
}

/* The regions of exactly the bindings b (g: allocated, any content). */
static int regions_rewrite(NlSteer *s, Regions *g, const NlSteerBinding *b, size_t n) {
        memset(g->v4, 0, STEER_REGIONS * sizeof(*g->v4));
        memset(g->v6, 0, STEER_REGIONS * sizeof(*g->v6));
        memset(g->pl, 0, STEER_PORTS * sizeof(*g->pl));
        for (size_t i = 0; i < n; i++)
                regions_add(g, &b[i]);
        return regions_write(s, g);
}

/* ---- one prefix entry ------------------------------------------------- */

enum { AT_NONE, AT_WILD, AT_SLOT, AT_OVERFLOW };

typedef struct PortAt {
        int at;
        int slot;
        uint16_t dest;
} PortAt;

static PortAt prefix_find_port(NlSteer *s, const struct steer_prefix *p, uint16_t port) {
        if (port == 0)
                return p->wild_dest ? (PortAt) { AT_WILD, 0, p->wild_dest } : (PortAt) { AT_NONE, 0, 0 };
        for (int i = 0; i < p->nslots && i < STEER_SLOTS; i++)
                if (p->slot[i].port == port)
                        return (PortAt) { AT_SLOT, i, p->slot[i].dest };
        if (p->noverflow) {
                struct steer_port_key k = { p->id, port };
                struct steer_port v;

                if (bpf_map_lookup_elem(s->ports, &k, &v) == 0)
                        return (PortAt) { AT_OVERFLOW, 0, v.dest };
        }
        return (PortAt) { AT_NONE, 0, 0 };
}

static bool prefix_is_empty(const struct steer_prefix *p) {
        return p->nslots == 0 && p->noverflow == 0 && p->wild_dest == 0;
}

/* Puts (port -> dest) into the entry p (written back by the caller); an
 * overflow entry is written here, before the prefix that leads to it. */
static int prefix_put_port(NlSteer *s, struct steer_prefix *p, PortAt at, uint16_t port, uint16_t dest) {
        struct steer_port_key k = { p->id, port };
        struct steer_port v = { .dest = dest };
        int r;

        if (port == 0) {
                p->wild_dest = dest;
                return 0;
        }
        switch (at.at) {
        case AT_SLOT:
                p->slot[at.slot].dest = dest;
                return 0;
        case AT_OVERFLOW:
                r = bpf_map_lookup_elem(s->ports, &k, &v);
                v.dest = dest;
                return r < 0 ? r : bpf_map_update_elem(s->ports, &k, &v, BPF_EXIST);
        }
        if (p->nslots < STEER_SLOTS) {
                p->slot[p->nslots] = (struct steer_slot) { .port = port, .dest = dest };
                p->nslots++;
                return 0;
        }
        r = bpf_map_update_elem(s->ports, &k, &v, BPF_ANY);
        if (r < 0)
                return r;
        p->noverflow++;
        return 0;
}

/* ---- bindings ----------------------------------------------------------- */

/* The maps refused an entry: full (E2BIG), or the kernel is out of memory
 * for a map that allocates as it goes. In words, not as "Argument list
 * too long". what: printf-style, what could not be done. */
_printf_(3, 4) static int maps_full(NlError *e, int r, const char *what, ...) {
        char buf[128];
        va_list ap;

        va_start(ap, what);
        vsnprintf(buf, sizeof(buf), what, ap);
        va_end(ap);
        if (r == -E2BIG)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, r,
                                    "Too many bindings: cannot %s, the link's maps are full (at most %u distinct "
                                    "prefixes and %u ports beyond the %u each prefix keeps)",
                                    buf, STEER_MAX_PREFIXES, STEER_MAX_OVERFLOW, STEER_SLOTS);
        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot %s: the kernel is out of memory for its maps", buf);
}

static int binding_describe_fail(NlError *e, int r, const NlSteerBinding *b, const char *what) {
        char pfx[64];

        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot %s %s %s port %u: %m", what,
                            nl_steer_protocol_to_string(b->protocol),
                            nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
}

/* Checks b, reads the configuration and gives b's prefix key in the
 * current generation: how adding and removing a binding start. */
static int binding_key(NlSteer *s, const NlSteerBinding *b, bool want_label, struct steer_config *c,
                       struct steer_prefix_key *k, NlError *e) {
        int r;

        r = binding_check(b, want_label, e);
        if (r < 0)
                return r;
        r = cfg_get(s, c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        prefix_key(b, (uint8_t) c->gen, k);
        return 0;
}

int nl_steer_add_binding(NlSteer *s, const NlSteerBinding *b, NlError *e) {
        struct steer_prefix p = {};
        struct steer_prefix_key k;
        struct steer_config c;
        bool exists;
        PortAt at = { AT_NONE, 0, 0 };
        int r, dest;

        r = binding_key(s, b, true, &c, &k, e);
        if (r < 0)
                return r;
        exists = bpf_map_lookup_elem(s->prefixes, &k, &p) == 0;
        if (exists)
                at = prefix_find_port(s, &p, b->port);

        dest = dest_get(s, b->label, b->protocol, abi_family(b->family), e);
        if (dest < 0)
                return dest;
        if (at.at != AT_NONE && at.dest == dest)
                return 0;

        r = regions_mark(s, b);
        if (r < 0)
                return binding_describe_fail(e, r, b, "mark regions for");
        if (!exists) {
                memset(&p, 0, sizeof(p));
                p.id = c.next_prefix_id++;
                r = cfg_put(s, &c);
                if (r < 0)
                        return binding_describe_fail(e, r, b, "allocate a prefix id for");
        }
        r = prefix_put_port(s, &p, at, b->port, (uint16_t) dest);
        if (r >= 0 && at.at != AT_OVERFLOW)
                r = bpf_map_update_elem(s->prefixes, &k, &p, BPF_ANY);
        if (r < 0) {
                (void) dest_release(s, (uint32_t) dest);
                if (r == -E2BIG || r == -ENOMEM) {
                        char pfx[64];
                        return maps_full(e, r, "add %s %s port %u", nl_steer_protocol_to_string(b->protocol),
                                         nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
                }
                return binding_describe_fail(e, r, b, "add");
        }
        (void) dest_ref(s, (uint32_t) dest, +1);
        if (at.at != AT_NONE)
                (void) dest_ref(s, at.dest, -1);
        return 1;
}

int nl_steer_remove_binding(NlSteer *s, const NlSteerBinding *b, NlError *e) {
        struct steer_prefix p;
        struct steer_prefix_key k;
        struct steer_config c;
        char pfx[64];
        PortAt at;
        int r;

        r = binding_key(s, b, false, &c, &k, e);
        if (r < 0)
                return r;
        if (bpf_map_lookup_elem(s->prefixes, &k, &p) < 0 ||
            (at = prefix_find_port(s, &p, b->port)).at == AT_NONE)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOENT, "No binding %s %s port %u",
                                    nl_steer_protocol_to_string(b->protocol),
                                    nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
        switch (at.at) {
        case AT_WILD:
                p.wild_dest = 0;
                p.wild_hits = 0;
                break;
        case AT_SLOT:
                memmove(&p.slot[at.slot], &p.slot[at.slot + 1],
                        (size_t) (p.nslots - at.slot - 1) * sizeof(p.slot[0]));
                p.nslots--;
                memset(&p.slot[p.nslots], 0, sizeof(p.slot[0]));
                break;
        case AT_OVERFLOW: {
                struct steer_port_key pk = { p.id, b->port };

                r = bpf_map_delete_elem(s->ports, &pk);
                if (r < 0)
                        return binding_describe_fail(e, r, b, "remove");
                p.noverflow--;
                break;
        }
        }
        if (prefix_is_empty(&p))
                r = bpf_map_delete_elem(s->prefixes, &k);
        else
                r = bpf_map_update_elem(s->prefixes, &k, &p, BPF_EXIST);
        if (r < 0)
                return binding_describe_fail(e, r, b, "remove");
        /* The prefix's regions keep their bit: a stale bit costs a probe,
         * never a wrong answer, and SetBindings recomputes them. */
        (void) dest_ref(s, at.dest, -1);
        return 0;
}

/* The bindings of one generation, with destination ids in .label unset;
 * dest_of[i] is binding i's destination. */
typedef struct BindingSet {
        NlSteerBinding *b;
        uint16_t *dest;
        size_t n, cap;
        /* What the generation is made of, for deleting it. */
        MapDump prefixes;   /* only this generation's entries */
        MapDump ports;      /* only the overflow entries of those */
} BindingSet;

static void binding_set_done(BindingSet *set) {
        free(set->b);
        free(set->dest);
        map_dump_done(&set->prefixes);
        map_dump_done(&set->ports);
        *set = (BindingSet) {};
}

static int binding_set_push(BindingSet *set, const NlSteerBinding *b, uint16_t dest) {
        if (set->n == set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 256;
                NlSteerBinding *nb = realloc(set->b, cap * sizeof(*nb));
                uint16_t *nd;

                if (!nb)
                        return -ENOMEM;
                set->b = nb;
                nd = realloc(set->dest, cap * sizeof(*nd));
                if (!nd)
                        return -ENOMEM;
                set->dest = nd;
                set->cap = cap;
        }
        set->b[set->n] = *b;
        set->dest[set->n] = dest;
        set->n++;
        return 0;
}

static int u32_cmp(const void *x, const void *y) {
        uint32_t a = *(const uint32_t *) x, b = *(const uint32_t *) y;
        return a < b ? -1 : a > b;
}

typedef struct IdIndex {
        uint32_t id;
        uint32_t idx;
} IdIndex;

/* Reads every binding of generation gen, sorted by binding_cmp. */
static int binding_set_read(NlSteer *s, uint8_t gen, BindingSet *set) {
        MapDump all = {}, ports = {};
        _cleanup_free_ IdIndex *ids = NULL;
        size_t nids = 0, keep = 0;
        int r;

        *set = (BindingSet) {};
        r = map_dump(s->prefixes, sizeof(struct steer_prefix_key), sizeof(struct steer_prefix), &all);
        if (r < 0)
                return r;
        /* Keep only gen's entries, in place. */
        for (size_t i = 0; i < all.n; i++) {
                struct steer_prefix_key *k = (struct steer_prefix_key *) all.keys + i;
                if (k->gen != gen)
                        continue;
                ((struct steer_prefix_key *) all.keys)[keep] = *k;
                ((struct steer_prefix *) all.values)[keep] = ((struct steer_prefix *) all.values)[i];
                keep++;
        }
        all.n = keep;
        set->prefixes = all;

        ids = malloc((all.n + 1) * sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < all.n; i++) {
                struct steer_prefix_key *k = (struct steer_prefix_key *) all.keys + i;
                struct steer_prefix *p = (struct steer_prefix *) all.values + i;
                NlSteerBinding b;

                binding_from_key(k, &b);
                if (p->wild_dest) {
                        b.port = 0;
                        b.hits = p->wild_hits;
                        r = binding_set_push(set, &b, p->wild_dest);
                        if (r < 0)
                                return r;
                }
                for (int j = 0; j < p->nslots && j < STEER_SLOTS; j++) {
                        b.port = p->slot[j].port;
                        b.hits = p->slot[j].hits;
                        r = binding_set_push(set, &b, p->slot[j].dest);
                        if (r < 0)
                                return r;
                }
                if (p->noverflow)
                        ids[nids++] = (IdIndex) { p->id, (uint32_t) i };
        }
        if (nids > 0) {
                size_t pkeep = 0;

                qsort(ids, nids, sizeof(*ids), u32_cmp);
                r = map_dump(s->ports, sizeof(struct steer_port_key), sizeof(struct steer_port), &ports);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ports.n; i++) {
                        struct steer_port_key *pk = (struct steer_port_key *) ports.keys + i;
                        struct steer_port *pv = (struct steer_port *) ports.values + i;
                        IdIndex *hit = bsearch(&pk->prefix_id, ids, nids, sizeof(*ids), u32_cmp);
                        NlSteerBinding b;

                        if (!hit)
                                continue;
                        binding_from_key((struct steer_prefix_key *) all.keys + hit->idx, &b);
                        b.port = (uint16_t) pk->port;
                        b.hits = pv->hits;
                        r = binding_set_push(set, &b, pv->dest);
                        if (r < 0)
                                return r;
                        ((struct steer_port_key *) ports.keys)[pkeep] = *pk;
                        ((struct steer_port *) ports.values)[pkeep] = *pv;
                        pkeep++;
                }
                ports.n = pkeep;
        }
        set->ports = ports;

        /* Sort bindings and their destinations together. */
        {
                _cleanup_free_ size_t *order = malloc((set->n + 1) * sizeof(size_t));
                _cleanup_free_ NlSteerBinding *sb = malloc((set->n + 1) * sizeof(NlSteerBinding));
                _cleanup_free_ uint16_t *sd = malloc((set->n + 1) * sizeof(uint16_t));

                if (!order || !sb || !sd)
                        return -ENOMEM;
                for (size_t i = 0; i < set->n; i++) {
                        sb[i] = set->b[i];
                        sb[i].hits = set->b[i].hits;
                        /* Carry the index in the label field while sorting. */
                        memcpy(sb[i].label, &i, sizeof(i));
                }
                qsort(sb, set->n, sizeof(*sb), binding_cmp);
                for (size_t i = 0; i < set->n; i++) {
                        size_t from;

                        memcpy(&from, sb[i].label, sizeof(from));
                        sd[i] = set->dest[from];
                        memset(sb[i].label, 0, sizeof(sb[i].label));
                }
                if (set->n > 0) {       /* memcpy of NULL is undefined even for 0 bytes */
                        memcpy(set->b, sb, set->n * sizeof(*sb));
                        memcpy(set->dest, sd, set->n * sizeof(*sd));
                }
        }
        return 0;
}

static int labels_fill(NlSteer *s, NlSteerBinding *b, const uint16_t *dest, size_t n) {
        _cleanup_free_ struct steer_dest *d = calloc(STEER_MAX_DESTS, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        r = dests_load(s, d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                snprintf(b[i].label, sizeof(b[i].label), "%s", dest[i] < STEER_MAX_DESTS ? d[dest[i]].label : "");
        return 0;
}

int nl_steer_list_bindings(NlSteer *s, NlSteerBinding **ret, size_t *ret_n, NlError *e) {
        BindingSet set;
        struct steer_config c;
        int r;

        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        r = binding_set_read(s, (uint8_t) c.gen, &set);
        if (r >= 0)
                r = labels_fill(s, set.b, set.dest, set.n);
        if (r < 0) {
                binding_set_done(&set);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot list bindings: %m");
        }
        *ret = TAKE_PTR(set.b);
        *ret_n = set.n;
        if (!*ret)
                *ret = calloc(1, sizeof(NlSteerBinding));
        binding_set_done(&set);
        return 0;
}

/* ---- SetBindings ------------------------------------------------------ */

static int binding_cmp_labelled(const void *x, const void *y) {
        int c = binding_cmp(x, y);
        return c ? c : strcmp(((const NlSteerBinding *) x)->label, ((const NlSteerBinding *) y)->label);
}

/*
 * The new set's destinations. Ids are planned in memory first, from one
 * read of the table: a set that needs more destinations than are free is
 * refused before anything is written, and the ones a call made are taken
 * back if it fails before the switch (nothing of a refused SetBindings
 * remains, not even its labels).
 */
typedef struct DestPlan {
        struct steer_dest *table;       /* every id, as read, plus the planned ones */
        uint32_t *made;                 /* ids this call makes */
        size_t n_made;
} DestPlan;

static void dest_plan_done(DestPlan *p) {
        free(p->table);
        free(p->made);
        *p = (DestPlan) {};
}

static void dest_plan_key(const char *label, uint8_t protocol, uint8_t abi_fam, char *buf, size_t size) {
        snprintf(buf, size, "%s/%u/%u", label, protocol, abi_fam);     /* labels have no '/' */
}

/* Fills dest[] with each binding's destination id, known or planned. */
static int dests_plan(NlSteer *s, const NlSteerBinding *b, size_t n, uint16_t *dest, DestPlan *p, NlError *e) {
        _cleanup_(hashmap_freep) Hashmap *ids = hashmap_new();
        char key[NL_STEER_LABEL_MAX + 16];
        uint32_t free_id = 1;
        int r;

        p->table = calloc(STEER_MAX_DESTS, sizeof(*p->table));
        p->made = calloc(STEER_MAX_DESTS, sizeof(*p->made));
        if (!ids || !p->table || !p->made)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = dests_load(s, p->table);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        for (uint32_t id = 1; id < STEER_MAX_DESTS; id++) {
                const struct steer_dest *d = &p->table[id];

                if (!d->in_use)
                        continue;
                dest_plan_key(d->label, d->protocol, d->family, key, sizeof(key));
                if (hashmap_put(ids, key, (void *) (uintptr_t) id) == -ENOMEM)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                uint8_t fam = abi_family(b[i].family);
                struct steer_dest *d;
                void *v;

                dest_plan_key(b[i].label, b[i].protocol, fam, key, sizeof(key));
                v = hashmap_get(ids, key);
                if (v) {
                        dest[i] = (uint16_t) (uintptr_t) v;
                        continue;
                }
                while (free_id < STEER_MAX_DESTS && p->table[free_id].in_use)
                        free_id++;
                if (free_id >= STEER_MAX_DESTS)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOSPC,
                                            "Too many destinations (labels x protocols x families): at most %d",
                                            STEER_MAX_DESTS - 1);
                d = &p->table[free_id];
                *d = (struct steer_dest) { .protocol = b[i].protocol, .family = fam, .in_use = 1 };
                snprintf(d->label, sizeof(d->label), "%s", b[i].label);
                if (hashmap_put(ids, key, (void *) (uintptr_t) free_id) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                p->made[p->n_made++] = free_id;
                dest[i] = (uint16_t) free_id;
        }
        return 0;
}

/* Takes back the destinations the plan made (or began to): nothing points
 * at them, as no binding of the live generation does. */
static void dests_unmake(NlSteer *s, const DestPlan *p) {
        for (size_t k = 0; k < p->n_made; k++) {
                const struct steer_dest *d = &p->table[p->made[k]];
                struct steer_dest z = {};
                struct steer_dest_key dk;
                uint32_t id = p->made[k];

                dest_key(d->label, d->protocol, d->family, &dk);
                (void) bpf_map_delete_elem(s->dest_ids, &dk);
                (void) bpf_map_update_elem(s->dests, &id, &z, BPF_ANY);
        }
}

static int dests_make(NlSteer *s, const DestPlan *p, NlError *e) {
        for (size_t k = 0; k < p->n_made; k++) {
                const struct steer_dest *d = &p->table[p->made[k]];
                struct steer_dest_key dk;
                uint32_t id = p->made[k];
                int r;

                dest_key(d->label, d->protocol, d->family, &dk);
                r = dest_zero_stats(s, id);
                if (r >= 0)
                        r = bpf_map_update_elem(s->dests, &id, d, BPF_ANY);
                if (r >= 0)
                        r = bpf_map_update_elem(s->dest_ids, &dk, &id, BPF_NOEXIST);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record destination '%s': %m", d->label);
        }
        return 0;
}

/* The entries of generation gen for the sorted, unique bindings b. */
typedef struct Built {
        struct steer_prefix_key *pk;
        struct steer_prefix *pv;
        size_t np;
        struct steer_port_key *ok;
        struct steer_port *ov;
        size_t no;
} Built;

static void built_done(Built *t) {
        free(t->pk);
        free(t->pv);
        free(t->ok);
        free(t->ov);
}

static int build_gen(const NlSteerBinding *b, const uint16_t *dest, size_t n, uint8_t gen,
                     uint32_t *next_id, Built *t) {
        *t = (Built) {};
        t->pk = calloc(n + 1, sizeof(*t->pk));
        t->pv = calloc(n + 1, sizeof(*t->pv));
        t->ok = calloc(n + 1, sizeof(*t->ok));
        t->ov = calloc(n + 1, sizeof(*t->ov));
        if (!t->pk || !t->pv || !t->ok || !t->ov)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct steer_prefix_key k;
                struct steer_prefix *p;

                prefix_key(&b[i], gen, &k);
                if (t->np == 0 || memcmp(&t->pk[t->np - 1], &k, sizeof(k)) != 0) {
                        t->pk[t->np] = k;
                        t->pv[t->np].id = (*next_id)++;
                        t->np++;
                }
                p = &t->pv[t->np - 1];
                if (b[i].port == 0) {
                        p->wild_dest = dest[i];
                        p->wild_hits = b[i].hits;
                } else if (p->nslots < STEER_SLOTS) {
                        p->slot[p->nslots++] = (struct steer_slot) {
                                .port = b[i].port, .dest = dest[i], .hits = b[i].hits };
                } else {
                        t->ok[t->no] = (struct steer_port_key) { p->id, b[i].port };
                        t->ov[t->no] = (struct steer_port) { .dest = dest[i], .hits = b[i].hits };
                        t->no++;
                        p->noverflow++;
                }
        }
        return 0;
}

/* Walks old and new (both sorted by binding_cmp) side by side: counts what
 * changed and carries the hit counters of bindings that stay. */
static void diff_sets(const BindingSet *old, NlSteerBinding *nb, const uint16_t *nd, size_t n,
                      unsigned *added, unsigned *removed) {
        size_t i = 0, j = 0;

        *added = *removed = 0;
        while (i < old->n || j < n) {
                int c = i >= old->n ? 1 : j >= n ? -1 : binding_cmp(&old->b[i], &nb[j]);

                if (c < 0) {
                        (*removed)++;
                        i++;
                } else if (c > 0) {
                        (*added)++;
                        j++;
                } else {
                        if (old->dest[i] == nd[j])
                                nb[j].hits = old->b[i].hits;
                        else {
                                (*added)++;
                                (*removed)++;
                        }
                        i++;
                        j++;
                }
        }
}

static int refs_recount(NlSteer *s, const uint16_t *dest, size_t n) {
        _cleanup_free_ struct steer_dest *d = calloc(STEER_MAX_DESTS, sizeof(*d));
        _cleanup_free_ uint32_t *refs = calloc(STEER_MAX_DESTS, sizeof(uint32_t));
        int r;

        if (!d || !refs)
                return -ENOMEM;
        r = dests_load(s, d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                refs[dest[i]]++;
        for (uint32_t id = 1; id < STEER_MAX_DESTS; id++) {
                if (!d[id].in_use)
                        continue;
                if (d[id].refs != refs[id]) {
                        d[id].refs = refs[id];
                        r = bpf_map_update_elem(s->dests, &id, &d[id], BPF_ANY);
                        if (r < 0)
                                return r;
                }
                r = dest_release_if_unused(s, id, &d[id]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The new set is written beside the live one and switched to: until the
 * old one is deleted, both take room in the maps. Refused before anything
 * is written, in the words of bindings, not of an errno. */
static int check_room(const BindingSet *old, const Built *t, size_t n, NlError *e) {
        if (old->prefixes.n + t->np > STEER_MAX_PREFIXES)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -E2BIG,
                                    "Too many bindings: %zu, over %zu distinct prefixes; at most %zu distinct "
                                    "prefixes fit beside the %zu of the set they replace (%u in all)",
                                    n, t->np, (size_t) STEER_MAX_PREFIXES - old->prefixes.n, old->prefixes.n,
                                    STEER_MAX_PREFIXES);
        if (old->ports.n + t->no > STEER_MAX_OVERFLOW)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -E2BIG,
                                    "Too many bindings: %zu, with %zu ports beyond the %u each prefix keeps; at most "
                                    "%zu such ports fit beside the %zu of the set they replace (%u in all)",
                                    n, t->no, STEER_SLOTS, (size_t) STEER_MAX_OVERFLOW - old->ports.n, old->ports.n,
                                    STEER_MAX_OVERFLOW);
        return 0;
}

int nl_steer_set_bindings(NlSteer *s, const NlSteerBinding *in, size_t n, NlSteerChanges *ret, NlError *e) {
        _cleanup_free_ NlSteerBinding *nb = NULL;
        _cleanup_free_ uint16_t *nd = NULL;
        BindingSet old = {}, stale = {};
        DestPlan plan = {};
        Regions g = {};
        Built t = {};
        struct steer_config c;
        unsigned added, removed;
        bool widened = false;
        size_t m = 0;
        uint8_t ng;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = binding_check(&in[i], true, e);
                if (r < 0)
                        return nl_error_prefix(e, r, "Binding %zu", i);
        }
        nb = malloc((n + 1) * sizeof(*nb));
        nd = calloc(n + 1, sizeof(*nd));
        if (!nb || !nd)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        /* An empty set may come as in == NULL (SetBindings with []). */
        if (n > 0)
                memcpy(nb, in, n * sizeof(*nb));
        qsort(nb, n, sizeof(*nb), binding_cmp_labelled);
        for (size_t i = 0; i < n; i++) {
                nb[i].hits = 0;
                if (m > 0 && binding_cmp(&nb[m - 1], &nb[i]) == 0) {
                        char pfx[64];

                        if (strcmp(nb[m - 1].label, nb[i].label) == 0)
                                continue;
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "%s %s port %u is bound twice, to '%s' and '%s'",
                                            nl_steer_protocol_to_string(nb[i].protocol),
                                            nl_steer_prefix_to_string(&nb[i], pfx, sizeof(pfx)), nb[i].port,
                                            nb[m - 1].label, nb[i].label);
                }
                nb[m++] = nb[i];
        }

        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        ng = (uint8_t) (c.gen ^ 1);

        /* A SetBindings that died half way left entries of ng: drop them. */
        r = binding_set_read(s, ng, &stale);
        if (r >= 0)
                r = map_delete_many(s->ports, stale.ports.keys, sizeof(struct steer_port_key), stale.ports.n);
        if (r >= 0)
                r = map_delete_many(s->prefixes, stale.prefixes.keys, sizeof(struct steer_prefix_key), stale.prefixes.n);
        binding_set_done(&stale);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear an unfinished SetBindings: %m");

        r = binding_set_read(s, (uint8_t) c.gen, &old);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the bindings: %m");
                goto finish;
        }
        /* Everything is planned and checked in memory first: a set that
         * does not fit is refused with nothing written. */
        r = dests_plan(s, nb, m, nd, &plan, e);
        if (r < 0)
                goto finish;
        diff_sets(&old, nb, nd, m, &added, &removed);
        r = build_gen(nb, nd, m, ng, &c.next_prefix_id, &t);
        if (r < 0 || (r = regions_alloc(&g)) < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                goto finish;
        }
        r = check_room(&old, &t, m, e);
        if (r < 0)
                goto finish;

        r = dests_make(s, &plan, e);
        if (r < 0)
                goto undo;
        /* Lookups still on the old generation need its lengths, the new
         * one needs its own: the union, until the switch is done. */
        r = regions_read(s, &g);
        if (r >= 0) {
                for (size_t i = 0; i < m; i++)
                        regions_add(&g, &nb[i]);
                widened = true;
                r = regions_write(s, &g);
        }
        if (r >= 0)
                r = map_update_many(s->ports, t.ok, t.ov, t.no);
        if (r >= 0)
                r = map_update_many(s->prefixes, t.pk, t.pv, t.np);
        if (r < 0) {
                r = maps_full(e, r, "write the %zu bindings", m);
                goto undo;
        }

        c.gen = ng;
        r = cfg_put(s, &c);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot switch to the new bindings: %m");
                goto undo;
        }
        r = wait_for_lookups();
        if (r < 0) {
                /* The old entries stay: better a leak than a lookup that
                 * sees half a set. The next SetBindings clears them. */
                r = nl_error_set(e, NL_ERR_FAILED, r, "Switched, but cannot wait for running lookups: %m");
                goto finish;
        }
        (void) map_delete_many(s->ports, old.ports.keys, sizeof(struct steer_port_key), old.ports.n);
        (void) map_delete_many(s->prefixes, old.prefixes.keys, sizeof(struct steer_prefix_key), old.prefixes.n);
        (void) regions_rewrite(s, &g, nb, m);
        r = refs_recount(s, nd, m);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Switched, but cannot count destination references: %m");
                goto finish;
        }
        if (ret)
                *ret = (NlSteerChanges) { .added = added, .removed = removed, .total = (unsigned) m };
        r = 0;
        goto finish;

undo:
        /* Nothing switched yet: lookups never saw any of it. Take it all
         * back: the half-written set, its region bits, its new labels. */
        (void) map_delete_many(s->ports, t.ok, sizeof(*t.ok), t.no);
        (void) map_delete_many(s->prefixes, t.pk, sizeof(*t.pk), t.np);
        if (widened)
                (void) regions_rewrite(s, &g, old.b, old.n);
        dests_unmake(s, &plan);
finish:
        binding_set_done(&old);
        built_done(&t);
        regions_done(&g);
        dest_plan_done(&plan);
        return r;
}

/* ---- sockets ----------------------------------------------------------- */

/* The socket must be one steering can deliver to (socket-check.h), in the
 * link's netns. */
static int socket_check(int fd, uint64_t netns_ino, NlSocketInfo *si, NlError *e) {
        int r = nl_socket_inspect(fd, si, e);

        if (r < 0)
                return r;
        if (si->netns_ino != netns_ino)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EXDEV,
                                    "The socket is in network namespace %llu, the link in %llu",
                                    (unsigned long long) si->netns_ino, (unsigned long long) netns_ino);
        return 0;
}

/* Which of the label's binding kinds exist: bit (protocol is UDP) * 2 + (family is 6). */
static int label_binding_kinds(NlSteer *s, const char *label, unsigned *ret) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
        static const uint8_t fams[] = { STEER_FAMILY_V4, STEER_FAMILY_V6 };

        *ret = 0;
        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 2; j++) {
                        struct steer_dest d;
                        int id = dest_find(s, label, protos[i], fams[j]);
                        uint32_t uid = (uint32_t) id;

                        if (id < 0)
                                continue;
                        if (bpf_map_lookup_elem(s->dests, &uid, &d) < 0)
                                return negative_errno();
                        if (d.refs > 0)
                                *ret |= 1U << (i * 2 + j);
                }
        return 0;
}

int nl_steer_register_socket(NlSteer *s, uint64_t netns_ino, const char *label, int fd, NlError *e) {
        uint8_t fams[2];
        unsigned kinds, nfams = 0, pbit;
        NlSocketInfo si;
        int r;

        r = nl_steer_label_check(label, e);
        if (r < 0)
                return r;
        r = socket_check(fd, netns_ino, &si, e);
        if (r < 0)
                return r;
        r = label_binding_kinds(s, label, &kinds);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        pbit = si.protocol == IPPROTO_UDP ? 2 : 0;
        if (kinds && !(kinds & (3U << pbit)))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EPROTOTYPE,
                                    "Label '%s' has only %s bindings, the socket is %s", label,
                                    nl_steer_protocol_to_string(si.protocol == IPPROTO_UDP ? IPPROTO_TCP : IPPROTO_UDP),
                                    nl_steer_protocol_to_string(si.protocol));
        if (si.family == AF_INET || si.dual_stack)
                fams[nfams++] = STEER_FAMILY_V4;
        if (si.family == AF_INET6)
                fams[nfams++] = STEER_FAMILY_V6;
        if (kinds & (3U << pbit)) {
                bool serves = false;

                for (unsigned i = 0; i < nfams; i++)
                        serves |= kinds & (1U << (pbit + (fams[i] == STEER_FAMILY_V6)));
                if (!serves)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EAFNOSUPPORT,
                                            "Label '%s' has only %s %s bindings, which this %s socket cannot serve",
                                            label, kinds & (1U << (pbit + 1)) ? "IPv6" : "IPv4",
                                            nl_steer_protocol_to_string(si.protocol),
                                            si.family == AF_INET ? "IPv4" : "IPv6-only");
        }

        for (unsigned i = 0; i < nfams; i++) {
                uint64_t v = (uint64_t) fd;
                uint32_t id;
                int d = dest_get(s, label, si.protocol, fams[i], e);

                if (d < 0)
                        return d;
                id = (uint32_t) d;
                /* One update: the old socket is replaced, never absent. */
                r = bpf_map_update_elem(s->sockets, &id, &v, BPF_ANY);
                if (r < 0)
                        return nl_error_set(e, r == -EOPNOTSUPP ? NL_ERR_INVALID_ARGS : NL_ERR_FAILED, r,
                                            "Cannot register the socket under '%s': %m", label);
        }
        return 0;
}

int nl_steer_unregister_socket(NlSteer *s, const char *label, NlError *e) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
        static const uint8_t fams[] = { STEER_FAMILY_V4, STEER_FAMILY_V6 };
        unsigned removed = 0;
        int r;

        r = nl_steer_label_check(label, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 2; j++) {
                        int id = dest_find(s, label, protos[i], fams[j]);
                        uint32_t uid = (uint32_t) id;
                        struct steer_dest d;

                        if (id < 0)
                                continue;
                        if (bpf_map_delete_elem(s->sockets, &uid) == 0)
                                removed++;
                        if (bpf_map_lookup_elem(s->dests, &uid, &d) == 0)
                                (void) dest_release_if_unused(s, uid, &d);
                }
        if (removed == 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOENT, "No socket is registered under label '%s'",
                                    label);
        return 0;
}

static int dest_cmp(const void *x, const void *y) {
        const NlSteerDestination *a = x, *b = y;
        int c = strcmp(a->label, b->label);

        if (c)
                return c;
        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        return a->family < b->family ? -1 : a->family > b->family;
}

/* What each listed socket can take now (sock-states.h); without it the
 * list is still true, only its states are "unknown". */
static int list_socket_states(NlSteer *s, NlSteerDestination *out, size_t n) {
        _cleanup_free_ NlSockState *states = calloc(n + 1, sizeof(NlSockState));
        _cleanup_free_ uint32_t *ids = calloc(n + 1, sizeof(uint32_t));
        _cleanup_free_ size_t *at = calloc(n + 1, sizeof(size_t));
        size_t k = 0;

        if (!states || !ids || !at)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (out[i].cookie) {
                        ids[k] = out[i].id;
                        at[k++] = i;
                }
        (void) nl_sock_states_read(s->sockets, ids, k, states, NULL);
        for (size_t i = 0; i < k; i++)
                out[at[i]].socket_state = states[i];
        return 0;
}

int nl_steer_list_destinations(NlSteer *s, NlSteerDestination **ret, size_t *ret_n, NlError *e) {
        _cleanup_free_ struct steer_dest *d = calloc(STEER_MAX_DESTS, sizeof(*d));
        _cleanup_free_ struct steer_dest_stats *st = NULL;
        _cleanup_free_ NlSteerDestination *out = NULL;
        int ncpu = libbpf_num_possible_cpus();
        size_t n = 0;
        int r;

        if (ncpu < 0)
                return nl_error_set(e, NL_ERR_FAILED, ncpu, "Cannot count CPUs: %m");
        st = calloc((size_t) ncpu, sizeof(*st));
        out = calloc(STEER_MAX_DESTS, sizeof(*out));
        if (!d || !st || !out)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = dests_load(s, d);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        for (uint32_t id = 1; id < STEER_MAX_DESTS; id++) {
                NlSteerDestination *o = &out[n];

                if (!d[id].in_use)
                        continue;
                o->id = id;
                snprintf(o->label, sizeof(o->label), "%s", d[id].label);
                o->protocol = d[id].protocol;
                o->family = af_from_abi(d[id].family);
                o->bindings = d[id].refs;
                if (bpf_map_lookup_elem(s->sockets, &id, &o->cookie) < 0)
                        o->cookie = 0;
                o->socket_state = NL_SOCK_NONE;
                if (bpf_map_lookup_elem(s->dest_stats, &id, st) == 0)
                        for (int c = 0; c < ncpu; c++) {
                                o->lookups += st[c].lookups;
                                o->misses += st[c].misses;
                                o->errors += st[c].errors;
                        }
                n++;
        }
        r = list_socket_states(s, out, n);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        qsort(out, n, sizeof(*out), dest_cmp);
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}

int nl_steer_repair(NlSteer *s, NlError *e) {
        BindingSet stale = {}, cur = {};
        Regions g = {};
        struct steer_config c;
        int r;

        /* What a killed SetBindings, AddBinding or RemoveBinding can leave:
         * entries of the generation not in use, region bits of bindings
         * gone, destination counts of the set before the switch. Lookups
         * only follow the live generation, so all of it can be mended in
         * place while traffic flows. */
        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        r = binding_set_read(s, (uint8_t) (c.gen ^ 1), &stale);
        if (r >= 0)
                r = map_delete_many(s->ports, stale.ports.keys, sizeof(struct steer_port_key), stale.ports.n);
        if (r >= 0)
                r = map_delete_many(s->prefixes, stale.prefixes.keys, sizeof(struct steer_prefix_key), stale.prefixes.n);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear an unfinished SetBindings: %m");
                goto finish;
        }
        r = binding_set_read(s, (uint8_t) c.gen, &cur);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the bindings: %m");
                goto finish;
        }
        /* Region masks are a union of both generations only while a
         * SetBindings runs; otherwise a stale bit costs a probe, not a
         * wrong answer, so they are rewritten only after an unfinished one. */
        if (stale.prefixes.n > 0) {
                r = regions_alloc(&g);
                if (r < 0) {
                        r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                        goto finish;
                }
                for (size_t i = 0; i < cur.n; i++)
                        regions_add(&g, &cur.b[i]);
                r = regions_write(s, &g);
        }
        if (r >= 0)
                r = refs_recount(s, cur.dest, cur.n);
        if (r < 0)
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot recount the bindings' destinations: %m");
finish:
        binding_set_done(&stale);
        binding_set_done(&cur);
        regions_done(&g);
        return r < 0 ? r : 0;
}
