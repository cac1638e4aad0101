// SPDX-License-Identifier: GPL-2.0-only
/* The "object file" of the kernel tier: attached by path through
 * netnslinkctl, next to builtin:steer. refuse_port refuses connections to
 * one port, so the guest can see that the kernel runs it (a listener on that
 * port answers before the attach and is refused after); pass_all is what
 * update and replace swap it with, and back. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* tests/kernels/guest/check.sh listens here. */
#define KERNEL_TIER_REFUSED_PORT 4242

SEC("sk_lookup")
int refuse_port(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port == KERNEL_TIER_REFUSED_PORT)
		return SK_DROP;
	return SK_PASS;
}

SEC("sk_lookup")
int pass_all(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
