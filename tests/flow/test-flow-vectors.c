/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * builtin:flow against the vectors of vectors.c through BPF_PROG_TEST_RUN,
 * then every vector cut at each boundary of the headers it needs: a
 * dissector that reads past the end or accepts half a header fails there.
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "flow-run.h"
#include "test-util.h"
#include "flow.skel.h"
#include "vectors.h"

static unsigned checked;

static void print_keys(const char *what, const struct bpf_flow_keys *k) {
        const uint8_t *s = (const uint8_t *) k->ipv6_src, *d = (const uint8_t *) k->ipv6_dst;

        printf("    %s: nhoff=%u thoff=%u addr_proto=%#x n_proto=%#x ip_proto=%u frag=%u first=%u encap=%u "
               "sport=%u dport=%u label=%#x flags=%#x\n      src=",
               what, k->nhoff, k->thoff, k->addr_proto, ntohs(k->n_proto), k->ip_proto, k->is_frag,
               k->is_first_frag, k->is_encap, ntohs(k->sport), ntohs(k->dport), ntohl(k->flow_label), k->flags);
        for (int i = 0; i < 16; i++)
                printf("%02x", s[i]);
        printf(" dst=");
        for (int i = 0; i < 16; i++)
                printf("%02x", d[i]);
        printf("\n");
}

static void check(const char *name, size_t len, bool ok, const char *why) {
        checked++;
        test_case("%s (%zu bytes)", name, len);
        CHECK(ok, "%s", why ? why : "");
        test_case(NULL);
}


/* Field by field: the address union has two shapes, so comparing the raw
 * bytes would be comparing a representation, not the keys. The IPv6 arrays
 * cover the IPv4 pair too. */
static bool keys_equal(const struct bpf_flow_keys *a, const struct bpf_flow_keys *b) {
        return a->nhoff == b->nhoff && a->thoff == b->thoff && a->addr_proto == b->addr_proto &&
               a->is_frag == b->is_frag && a->is_first_frag == b->is_first_frag &&
               a->is_encap == b->is_encap && a->ip_proto == b->ip_proto && a->n_proto == b->n_proto &&
               a->sport == b->sport && a->dport == b->dport &&
               memcmp(a->ipv6_src, b->ipv6_src, sizeof(a->ipv6_src)) == 0 &&
               memcmp(a->ipv6_dst, b->ipv6_dst, sizeof(a->ipv6_dst)) == 0 &&
               a->flags == b->flags && a->flow_label == b->flow_label;
}

static void run_case(int fd, const FlowCase *c) {
        struct bpf_flow_keys got, want = c->want;
        uint32_t ret;
        char why[128];
        Pkt p;
        int r;

        pkt_init(&p);
        c->build(&p);
        pkt_finish(&p);

        r = flow_run(fd, p.b, p.len, c->flags, 1, &ret, &got, NULL);
        if (r < 0) {
                snprintf(why, sizeof(why), "test run failed: %s", strerror(-r));
                check(c->name, p.len, false, why);
                return;
        }
        want.flags = c->flags;
        if (ret != c->ret) {
                snprintf(why, sizeof(why), "returned %u, want %u", ret, c->ret);
                check(c->name, p.len, false, why);
                print_keys("got ", &got);
        } else if (ret == BPF_OK && !keys_equal(&got, &want)) {
                check(c->name, p.len, false, "keys differ");
                print_keys("got ", &got);
                print_keys("want", &want);
        } else
                check(c->name, p.len, true, NULL);

        if (c->ret != BPF_OK)
                return;

        /* Each needed header cut at its start and one byte short of its
         * end. The Ethernet header itself is the test run's minimum. */
        unsigned need = c->need ? c->need : p.nhdr;
        for (unsigned i = 1; i < need && i < p.nhdr; i++) {
                size_t cuts[2] = { p.hdr[i].start, p.hdr[i].start + p.hdr[i].len - 1 };

                for (int j = 0; j < 2; j++) {
                        char name[160];

                        if (j == 1 && cuts[1] == cuts[0])
                                continue;
                        snprintf(name, sizeof(name), "%s cut at %zu", c->name, cuts[j]);
                        r = flow_run(fd, p.b, cuts[j], c->flags, 1, &ret, &got, NULL);
                        if (r < 0) {
                                snprintf(why, sizeof(why), "test run failed: %s", strerror(-r));
                                check(name, cuts[j], false, why);
                        } else if (ret != BPF_DROP) {
                                snprintf(why, sizeof(why), "returned %u, want BPF_DROP", ret);
                                check(name, cuts[j], false, why);
                        } else
                                check(name, cuts[j], true, NULL);
                }
        }
}

static void body(void) {
        struct flow *skel;
        int fd;

        skel = flow__open_and_load();
        if (!CHECK(skel, "cannot load builtin:flow: %m"))
                return;
        fd = bpf_program__fd(skel->progs.flow_dissect);

        for (unsigned i = 0; i < flow_cases_n; i++)
                run_case(fd, &flow_cases[i]);

        flow__destroy(skel);
        printf("flow: %u vectors, %u truncations of them\n", flow_cases_n, checked - flow_cases_n);
}

int main(void) {
        return test_main("flow-vectors", body);
}
