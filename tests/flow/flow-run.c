/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <string.h>

#include "flow-run.h"

int flow_run(int prog_fd, const void *pkt, size_t len, uint32_t flags, uint32_t repeat,
             uint32_t *ret, struct bpf_flow_keys *keys, uint32_t *duration_ns) {
        struct bpf_flow_keys in = { .flags = flags };
        int r;

        /* The kernel refuses any other field of the context than flags. */
        memset(keys, 0, sizeof(*keys));
        LIBBPF_OPTS(bpf_test_run_opts, opts,
                    .data_in = pkt,
                    .data_size_in = len,
                    .data_out = keys,
                    .data_size_out = sizeof(*keys),
                    .ctx_in = &in,
                    .ctx_size_in = sizeof(in),
                    .repeat = repeat);
        r = bpf_prog_test_run_opts(prog_fd, &opts);
        if (r < 0)
                return r;
        *ret = opts.retval;
        if (duration_ns)
                *duration_ns = opts.duration;
        return 0;
}
