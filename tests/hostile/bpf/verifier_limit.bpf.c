// SPDX-License-Identifier: GPL-2.0-only
/* A program the verifier walks to its 1M-instruction limit: a bounded loop
 * whose every iteration it must simulate, with a state it cannot prune. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int verifier_limit(struct bpf_sk_lookup *ctx)
{
	__u32 sum = ctx->local_port;

	for (__u32 i = 0; i < 400000; i++) {
		sum = sum * 31 + i;
		asm volatile("" : "+r"(sum));
	}
	return sum == 7 ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
