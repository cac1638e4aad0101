/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/bench-util.h"
#include "builtins.h"
#include "link-ops.h"
#include "pin-store.h"
#include "steer.h"
#include "steer_floor.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define NLABELS 16
#define NQUERIES 64

static char tmp[64] = "/tmp/bench-steer.XXXXXX";
static uint64_t netns_ino;
static NlProgCache *cache;

/* Random protocol, family, length (IPv4 /8../32, IPv6 /16../128), address,
 * port (0..65535, so port 0 now and then) and one of NLABELS labels. */
static void random_binding(NlSteerBinding *b) {
        memset(b, 0, sizeof(*b));
        b->protocol = bench_rnd() & 1 ? IPPROTO_TCP : IPPROTO_UDP;
        b->family = bench_rnd() & 1 ? AF_INET : AF_INET6;
        b->prefixlen = b->family == AF_INET ? 8 + bench_rnd() % 25 : 16 + bench_rnd() % 113;
        for (unsigned i = 0; i < (b->family == AF_INET ? 4U : 16U); i++)
                b->addr[i] = (uint8_t) bench_rnd();
        for (unsigned bit = b->prefixlen; bit < (b->family == AF_INET ? 32U : 128U); bit++)
                b->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
        b->port = (uint16_t) bench_rnd();
        snprintf(b->label, sizeof(b->label), "label%u", bench_rnd() % NLABELS);
}

static int setup(void) {
        struct stat st;

        if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            !mkdtemp(tmp) || mount("bpf", tmp, "bpf", 0, NULL) < 0 || stat("/proc/self/ns/net", &st) < 0) {
                perror("bench-steer: private netns and bpffs (root needed)");
                return -1;
        }
        netns_ino = st.st_ino;
        cache = nl_prog_cache_new();
        return cache ? 0 : -1;
}

static void teardown(void) {
        nl_prog_cache_free(cache);
        umount2(tmp, MNT_DETACH);
        rmdir(tmp);
}

/* Maps of tier (steer-abi.h): the daemon's link grows to the tier its
 * bindings need, the bench's programs are never attached. */
static int open_link(const char *name, unsigned tier, NlProgram **prog, NlSteer **s) {
        char dir[256];
        NlError e = {};

        snprintf(dir, sizeof(dir), "%s/%llu/steer/%s", tmp, (unsigned long long) netns_ino, name);
        if (nl_mkdir_p(dir, 0700) < 0 ||
            nl_builtin_load_steer(cache, dir, NL_MAPS_PIN, tier, prog, &e) < 0 ||
            nl_steer_open(dir, s, &e) < 0) {
                fprintf(stderr, "bench-steer: %s\n", e.message);
                return -1;
        }
        return 0;
}

/* A dual-stack socket per label and protocol, so that lookups end in a
 * real bpf_sk_assign as they would in production. */
static int register_sockets(NlSteer *s, int *fds) {
        for (int i = 0; i < 2 * NLABELS; i++) {
                struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
                int off = 0, tcp = i < NLABELS;
                char label[16];
                NlError e = {};

                fds[i] = socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
                setsockopt(fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
                if (bind(fds[i], (struct sockaddr *) &a, sizeof(a)) < 0 || (tcp && listen(fds[i], 16) < 0))
                        return -1;
                snprintf(label, sizeof(label), "label%d", i % NLABELS);
                if (nl_steer_register_socket(s, netns_ino, label, fds[i], &e) < 0) {
                        fprintf(stderr, "bench-steer: %s\n", e.message);
                        return -1;
                }
        }
        return 0;
}

/* A lookup inside binding b's prefix on its port. */
static void query_for(const NlSteerBinding *b, struct bpf_sk_lookup *ctx) {
        uint8_t addr[16];

        memcpy(addr, b->addr, 16);
        for (unsigned bit = b->prefixlen; bit < (b->family == AF_INET ? 32U : 128U); bit++)
                if (bench_rnd() & 1)
                        addr[bit / 8] |= (uint8_t) (0x80 >> (bit % 8));
        memset(ctx, 0, sizeof(*ctx));
        ctx->family = b->family;
        ctx->protocol = b->protocol;
        ctx->local_port = b->port ? b->port : 1 + bench_rnd() % 65535;
        ctx->remote_port = htons(40000);
        if (b->family == AF_INET)
                memcpy(&ctx->local_ip4, addr, 4);
        else
                memcpy(ctx->local_ip6, addr, 16);
}

/* Mean ns per run over the queries. Each ctx_out says which socket the
 * lookup selected (its cookie, 0 for none): *cookies gets them. */
static double ns_per_lookup(int prog_fd, const struct bpf_sk_lookup *q, int nq, unsigned repeat, uint64_t *cookies) {
        double total = 0;

        for (int i = 0; i < nq; i++) {
                struct bpf_sk_lookup ctx = q[i];
                LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
                            .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = repeat);

                if (bpf_prog_test_run_opts(prog_fd, &o) < 0) {
                        perror("bench-steer: BPF_PROG_TEST_RUN");
                        return -1;
                }
                total += o.duration;
                cookies[i] = ctx.cookie;
        }
        return total / nq;
}

/* The smallest tier that a link holding n bindings grows to. */
static unsigned tier_for(size_t n) {
        static const struct steer_tier tiers[STEER_TIERS] = STEER_TIERS_TABLE;
        unsigned t = 0;

        while (t < STEER_TIERS - 1 && tiers[t].prefixes < n)
                t++;
        return t;
}

/* The misses counted by every destination of s: lookups that matched a
 * binding whose destination has no socket. */
static uint64_t total_misses(NlSteer *s) {
        NlSteerDestination *d = NULL;
        uint64_t sum = 0;
        size_t nd = 0;
        NlError e = {};

        if (nl_steer_list_destinations(s, &d, &nd, &e) < 0)
                return UINT64_MAX;
        for (size_t i = 0; i < nd; i++)
                sum += d[i].misses;
        free(d);
        return sum;
}

/* Whether every cookie is one of the registered sockets' (want_socket) or
 * every one is 0 (no socket selected). */
static bool cookies_are(const uint64_t *c, int n, const uint64_t *registered, bool want_socket) {
        for (int i = 0; i < n; i++) {
                bool known = false;

                for (int j = 0; j < 2 * NLABELS; j++)
                        known |= c[i] != 0 && c[i] == registered[j];
                if (known != want_socket)
                        return false;
        }
        return true;
}

enum { ROUNDS = 5 };
enum { FIG_FLOOR, FIG_MATCHED, FIG_SOCKET, FIG_NOMATCH, FIGS };

/* One size: the same n random bindings in two links, one with a socket
 * registered for every label (lookups end in bpf_sk_assign) and one with
 * none (lookups match a binding and pass). The floor and the three figures
 * are taken in turn, ROUNDS times; each round's ratios are to that round's
 * floor, and the medians are printed. */
static int bench_lookups(int floor_fd, size_t n, unsigned repeat) {
        NlSteerBinding *b = calloc(n, sizeof(*b));
        struct bpf_sk_lookup hit[NQUERIES], miss[NQUERIES];
        uint64_t registered[2 * NLABELS], cookies[NQUERIES], misses0;
        double ns[FIGS][ROUNDS], ratio[FIGS][ROUNDS];
        int fds[2 * NLABELS];
        NlProgram *prog = NULL, *bare_prog = NULL;
        NlSteer *s = NULL, *bare = NULL;
        NlSteerChanges c;
        NlError e = {};
        char name[32];
        bool ok = true;

        snprintf(name, sizeof(name), "n%zu", n);
        if (!b || open_link(name, tier_for(n), &prog, &s) < 0 || register_sockets(s, fds) < 0)
                return -1;
        snprintf(name, sizeof(name), "n%zu-bare", n);
        if (open_link(name, tier_for(n), &bare_prog, &bare) < 0)
                return -1;
        for (int i = 0; i < 2 * NLABELS; i++) {
                socklen_t len = sizeof(registered[i]);

                if (getsockopt(fds[i], SOL_SOCKET, SO_COOKIE, &registered[i], &len) < 0)
                        return -1;
        }
        for (size_t i = 0; i < n; i++)
                random_binding(&b[i]);
        if (nl_steer_set_bindings(s, b, n, &c, &e) < 0 || nl_steer_set_bindings(bare, b, n, &c, &e) < 0) {
                fprintf(stderr, "bench-steer: %s\n", e.message);
                return -1;
        }
        for (int i = 0; i < NQUERIES; i++) {
                NlSteerBinding r;

                query_for(&b[bench_rnd() % n], &hit[i]);
                random_binding(&r);
                query_for(&r, &miss[i]);
        }
        misses0 = total_misses(bare);
        for (int r = 0; r < ROUNDS && ok; r++) {
                ns[FIG_FLOOR][r] = ns_per_lookup(floor_fd, hit, NQUERIES, repeat, cookies);
                ok &= cookies_are(cookies, NQUERIES, registered, false);
                ns[FIG_MATCHED][r] = ns_per_lookup(nl_program_fd(bare_prog), hit, NQUERIES, repeat, cookies);
                ok &= cookies_are(cookies, NQUERIES, registered, false);
                ns[FIG_SOCKET][r] = ns_per_lookup(nl_program_fd(prog), hit, NQUERIES, repeat, cookies);
                if (!cookies_are(cookies, NQUERIES, registered, true)) {
                        fprintf(stderr, "bench-steer: %zu bindings: a matching lookup selected no registered socket\n", n);
                        ok = false;
                }
                ns[FIG_NOMATCH][r] = ns_per_lookup(nl_program_fd(prog), miss, NQUERIES, repeat, cookies);
                for (int f = 0; f < FIGS; f++) {
                        ok &= ns[f][r] > 0;
                        ratio[f][r] = ns[f][r] / ns[FIG_FLOOR][r];
                }
        }
        /* Every lookup of the link without sockets matched a binding: each
         * counted one miss (matched, no socket) at its destination. */
        if (ok && total_misses(bare) - misses0 != (uint64_t) ROUNDS * repeat * NQUERIES) {
                fprintf(stderr, "bench-steer: %zu bindings: %llu of %llu lookups without sockets matched\n", n,
                        (unsigned long long) (total_misses(bare) - misses0),
                        (unsigned long long) ROUNDS * repeat * NQUERIES);
                ok = false;
        }
        if (ok)
                printf("%9zu %4u %8.1f | %11.1f %6.2fx | %11.1f %6.2fx | %11.1f %6.2fx\n", n, nl_steer_tier(s),
                       bench_median(ns[FIG_FLOOR], ROUNDS), bench_median(ns[FIG_MATCHED], ROUNDS),
                       bench_median(ratio[FIG_MATCHED], ROUNDS), bench_median(ns[FIG_SOCKET], ROUNDS),
                       bench_median(ratio[FIG_SOCKET], ROUNDS), bench_median(ns[FIG_NOMATCH], ROUNDS),
                       bench_median(ratio[FIG_NOMATCH], ROUNDS));
        for (int i = 0; i < 2 * NLABELS; i++)
                close(fds[i]);
        nl_steer_close(s);
        nl_steer_close(bare);
        nl_program_unref(prog);
        nl_program_unref(bare_prog);
        free(b);
        return ok ? 0 : -1;
}

/* Replaces the over bindings there are with n new random ones, timed. */
static int bench_set_bindings(NlSteer *s, NlSteerBinding *b, int n, int over, const char *others) {
        NlSteerChanges c;
        NlError e = {};
        double t0;

        for (int i = 0; i < n; i++)
                random_binding(&b[i]);
        t0 = bench_now_s();
        if (nl_steer_set_bindings(s, b, (size_t) n, &c, &e) < 0) {
                fprintf(stderr, "bench-steer: SetBindings: %s\n", e.message);
                return -1;
        }
        printf("SetBindings of %d over %d%s: %.3f s (added %u, removed %u)\n", n, over, others, bench_now_s() - t0,
               c.added, c.removed);
        return 0;
}

static int bench_control(void) {
        enum { NADD = 10000, NSET = 100000 };
        NlSteerBinding *b = calloc(NSET, sizeof(*b));
        NlProgram *prog = NULL;
        NlSteer *s = NULL;
        NlError e = {};
        double t0;

        int netns_fd, link_fd = -1;

        /* Attached, from the smallest tier, as a daemon's link: the
         * figures include its growth. */
        if (!b || open_link("ctl", 0, &prog, &s) < 0)
                return -1;
        netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (netns_fd >= 0)
                link_fd = nl_link_create(nl_program_fd(prog), netns_fd, NL_ATTACH_SK_LOOKUP, &e);
        if (link_fd < 0) {
                fprintf(stderr, "bench-steer: cannot attach: %s\n", e.message);
                return -1;
        }
        nl_steer_set_link(s, link_fd, NULL, NULL);
        for (size_t i = 0; i < NADD; i++)
                random_binding(&b[i]);
        t0 = bench_now_s();
        for (size_t i = 0; i < NADD; i++)
                if (nl_steer_add_binding(s, &b[i], &e) < 0) {
                        fprintf(stderr, "bench-steer: AddBinding: %s\n", e.message);
                        return -1;
                }
        printf("AddBinding x %d: %.3f s (%.1f us each, with a growth to tier %u)\n", NADD, bench_now_s() - t0,
               (bench_now_s() - t0) / NADD * 1e6, nl_steer_tier(s));

        if (bench_set_bindings(s, b, NSET, NADD, "") < 0 || bench_set_bindings(s, b, NSET, NSET, " others") < 0)
                return -1;
        printf("(the link grew to tier %u)\n", nl_steer_tier(s));
        close(link_fd);
        close(netns_fd);
        nl_steer_close(s);
        nl_program_unref(prog);
        free(b);
        return 0;
}

int main(int argc, char **argv) {
        unsigned repeat = argc > 1 ? (unsigned) atoi(argv[1]) : 100000;
        /* "lookups": the data path only (tests/kernels runs it in emulated
         * guests, where the control plane's 100,000 bindings take long). */
        bool lookups_only = argc > 2 && strcmp(argv[2], "lookups") == 0;
        static const size_t sizes[] = { 1, 100, 10000, 100000 };
        struct steer_floor *floor_skel;
        int r = 0;

        if (setup() < 0)
                return 1;
        floor_skel = steer_floor__open_and_load();
        if (!floor_skel) {
                perror("bench-steer: floor program");
                teardown();
                return 1;
        }
        printf("sk_lookup through BPF_PROG_TEST_RUN, %u runs x %d lookups per figure; medians of %d interleaved\n"
               "rounds, ns and ratio to that round's floor (a program that returns SK_PASS)\n"
               "matched: a binding matched, its destination has no socket; socket: a binding matched and\n"
               "its registered socket was selected (bpf_sk_assign; ctx_out's cookie checked); no match:\n"
               "random lookups\n\n"
               " bindings tier floor ns |  matched, no socket |     socket selected |            no match\n",
               repeat, NQUERIES, ROUNDS);
        for (size_t i = 0; i < ELEMENTSOF(sizes) && r >= 0; i++)
                r = bench_lookups(bpf_program__fd(floor_skel->progs.steer_floor), sizes[i], repeat);
        if (r >= 0 && !lookups_only)
                r = bench_control();
        steer_floor__destroy(floor_skel);
        teardown();
        return r < 0 ? 1 : 0;
}
