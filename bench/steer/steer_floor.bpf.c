// SPDX-License-Identifier: GPL-2.0-only
/* The floor of bench-steer: what BPF_PROG_TEST_RUN costs by itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int steer_floor(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
