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

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *v, unsigned n) {
        qsort(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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
        return median(v, s->n_rounds);
}

static double series_p99(Series *s) {
        qsort(s->ops, s->n_ops, sizeof(double), cmp_double);
        return s->ops[(size_t) ((s->n_ops - 1) * 0.99)];
}

/* ---- the two loops ---- */

static int lib_attach(NlPinStore *store, int prog_fd, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
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
                t[i] = now_us() - t0;
        }
        return 0;
}

static int lib_detach(NlPinStore *store, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
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
                t[i] = now_us() - t0;
        }
        return 0;
}

static void plain_path(const char *root, uint64_t ino, char *buf, size_t size) {
        snprintf(buf, size, "%s/%" PRIu64 "-sk_lookup-" LINK_NAME, root, ino);
}

static int plain_attach(const char *root, int prog_fd, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
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
                plain_path(root, st.st_ino, pin, sizeof(pin));
                r = bpf_obj_pin(fd, pin);
                close(fd);
                close(nsfd);
                if (r < 0)
                        return CHECK(false, "bpf_obj_pin %s: %d", pin, r), r;
                t[i] = now_us() - t0;
        }
        return 0;
}

static int plain_detach(const char *root, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
                char pin[512];
                int fd, r;

                plain_path(root, inos[i], pin, sizeof(pin));
                fd = bpf_obj_get(pin);
                if (fd < 0)
                        return CHECK(false, "bpf_obj_get %s: %d", pin, fd), fd;
                r = bpf_link_detach(fd);
                close(fd);
                if (r < 0)
                        return CHECK(false, "bpf_link_detach: %d", r), r;
                if (unlink(pin) < 0)
                        return CHECK(false, "unlink %s: %m", pin), -errno;
                t[i] = now_us() - t0;
        }
        return 0;
}

/* The plain loop again, but pinning in the library's layout: separates
 * what the folders cost from what the library adds. */
static int tree_attach(const char *root, int prog_fd, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
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
                snprintf(pin, sizeof(pin), "%s/%" PRIu64, root, (uint64_t) st.st_ino);
                (void) mkdir(pin, 0700);
                strcat(pin, "/sk_lookup");
                (void) mkdir(pin, 0700);
                strcat(pin, "/" LINK_NAME);
                r = bpf_obj_pin(fd, pin);
                close(fd);
                close(nsfd);
                if (r < 0)
                        return CHECK(false, "bpf_obj_pin %s: %d", pin, r), r;
                t[i] = now_us() - t0;
        }
        return 0;
}

static int tree_detach(const char *root, double *t) {
        for (unsigned i = 0; i < arg_netns; i++) {
                double t0 = now_us();
                char pin[512];
                int fd, r;

                snprintf(pin, sizeof(pin), "%s/%" PRIu64 "/sk_lookup/" LINK_NAME, root, inos[i]);
                fd = bpf_obj_get(pin);
                if (fd < 0)
                        return CHECK(false, "bpf_obj_get %s: %d", pin, fd), fd;
                r = bpf_link_detach(fd);
                close(fd);
                if (r < 0)
                        return CHECK(false, "bpf_link_detach: %d", r), r;
                if (unlink(pin) < 0)
                        return CHECK(false, "unlink %s: %m", pin), -errno;
                *strrchr(pin, '/') = 0;
                (void) rmdir(pin);
                *strrchr(pin, '/') = 0;
                (void) rmdir(pin);
                t[i] = now_us() - t0;
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
        t0 = now_us();
        {
                struct bpf_object *obj = bpf_object__open_mem(elf, elf_size, NULL);
                CHECK(obj && bpf_object__load(obj) == 0, "libbpf loads the object");
                bpf_object__close(obj);
        }
        libbpf_first = now_us() - t0;

        t0 = now_us();
        CHECK_OK(nl_prog_load_elf_mem(c, elf, elf_size, "bench_pass", NL_ATTACH_SK_LOOKUP, &p, &e), &e);
        first = now_us() - t0;
        nl_program_unref(p);

        t0 = now_us();
        for (int i = 0; i < CACHED_RUNS; i++) {
                CHECK_OK(nl_prog_load_elf_mem(c, elf, elf_size, "bench_pass", NL_ATTACH_SK_LOOKUP, &p, &e), &e);
                nl_program_unref(p);
        }
        cached = (now_us() - t0) / CACHED_RUNS;
        CHECK_INT_EQ(nl_prog_cache_loads(c), 1);

        t0 = now_us();
        CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p, &e), &e);
        builtin_first = now_us() - t0;
        nl_program_unref(p);
        t0 = now_us();
        for (int i = 0; i < CACHED_RUNS; i++) {
                CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p, &e), &e);
                nl_program_unref(p);
        }
        builtin_cached = (now_us() - t0) / CACHED_RUNS;
        nl_prog_cache_free(c);

        printf("\nprogram load (us)          first    cached\n");
        printf("ELF object, %5zu bytes  %8.1f  %8.2f   (libbpf open+load: %.1f; loads done: 1 for %d calls)\n",
               elf_size, first, cached, libbpf_first, CACHED_RUNS + 1);
        printf("builtin:flow             %8.1f  %8.2f\n", builtin_first, builtin_cached);
}

/* ---- main ---- */

static void run(void) {
        NlPinStore *store = NULL;
        NlProgCache *cache = nl_prog_cache_new();
        NlProgram *prog = NULL;
        char lib_root[512], plain_root[512], tree_root[512];
        const void *elf;
        size_t elf_size;
        Series la = {}, ld = {}, pa = {}, pd = {}, ta = {}, td = {};
        double *t = calloc(arg_netns, sizeof(double)), t0;
        NlError e;

        names = calloc(arg_netns, sizeof(*names));
        inos = calloc(arg_netns, sizeof(*inos));
        la.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        ld.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        pa.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        pd.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        ta.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));
        td.ops = calloc((size_t) arg_netns * arg_rounds, sizeof(double));

        t0 = now_us();
        for (unsigned i = 0; i < arg_netns; i++) {
                if (!CHECK_OK(test_netns_add(names[i]), NULL))
                        return;
                inos[i] = test_netns_ino(names[i]);
        }
        printf("bench-attach: %u netns (made in %.0f ms), %u rounds rotating which loop goes first\n",
               arg_netns, (now_us() - t0) / 1000, arg_rounds);

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

        for (unsigned round = 0; round < arg_rounds; round++) {
                for (int k = 0; k < 3; k++) {
                        /* Rotate the order: lib, plain, tree; plain, tree, lib; ... */
                        int which = (int) ((k + round) % 3);

                        if (which == 0) {
                                if (lib_attach(store, nl_program_fd(prog), t) < 0)
                                        return;
                                series_add_round(&la, t, arg_netns);
                                check_attached("library attach", 1);
                                if (lib_detach(store, t) < 0)
                                        return;
                                series_add_round(&ld, t, arg_netns);
                                check_attached("library detach", 0);
                        } else if (which == 2) {
                                if (tree_attach(tree_root, nl_program_fd(prog), t) < 0)
                                        return;
                                series_add_round(&ta, t, arg_netns);
                                check_attached("plain (layout) attach", 1);
                                if (tree_detach(tree_root, t) < 0)
                                        return;
                                series_add_round(&td, t, arg_netns);
                                check_attached("plain (layout) detach", 0);
                        } else {
                                if (plain_attach(plain_root, nl_program_fd(prog), t) < 0)
                                        return;
                                series_add_round(&pa, t, arg_netns);
                                check_attached("plain attach", 1);
                                if (plain_detach(plain_root, t) < 0)
                                        return;
                                series_add_round(&pd, t, arg_netns);
                                check_attached("plain detach", 0);
                        }
                }
        }
        CHECK(!test_exists("%s/%" PRIu64, lib_root, inos[0]), "the library pruned its folders");

        printf("\nper netns (us)        attach+pin          detach+unpin\n");
        printf("                      median   p99        median   p99\n");
        printf("core library        %8.1f %7.1f      %8.1f %7.1f\n",
               series_median(&la), series_p99(&la), series_median(&ld), series_p99(&ld));
        printf("plain libbpf        %8.1f %7.1f      %8.1f %7.1f\n",
               series_median(&pa), series_p99(&pa), series_median(&pd), series_p99(&pd));
        printf("plain, lib's layout %8.1f %7.1f      %8.1f %7.1f\n",
               series_median(&ta), series_p99(&ta), series_median(&td), series_p99(&td));
        printf("library / plain     %8.2fx             %8.2fx\n",
               series_median(&la) / series_median(&pa), series_median(&ld) / series_median(&pd));

        bench_prog_load();
        printf("\n");

        nl_program_unref(prog);
        nl_prog_cache_free(cache);
        nl_pin_store_free(store);
        free(la.ops);
        free(ld.ops);
        free(pa.ops);
        free(pd.ops);
        free(ta.ops);
        free(td.ops);
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
