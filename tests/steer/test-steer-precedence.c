/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which binding wins, as data: a set of bindings, then lookups through
 * BPF_PROG_TEST_RUN with the label whose socket must be chosen (NULL: the
 * program chooses none and the kernel's own lookup runs). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "explain.h"
#include "steer-test.h"

static const struct {
        const char *proto, *prefix;
        uint16_t port;
        const char *label;
} bindings[] = {
        { "tcp", "10.0.0.0/8",       0,    "wide" },
        { "tcp", "10.1.0.0/16",      80,   "mid80" },
        { "tcp", "10.1.2.0/24",      0,    "narrow" },
        { "tcp", "10.1.2.0/24",      22,   "narrow22" },
        { "tcp", "10.1.2.3/32",      443,  "host443" },
        { "tcp", "0.0.0.0/0",        8080, "all8080" },
        { "tcp", "10.9.0.0/16",      80,   "nosock" },
        { "tcp", "2001:db8::/32",    0,    "v6wide" },
        { "tcp", "2001:db8:1::/48",  443,  "v6mid" },
        { "tcp", "2001:db8:1::7/128", 0,   "v6host" },
        { "tcp", "::/0",             25,   "v6all25" },
        { "udp", "10.0.0.0/8",       53,   "dns" },
        { "udp", "10.1.0.0/16",      0,    "udpmid" },
        { "udp", "2001:db8::/32",    53,   "dns" },
};

static const struct {
        const char *name;
        const char *proto, *addr;
        uint16_t port;
        const char *want;
} cases[] = {
        { "longest prefix, exact port",          "tcp", "10.1.2.3",     443,  "host443" },
        { "/24 port 0 beats /16 port 80",        "tcp", "10.1.2.3",     80,   "narrow" },
        { "same /24: port 22 beats port 0",      "tcp", "10.1.2.4",     22,   "narrow22" },
        { "same /24: other port takes port 0",   "tcp", "10.1.2.4",     23,   "narrow" },
        { "/16 port 80 beats /8 port 0",         "tcp", "10.1.3.1",     80,   "mid80" },
        { "/16 other port falls to /8",          "tcp", "10.1.3.1",     81,   "wide" },
        { "/8 port 0 beats /0 port 8080",        "tcp", "10.200.0.1",   8080, "wide" },
        { "/0 port 8080 outside 10/8",           "tcp", "11.0.0.1",     8080, "all8080" },
        { "no binding",                          "tcp", "11.0.0.1",     80,   NULL },
        { "label without socket",                "tcp", "10.9.1.1",     80,   NULL },
        { "label without socket, other port",    "tcp", "10.9.1.1",     81,   "wide" },
        { "v6 /128 port 0 beats /48 port 443",   "tcp", "2001:db8:1::7", 443, "v6host" },
        { "v6 /48 port 443",                     "tcp", "2001:db8:1::8", 443, "v6mid" },
        { "v6 /32 port 0",                       "tcp", "2001:db8:1::8", 80,  "v6wide" },
        { "v6 /0 port 25 outside",               "tcp", "2001:db9::1",  25,   "v6all25" },
        { "v6 nothing",                          "tcp", "2001:db9::1",  80,   NULL },
        { "v6 /32 port 0 beats /0 port 25",      "tcp", "2001:db8:5::1", 25,  "v6wide" },
        { "udp /16 port 0 beats /8 port 53",     "udp", "10.1.0.9",     53,   "udpmid" },
        { "udp /8 port 53",                      "udp", "10.2.0.9",     53,   "dns" },
        { "udp /8 other port",                   "udp", "10.2.0.9",     54,   NULL },
        { "udp IPv6 to the same label",          "udp", "2001:db8::53", 53,   "dns" },
        { "protocols apart: tcp binding, udp",   "udp", "11.0.0.1",     8080, NULL },
        { "protocols apart: udp binding, tcp",   "tcp", "10.2.0.9",     53,   "wide" },
        { "port 0 binding, highest port",        "tcp", "10.200.0.1",   65535, "wide" },
};

/* The socket for a label: dual-stack, so one serves both families. */
static int label_socket(const char *proto) {
        return steer_socket(AF_INET6, strcmp(proto, "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM, "::", 0, true);
}

static uint64_t cookie_of(SteerLink *l, const char *label, const char *proto) {
        NlSteerDestination *d = NULL;
        uint64_t c = 0;
        size_t n = 0;

        if (nl_steer_list_destinations(l->steer, &d, &n, NULL) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (strcmp(d[i].label, label) == 0 && strcmp(nl_steer_protocol_to_string(d[i].protocol), proto) == 0)
                        c = d[i].cookie;
        free(d);
        return c;
}

/* Explain names the binding builtin:steer chose with nl_steer_match, read
 * from the same maps: it must choose as the program does (a case with no
 * socket chosen matched no binding, or the socketless label's). */
static void check_match(SteerLink *l, size_t i, const char *when) {
        _cleanup_free_ NlSteerBinding *b = NULL;
        const NlSteerBinding *m;
        NlLookupQuery q;
        NlError e = {};
        char dst[80];
        size_t n = 0;
        bool v6 = strchr(cases[i].addr, ':');

        snprintf(dst, sizeof(dst), v6 ? "[%s]:%u" : "%s:%u", cases[i].addr, cases[i].port);
        if (!CHECK_OK(nl_steer_list_bindings(l->steer, &b, &n, &e), &e) ||
            !CHECK_OK(nl_lookup_query_parse(cases[i].proto, v6 ? "[::1]:1" : "127.0.0.1:1", dst, &q, &e), &e))
                return;
        m = nl_steer_match(b, n, &q);
        if (cases[i].want)
                CHECK(m && strcmp(m->label, cases[i].want) == 0, "%s (%s): nl_steer_match says %s, want %s",
                      cases[i].name, when, m ? m->label : "none", cases[i].want);
        else
                CHECK(!m || strcmp(m->label, "nosock") == 0, "%s (%s): nl_steer_match says %s, want none",
                      cases[i].name, when, m ? m->label : "none");
}

static void run_cases(SteerLink *l, const char *when) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                check_match(l, i, when);
                uint8_t proto = strcmp(cases[i].proto, "tcp") == 0 ? IPPROTO_TCP : IPPROTO_UDP;
                uint64_t got = 1, want = cases[i].want ? cookie_of(l, cases[i].want, cases[i].proto) : 0;
                int r = steer_test_run(nl_program_fd(l->prog), proto, cases[i].addr, cases[i].port, &got);

                CHECK(r >= 0 && got == want && (!cases[i].want || want != 0),
                      "%s (%s): %s %s port %u: want %s (cookie %llu), got cookie %llu (r=%d)", cases[i].name, when,
                      cases[i].proto, cases[i].addr, cases[i].port, cases[i].want ? cases[i].want : "none",
                      (unsigned long long) want, (unsigned long long) got, r);
        }
}


/* Whether the program's instructions (every subprogram's, as the kernel
 * runs them) hold an atomic one: a counter shared between CPUs. */
static bool has_atomic(int prog_fd) {
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);
        _cleanup_free_ struct bpf_insn *insns = NULL;
        bool found = false;

        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0 || info.xlated_prog_len == 0)
                return true;
        insns = calloc(1, info.xlated_prog_len);
        if (!insns)
                return true;
        uint32_t n = info.xlated_prog_len;
        info = (struct bpf_prog_info) { .xlated_prog_len = n, .xlated_prog_insns = (uint64_t) (uintptr_t) insns };
        len = sizeof(info);
        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
                return true;
        for (uint32_t i = 0; i < n / sizeof(*insns); i++)
                found |= BPF_CLASS(insns[i].code) == BPF_STX && BPF_MODE(insns[i].code) == BPF_ATOMIC;
        return found;
}

/* The link's per-CPU hit counters summed per CPU into sum[ncpus]; -1 if
 * they are not a per-CPU map. */
static int counter_sums(const SteerLink *l, uint64_t *sum, int ncpu) {
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        _cleanup_free_ uint64_t *v = calloc((size_t) ncpu, sizeof(*v));
        char path[600];
        int fd;

        snprintf(path, sizeof(path), "%s/counters", l->map_dir);
        fd = bpf_obj_get(path);
        if (!v || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.type != BPF_MAP_TYPE_PERCPU_ARRAY) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        memset(sum, 0, (size_t) ncpu * sizeof(*sum));
        for (uint32_t k = 0; k < info.max_entries; k++)
                if (bpf_map_lookup_elem(fd, &k, v) == 0)
                        for (int c = 0; c < ncpu; c++)
                                sum[c] += v[c];
        close(fd);
        return 0;
}

/* A lookup of 10.9.9.9 port 80 (bound) on each CPU the test may run on:
 * each must count in its own CPU's slot. Returns how many CPUs did not. */
static int count_on_each_cpu(const SteerLink *l) {
        int ncpu = libbpf_num_possible_cpus(), wrong = 0;
        _cleanup_free_ uint64_t *before = NULL, *after = NULL;
        cpu_set_t all, one;

        if (ncpu <= 0 || sched_getaffinity(0, sizeof(all), &all) < 0)
                return -1;
        before = calloc((size_t) ncpu, sizeof(*before));
        after = calloc((size_t) ncpu, sizeof(*after));
        if (!before || !after)
                return -1;
        for (int c = 0; c < ncpu && c < CPU_SETSIZE; c++) {
                uint64_t got;

                if (!CPU_ISSET(c, &all))
                        continue;
                CPU_ZERO(&one);
                CPU_SET(c, &one);
                if (counter_sums(l, before, ncpu) < 0 || sched_setaffinity(0, sizeof(one), &one) < 0 ||
                    steer_test_run(nl_program_fd(l->prog), IPPROTO_TCP, "10.9.9.9", 80, &got) < 0 ||
                    counter_sums(l, after, ncpu) < 0)
                        wrong++;
                else
                        for (int o = 0; o < ncpu; o++)
                                wrong += after[o] - before[o] != (o == c);
        }
        (void) sched_setaffinity(0, sizeof(all), &all);
        return wrong;
}


/* Lookups of tcp 10.77.1.1 port 80 in a loop, counting those that did not
 * select the socket want. */
typedef struct Churn {
        int prog_fd;
        uint64_t want;
        atomic_bool stop;
        unsigned runs, wrong;
} Churn;

static void *churn_lookups(void *userdata) {
        Churn *c = userdata;

        while (!atomic_load(&c->stop)) {
                uint64_t got = 0;

                if (steer_test_run(c->prog_fd, IPPROTO_TCP, "10.77.1.1", 80, &got) < 0 || got != c->want)
                        c->wrong++;
                c->runs++;
        }
        return NULL;
}

/* AddBinding and RemoveBinding rewrite the entry of 10.77.0.0/16 (ports
 * added past the inline slots, slots shifted by removals) while another
 * thread looks up its port 80: every lookup must find that binding. */
static void churn_one_prefix(SteerLink *l, uint64_t want) {
        Churn c = { .prog_fd = nl_program_fd(l->prog), .want = want };
        pthread_t th;
        NlError e = {};

        steer_bind(l, "tcp", "10.77.0.0/16", 80, "narrow");
        if (!CHECK(pthread_create(&th, NULL, churn_lookups, &c) == 0, "lookup thread"))
                return;
        for (unsigned i = 0; i < 400; i++) {
                NlSteerBinding b;

                if (nl_steer_binding_parse("tcp", "10.77.0.0/16", (uint16_t) (1000 + i), "wide", &b, &e) < 0 ||
                    nl_steer_add_binding(l->steer, &b, &e) < 0)
                        break;
                b.port = (uint16_t) (1000 + i - 8);
                if (i >= 8 && nl_steer_remove_binding(l->steer, &b, &e) < 0)
                        break;
        }
        CHECK(e.message[0] == 0, "400 changes of the prefix's entry: %s", e.message);
        atomic_store(&c.stop, true);
        pthread_join(th, NULL);
        CHECK(c.runs > 0 && c.wrong == 0, "lookups during the changes all found their binding: %u of %u did not",
              c.wrong, c.runs);
}

static void body(void) {
        SteerEnv env;
        SteerLink l;
        NlSteerBinding set[ELEMENTSOF(bindings)];
        int fds[ELEMENTSOF(bindings)];
        NlSteerChanges c = {};
        NlError e = {};

        if (!CHECK(steer_env_setup(&env) >= 0, "private netns"))
                return;
        if (steer_link_open(&env, "prec", false, &l) < 0)
                goto out;

        for (size_t i = 0; i < ELEMENTSOF(bindings); i++)
                steer_bind(&l, bindings[i].proto, bindings[i].prefix, bindings[i].port, bindings[i].label);
        for (size_t i = 0; i < ELEMENTSOF(bindings); i++) {
                fds[i] = -1;
                if (strcmp(bindings[i].label, "nosock") == 0)
                        continue;
                /* "dns" twice: registered again, swapped. */
                fds[i] = label_socket(bindings[i].proto);
                CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, bindings[i].label, fds[i], &e), &e);
        }
        run_cases(&l, "added one by one");

        /* The same set through SetBindings, in reverse: nothing may change. */
        for (size_t i = 0; i < ELEMENTSOF(bindings); i++)
                CHECK_OK(nl_steer_binding_parse(bindings[i].proto, bindings[i].prefix, bindings[i].port,
                                                bindings[i].label, &set[ELEMENTSOF(bindings) - 1 - i], &e), &e);
        CHECK_OK(nl_steer_set_bindings(l.steer, set, ELEMENTSOF(set), &c, &e), &e);
        CHECK(c.added == 0 && c.removed == 0, "same set: added %u removed %u", c.added, c.removed);
        run_cases(&l, "after SetBindings of the same set");

        /* Many ports on one prefix: past the inline slots into the overflow. */
        for (uint16_t p = 1000; p < 1020; p++)
                steer_bind(&l, "tcp", "192.168.1.0/24", p, "many");
        {
                int fd = label_socket("tcp");
                uint64_t got = 0, want;
                NlSteerBinding b;

                CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, "many", fd, &e), &e);
                want = steer_cookie(fd);
                for (uint16_t p = 1000; p < 1020; p++) {
                        CHECK_OK(steer_test_run(nl_program_fd(l.prog), IPPROTO_TCP, "192.168.1.77", p, &got), NULL);
                        CHECK(got == want, "port %u of 20 on one prefix reaches 'many'", p);
                }
                CHECK_OK(steer_test_run(nl_program_fd(l.prog), IPPROTO_TCP, "192.168.1.77", 1020, &got), NULL);
                CHECK(got == 0, "port 1020 is not bound");
                CHECK_OK(nl_steer_binding_parse("tcp", "192.168.1.0/24", 1003, NULL, &b, &e), &e);
                CHECK_OK(nl_steer_remove_binding(l.steer, &b, &e), &e);
                CHECK_OK(nl_steer_binding_parse("tcp", "192.168.1.0/24", 1017, NULL, &b, &e), &e);
                CHECK_OK(nl_steer_remove_binding(l.steer, &b, &e), &e);
                for (uint16_t p = 1000; p < 1020; p++) {
                        CHECK_OK(steer_test_run(nl_program_fd(l.prog), IPPROTO_TCP, "192.168.1.77", p, &got), NULL);
                        CHECK(got == (p == 1003 || p == 1017 ? 0 : want), "after removals, port %u", p);
                }
                close(fd);
        }

        /* Relabel by AddBinding: the new label wins at once. */
        steer_bind(&l, "tcp", "10.1.2.3/32", 443, "narrow");
        {
                uint64_t got = 0;

                CHECK_OK(steer_test_run(nl_program_fd(l.prog), IPPROTO_TCP, "10.1.2.3", 443, &got), NULL);
                CHECK(got == cookie_of(&l, "narrow", "tcp"), "relabelled binding goes to the new label");
        }

        /* Counters: the misses of the socketless label, hits of bindings. */
        {
                NlSteerDestination *d = NULL;
                NlSteerBinding *b = NULL;
                size_t n = 0, nb = 0;
                bool miss = false, hit = false;

                CHECK_OK(nl_steer_list_destinations(l.steer, &d, &n, &e), &e);
                for (size_t i = 0; i < n; i++)
                        if (strcmp(d[i].label, "nosock") == 0)
                                miss = d[i].misses >= 2 && d[i].lookups == d[i].misses && d[i].cookie == 0;
                CHECK(miss, "socketless label counts its misses");
                CHECK_OK(nl_steer_list_bindings(l.steer, &b, &nb, &e), &e);
                for (size_t i = 0; i < nb; i++)
                        if (b[i].port == 0 && b[i].prefixlen == 8 && b[i].protocol == IPPROTO_TCP)
                                hit = b[i].hits >= 3 && strcmp(b[i].label, "wide") == 0;
                CHECK(hit, "tcp 10.0.0.0/8 port 0 counts its hits, kept across SetBindings");
                free(d);
                free(b);
        }

        churn_one_prefix(&l, cookie_of(&l, "narrow", "tcp"));

        /* Every counter the program writes is its CPU's own: no atomic
         * instruction, and hits taken on each CPU land in that CPU's slot. */
        CHECK(!has_atomic(nl_program_fd(l.prog)), "the program has no atomic instruction (no shared counter)");
        {
                int wrong = count_on_each_cpu(&l);

                CHECK(wrong == 0, "a lookup on each CPU counts one hit, in that CPU's own counter (%d wrong)", wrong);
        }

        for (size_t i = 0; i < ELEMENTSOF(bindings); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        steer_link_close(&l);
out:
        steer_env_teardown(&env);
}

int main(void) {
        return test_main("steer-precedence", body);
}
