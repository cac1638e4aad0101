/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "prog-loader.h"
#include "sock-states-abi.h"
#include "sock-states.h"
#include "sock_probe.skel.h"

static const char *const state_names[_NL_SOCK_STATE_MAX] = {
        [NL_SOCK_NONE] = "",
        [NL_SOCK_UNKNOWN] = "unknown",
        [NL_SOCK_LISTENING] = "listening",
        [NL_SOCK_BOUND] = "bound",
        [NL_SOCK_NOT_LISTENING] = "not-listening",
        [NL_SOCK_CONNECTED] = "connected",
};

const char *nl_sock_state_to_string(NlSockState s) {
        return s >= 0 && s < _NL_SOCK_STATE_MAX ? state_names[s] : "";
}

static NlSockState state_of(const struct sock_state_rec *rec) {
        if (!rec->found)
                return NL_SOCK_NONE;
        if (rec->type == SOCK_STREAM)
                return rec->state == BPF_TCP_LISTEN ? NL_SOCK_LISTENING : NL_SOCK_NOT_LISTENING;
        /* UDP: TCP_CLOSE is unconnected, TCP_ESTABLISHED connected. */
        return rec->state == BPF_TCP_CLOSE ? NL_SOCK_BOUND : NL_SOCK_CONNECTED;
}

/* Runs the probe for one sockmap key. */
static int probe_one(const struct sock_probe *skel, uint32_t id, NlSockState *ret) {
        struct bpf_sk_lookup ctx = {
                .family = AF_INET, .protocol = IPPROTO_TCP, .remote_ip4 = htonl(INADDR_LOOPBACK),
                .local_ip4 = htonl(INADDR_LOOPBACK), .remote_port = htons(1), .local_port = id,
        };
        LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
        struct sock_state_rec rec = {};
        uint32_t zero = 0;
        int r;

        r = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sock_probe), &o);
        if (r >= 0)
                r = bpf_map_lookup_elem(bpf_map__fd(skel->maps.probe_out), &zero, &rec);
        if (r < 0)
                return r;
        if (rec.id != id)
                return -EIO;    /* the probe did not run on it */
        *ret = state_of(&rec);
        return 0;
}

int nl_sock_states_read(int sockmap_fd, const uint32_t *ids, size_t n, NlSockState *states, NlError *e) {
        _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {};
        struct sock_probe *skel;
        int r;

        for (size_t i = 0; i < n; i++)
                states[i] = NL_SOCK_UNKNOWN;
        if (n == 0)
                return 0;
        /* Loaded on the link's own sockmap each time: a program of ours,
         * a dozen instructions, for a call nobody makes in a hot loop. */
        nl_libbpf_capture_begin(&cap);
        skel = sock_probe__open();
        r = skel ? bpf_map__reuse_fd(skel->maps.sockets, sockmap_fd) : negative_errno();
        if (r >= 0)
                r = sock_probe__load(skel);
        nl_libbpf_capture_end(&cap);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = probe_one(skel, ids[i], &states[i]);
        sock_probe__destroy(skel);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        states[i] = NL_SOCK_UNKNOWN;
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the states of the registered sockets: %m");
        }
        return 0;
}
