/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-attach: what one attach+pin and one detach+unpin cost, per netns,
 * over N throwaway netns, with the core library and with a plain libbpf
 * loop side by side in one run; and what loading a program costs the first
 * time and from the cache.
 *
 *   core library   attach: nl_netns_open + nl_link_create + nl_pin_store_pin + close
 *                  detach: nl_pin_store_get + nl_link_detach + nl_pin_store_unpin + close
 *   plain libbpf   attach: open + fstat + bpf_link_create + bpf_obj_pin + close
 *                  detach: bpf_obj_get + bpf_link_detach + close + unlink
 *
 * The plain loop pins flat (<root>/<ino>-sk_lookup-bench) and checks
 * nothing; the library validates the netns (fstatfs, NS_GET_NSTYPE) and
 * keeps the <root>/<ino>/<type>/<name> layout, making and pruning its two
 * folders. Both detach loops know the netns inode from their attach.
 * A third loop is the plain one pinning in the library's layout, to tell
 * the folders' cost from the library's own.
 * Rounds rotate which loop runs first; figures are the median over
 * rounds of each round's mean, and the p99 of every single operation.
 *
 * Runs in the tests' sandbox (tests/lib/test-util.h): a private bpffs and
 * a private /run/netns in a mount namespace of its own, all gone when the
 * bench ends, however it ends.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/bench-util.h"
#include "bench_attach_prog.skel.h"
#include "builtins.h"
#include "link-ops.h"
#include "netns-ref.h"
#include "pin-store.h"
#include "prog-loader.h"
#include "test-util.h"

#define LINK_NAME "bench"

static unsigned arg_netns = 300;
static unsigned arg_rounds = 3;

static char (*names)[TEST_NETNS_NAME_MAX];
static uint64_t *inos;

/* Every single operation's time, over all rounds, for the p99. */
typedef struct Series {
        double *ops;
        unsigned n_ops;
        double round_mean[64];
        unsigned n_rounds;
} Series;

static void series_add_round(Series *s, const double *ops, unsigned n) {
        double sum = 0;

        for (unsigned i = 0; i < n; i++) {
                sum += ops[i];
                s->ops[s->n_ops++] = ops[i];
        }
        s->round_mean[s->n_rounds++] = sum / n;
}

static double series_median(Series *s) {
        double v[64];

        memcpy(v, s->round_mean, s->n_rounds * sizeof(double));
        return bench_median(v, s->n_rounds);
}

static double series_p99(Series *s) {
        qsort(s->ops, s->n_ops, sizeof(double), bench_cmp_double);
        return s->ops[(size_t) ((s->n_ops - 1) * 0.99)];
}

/* ---- the two loops ---- */

static int lib_attach(NlPinStore *store, int prog_fd, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = bench_now_us();
                NlNetns ns;
                NlError e;
                int fd, r;

                r = nl_netns_open(names[i], &ns, &e);
                if (r < 0)
                        return CHECK_OK(r, &e), r;
                fd = nl_link_create(prog_fd, ns.fd, NL_ATTACH_SK_LOOKUP, &e);
                if (fd < 0) {
                        nl_netns_close(&ns);
                        return CHECK_OK(fd, &e), fd;
                }
                r = nl_pin_store_pin(store, ns.ino, NL_ATTACH_SK_LOOKUP, LINK_NAME, fd, &e);
                safe_close(fd);
                nl_netns_close(&ns);
                if (r < 0)
                        return CHECK_OK(r, &e), r;
                t[i] = bench_now_us() - t0;
        }
        return 0;
}

static int lib_detach(NlPinStore *store, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = bench_now_us();
                NlError e;
                int fd, r;

                fd = nl_pin_store_get(store, inos[i], NL_ATTACH_SK_LOOKUP, LINK_NAME);
                if (fd < 0)
                        return CHECK_OK(fd, NULL), fd;
                r = nl_link_detach(fd, &e);
                safe_close(fd);
                if (r < 0)
                        return CHECK_OK(r, &e), r;
                r = nl_pin_store_unpin(store, inos[i], NL_ATTACH_SK_LOOKUP, LINK_NAME);
                if (r < 0)
                        return CHECK_OK(r, NULL), r;
                t[i] = bench_now_us() - t0;
        }
        return 0;
}

/* The pin of the link in netns ino: flat (<root>/<ino>-sk_lookup-<name>) for
 * the plain loop, tree the library's <root>/<ino>/sk_lookup/<name>, whose
 * folders make makes on the way. */
static void raw_pin_path(const char *root, bool tree, bool make, uint64_t ino, char *buf, size_t size) {
        if (!tree) {
                snprintf(buf, size, "%s/%" PRIu64 "-sk_lookup-" LINK_NAME, root, ino);
                return;
        }
        snprintf(buf, size, "%s/%" PRIu64, root, ino);
        if (make)
                (void) mkdir(buf, 0700);
        strcat(buf, "/sk_lookup");
        if (make)
                (void) mkdir(buf, 0700);
        strcat(buf, "/" LINK_NAME);
}

/* The plain libbpf loops: flat, or (tree) pinning in the library's layout,
 * which separates what the folders cost from what the library adds. */
static int raw_attach(const char *root, bool tree, int prog_fd, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = bench_now_us();
                char nspath[128], pin[512];
                struct stat st;
                int nsfd, fd, r;

                snprintf(nspath, sizeof(nspath), "/run/netns/%s", names[i]);
                nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
                if (nsfd < 0 || fstat(nsfd, &st) < 0)
                        return CHECK(false, "open %s: %m", nspath), -errno;
                fd = bpf_link_create(prog_fd, nsfd, BPF_SK_LOOKUP, NULL);
                if (fd < 0) {
                        close(nsfd);
                        return CHECK(false, "bpf_link_create: %d", fd), fd;
                }
                raw_pin_path(root, tree, true, st.st_ino, pin, sizeof(pin));
                r = bpf_obj_pin(fd, pin);
                close(fd);
                close(nsfd);
                if (r < 0)
                        return CHECK(false, "bpf_obj_pin %s: %d", pin, r), r;
                t[i] = bench_now_us() - t0;
        }
        return 0;
}

static int raw_detach(const char *root, bool tree, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = bench_now_us();
                char pin[512];
                int fd, r;

                raw_pin_path(root, tree, false, inos[i], pin, sizeof(pin));
                fd = bpf_obj_get(pin);
                if (fd < 0)
                        return CHECK(false, "bpf_obj_get %s: %d", pin, fd), fd;
                r = bpf_link_detach(fd);
                close(fd);
                if (r < 0)
                        return CHECK(false, "bpf_link_detach: %d", r), r;
                if (unlink(pin) < 0)
                        return CHECK(false, "unlink %s: %m", pin), -errno;
                if (tree) {
                        *strrchr(pin, '/') = 0;
                        (void) rmdir(pin);
                        *strrchr(pin, '/') = 0;
                        (void) rmdir(pin);
                }
                t[i] = bench_now_us() - t0;
        }
        return 0;
}

/* Outside the timing: every netns runs exactly want programs. */
static void check_attached(const char *what, int want) {
        unsigned bad = 0;

        for (unsigned i = 0; i < arg_netns; i++) {
                int fd = test_netns_fd(names[i]);
                bad += test_netns_prog_count(fd, BPF_SK_LOOKUP) != want;
                safe_close(fd);
        }
        CHECK(bad == 0, "%s: %u of %u netns do not run %d program(s)", what, bad, arg_netns, want);
}

/* ---- program loading ---- */

static void bench_prog_load(void) {
        const void *elf;
        size_t elf_size;
        NlProgCache *c = nl_prog_cache_new();
        NlProgram *p = NULL;
        NlError e;
        double t0, first, cached, libbpf_first, builtin_first, builtin_cached;
        enum { CACHED_RUNS = 200 };

        elf = bench_attach_prog__elf_bytes(&elf_size);

        /* Plain libbpf: open and load (the verifier runs every time). */
        t0 = bench_now_us();
        {
                struct bpf_object *obj = bpf_object__open_mem(elf, elf_size, NULL);
                CHECK(obj && bpf_object__load(obj) == 0, "libbpf loads the object");
                bpf_object__close(obj);
        }
        libbpf_first = bench_now_us() - t0;

        t0 = bench_now_us();
        CHECK_OK(nl_prog_load_elf_mem(c, elf, elf_size, "bench_pass", NL_ATTACH_SK_LOOKUP, &p, &e), &e);
        first = bench_now_us() - t0;
        nl_program_unref(p);

        t0 = bench_now_us();
        for (int i = 0; i < CACHED_RUNS; i++) {
                CHECK_OK(nl_prog_load_elf_mem(c, elf, elf_size, "bench_pass", NL_ATTACH_SK_LOOKUP, &p, &e), &e);
                nl_program_unref(p);
        }
        cached = (bench_now_us() - t0) / CACHED_RUNS;
        CHECK_INT_EQ(nl_prog_cache_loads(c), 1);

        t0 = bench_now_us();
        CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p, &e), &e);
        builtin_first = bench_now_us() - t0;
        nl_program_unref(p);
        t0 = bench_now_us();
        for (int i = 0; i < CACHED_RUNS; i++) {
                CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p, &e), &e);
                nl_program_unref(p);
        }
        builtin_cached = (bench_now_us() - t0) / CACHED_RUNS;
        nl_prog_cache_free(c);

        printf("\nprogram load (us)          first    cached\n");
        printf("ELF object, %5zu bytes  %8.1f  %8.2f   (libbpf open+load: %.1f; loads done: 1 for %d calls)\n",
               elf_size, first, cached, libbpf_first, CACHED_RUNS + 1);
        printf("builtin:flow             %8.1f  %8.2f\n", builtin_first, builtin_cached);
}

/* ---- main ---- */

/* One of the loops side by side: the library's (store) or a plain one. */
typedef struct Loop {
        const char *name;       /* in the checks */
        const char *row;        /* in the table */
        NlPinStore *store;
        const char *root;
        bool tree;
        Series attach, detach;
} Loop;

/* A round of one loop: every netns attached, then detached, each checked
 * outside the timing. */
static int loop_round(Loop *l, int prog_fd, double *t) {
        char what[64];
        int r;

        r = l->store ? lib_attach(l->store, prog_fd, t) : raw_attach(l->root, l->tree, prog_fd, t);
        if (r < 0)
                return r;
        series_add_round(&l->attach, t, arg_netns);
        snprintf(what, sizeof(what), "%s attach", l->name);
        check_attached(what, 1);
        r = l->store ? lib_detach(l->store, t) : raw_detach(l->root, l->tree, t);
        if (r < 0)
                return r;
        series_add_round(&l->detach, t, arg_netns);
        snprintf(what, sizeof(what), "%s detach", l->name);
        check_attached(what, 0);
        return 0;
}

static void run(void) {
        NlPinStore *store = NULL;
        NlProgCache *cache = nl_prog_cache_new();
        NlProgram *prog = NULL;
        char lib_root[512], plain_root[512], tree_root[512];
        const void *elf;
        size_t elf_size;
        /* In the order of the first round. */
        Loop loops[] = {
                { .name = "library", .row = "core library" },
                { .name = "plain", .row = "plain libbpf", .root = plain_root },
                { .name = "plain (layout)", .row = "plain, lib's layout", .root = tree_root, .tree = true },
        };
        double *t = calloc(arg_netns, sizeof(double)), t0;
        NlError e;

        names = calloc(arg_netns, sizeof(*names));
        inos = calloc(arg_netns, sizeof(*inos));
        for (size_t i = 0; i < ELEMENTSOF(loops); i++) {
                loops[i].attach.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
                loops[i].detach.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        }

        t0 = bench_now_us();
        for (unsigned i = 0; i < arg_netns; i++) {
                if (!CHECK_OK(test_netns_add(names[i]), NULL))
                        return;
                inos[i] = test_netns_ino(names[i]);
        }
        printf("bench-attach: %u netns (made in %.0f ms), %u rounds rotating which loop goes first\n",
               arg_netns, (bench_now_us() - t0) / 1000, arg_rounds);

        snprintf(lib_root, sizeof(lib_root), "%s/lib", test_bpffs());
        snprintf(plain_root, sizeof(plain_root), "%s/plain", test_bpffs());
        mkdir(plain_root, 0700);
        snprintf(tree_root, sizeof(tree_root), "%s/tree", test_bpffs());
        mkdir(tree_root, 0700);
        CHECK_OK(nl_pin_store_open(lib_root, &store, &e), &e);
        elf = bench_attach_prog__elf_bytes(&elf_size);
        CHECK_OK(nl_prog_load_elf_mem(cache, elf, elf_size, "bench_pass", NL_ATTACH_SK_LOOKUP, &prog, &e), &e);
        if (!store || !prog)
                return;
        loops[0].store = store;

        /* Rotate the order: lib, plain, tree; plain, tree, lib; ... */
        for (unsigned round = 0; round < arg_rounds; round++)
                for (size_t k = 0; k < ELEMENTSOF(loops); k++)
                        if (loop_round(&loops[(k + round) % ELEMENTSOF(loops)], nl_program_fd(prog), t) < 0)
                                return;
        CHECK(!test_exists("%s/%" PRIu64, lib_root, inos[0]), "the library pruned its folders");

        printf("\nper netns (us)        attach+pin          detach+unpin\n");
        printf("                      median   p99        median   p99\n");
        for (size_t i = 0; i < ELEMENTSOF(loops); i++)
                printf("%-20s%8.1f %7.1f      %8.1f %7.1f\n", loops[i].row, series_median(&loops[i].attach),
                       series_p99(&loops[i].attach), series_median(&loops[i].detach), series_p99(&loops[i].detach));
        printf("library / plain     %8.2fx             %8.2fx\n",
               series_median(&loops[0].attach) / series_median(&loops[1].attach),
               series_median(&loops[0].detach) / series_median(&loops[1].detach));

        bench_prog_load();
        printf("\n");

        nl_program_unref(prog);
        nl_prog_cache_free(cache);
        nl_pin_store_free(store);
        for (size_t i = 0; i < ELEMENTSOF(loops); i++) {
                free(loops[i].attach.ops);
                free(loops[i].detach.ops);
        }
        free(t);
        free(names);
        free(inos);
}

static void help(void) {
        printf("bench-attach [--netns=N] [--rounds=R]\n\n"
               "Microseconds per attach+pin and per detach+unpin over N throwaway netns\n"
               "(default 300), the core library against a plain libbpf loop, and the cost of\n"
               "loading a program first and from the cache. Needs root; touches neither the\n"
               "host's /sys/fs/bpf nor its netns (private bpffs and /run/netns).\n\n"
               "  -n, --netns=N    number of netns (1-10000)\n"
               "  -r, --rounds=R   rounds, rotating which loop goes first (1-64, default 3)\n"
               "  -h, --help       this text\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "netns", required_argument, NULL, 'n' },
                { "rounds", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "n:r:h", options, NULL)) >= 0) {
                char *end;
                unsigned long v;

                switch (c) {
                case 'n':
                case 'r':
                        v = strtoul(optarg, &end, 10);
                        if (*end || !*optarg || v < 1 || v > (c == 'n' ? 10000UL : 64UL)) {
                                fprintf(stderr, "bench-attach: bad value '%s' for -%c\n", optarg, c);
                                return 2;
                        }
                        if (c == 'n')
                                arg_netns = v;
                        else
                                arg_rounds = v;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "bench-attach: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        return test_main("bench-attach", run);
}
