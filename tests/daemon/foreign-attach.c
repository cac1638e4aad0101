/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * foreign-attach NETNS READY drop PORT
 * foreign-attach NETNS READY select PROTO ADDR PORT NAME LOOKUP_PORT
 *
 * Another tool's sk_lookup program, attached behind the daemon's back with
 * a bare bpf_link_create, held until this process is killed:
 *   drop    drops every lookup for local port PORT (passes the rest);
 *   select  opens a PROTO (tcp, udp) socket on IPv4 ADDR:PORT in NETNS,
 *           answers each connection or datagram with NAME (as
 *           tests/steer/steer-traffic.py does), and selects that socket,
 *           replacing any earlier choice (BPF_SK_LOOKUP_F_REPLACE), for
 *           every lookup for local port LOOKUP_PORT.
 * The programs are hand-written instructions, so that nothing of the
 * project's BPF is in them. Writes "LINK_ID PROG_ID" to READY when
 * attached.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link-ops.h"
#include "netns-ref.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LOCAL_PORT_OFF ((short) offsetof(struct bpf_sk_lookup, local_port))

static int load(struct bpf_insn *insns, size_t n, const char *name) {
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP);
        return bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, name, "GPL", insns, n, &opts);
}

static int load_drop(int port) {
        struct bpf_insn p[] = {
                INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, LOCAL_PORT_OFF, 0),
                INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_PASS),
                INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 1, port),
                INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_DROP),
                INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
        };
        return load(p, sizeof(p) / sizeof(p[0]), "foreign_drop");
}

static int load_select(int port, int map_fd) {
        struct bpf_insn p[] = {
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),                  /* r6 = ctx */
                INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 6, LOCAL_PORT_OFF, 0),
                INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 14, port),                /* -> pass */
                INSN(BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, 0),                   /* key 0 */
                INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
                INSN(0, 0, 0, 0, 0),
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
                INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
                INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
                INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 7, 0),                    /* -> pass */
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 7, 0, 0),
                INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, BPF_SK_LOOKUP_F_REPLACE),
                INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_assign),
                INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 7, 0, 0),
                INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_release),
                INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_PASS),            /* pass: */
                INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
        };
        return load(p, sizeof(p) / sizeof(p[0]), "foreign_select");
}

static int open_socket(const char *proto, const char *addr, int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        bool tcp = strcmp(proto, "tcp") == 0;
        int one = 1, fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

        if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || (tcp && listen(fd, 64) < 0))
                return -1;
        return fd;
}

static void serve(int fd, bool tcp, const char *name) {
        char line[128], buf[64];

        snprintf(line, sizeof(line), "%s\n", name);
        for (;;) {
                if (tcp) {
                        int c = accept(fd, NULL, NULL);
                        if (c >= 0) {
                                (void) !write(c, line, strlen(line));
                                close(c);
                        }
                } else {
                        struct sockaddr_storage peer;
                        socklen_t len = sizeof(peer);
                        if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *) &peer, &len) >= 0)
                                (void) sendto(fd, name, strlen(name), 0, (struct sockaddr *) &peer, len);
                }
        }
}

int main(int argc, char **argv) {
        NlNetns ns = { .fd = -1 };
        NlLinkInfo info;
        NlError e = {};
        int prog_fd, link_fd, sock_fd = -1;
        bool select = argc == 9 && strcmp(argv[3], "select") == 0;
        FILE *f;

        if (!select && !(argc == 5 && strcmp(argv[3], "drop") == 0)) {
                fprintf(stderr, "usage: %s NETNS READY drop PORT | select PROTO ADDR PORT NAME LOOKUP_PORT\n", argv[0]);
                return 2;
        }
        if (nl_netns_open(argv[1], &ns, &e) < 0 || setns(ns.fd, CLONE_NEWNET) < 0) {
                fprintf(stderr, "foreign-attach: cannot enter %s: %s\n", argv[1], e.message[0] ? e.message : "setns");
                return 1;
        }
        if (select) {
                uint32_t key = 0;
                uint64_t value;
                int map_fd = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, NULL, 4, 8, 1, NULL);

                sock_fd = open_socket(argv[4], argv[5], atoi(argv[6]));
                value = (uint64_t) sock_fd;
                if (map_fd < 0 || sock_fd < 0 || bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) < 0) {
                        perror("foreign-attach: socket or sockmap");
                        return 1;
                }
                prog_fd = load_select(atoi(argv[8]), map_fd);
        } else
                prog_fd = load_drop(atoi(argv[4]));
        if (prog_fd < 0) {
                fprintf(stderr, "foreign-attach: load: %s\n", strerror(-prog_fd));
                return 1;
        }
        link_fd = nl_link_create(prog_fd, ns.fd, NL_ATTACH_SK_LOOKUP, &e);
        if (link_fd < 0 || nl_link_get_info(link_fd, false, &info) < 0) {
                fprintf(stderr, "foreign-attach: link: %s\n", e.message);
                return 1;
        }
        f = fopen(argv[2], "we");
        if (!f)
                return 1;
        fprintf(f, "%u %u\n", info.link_id, info.prog_id);
        fclose(f);
        if (select)
                serve(sock_fd, strcmp(argv[4], "tcp") == 0, argv[7]);
        pause();
        return 0;
}
