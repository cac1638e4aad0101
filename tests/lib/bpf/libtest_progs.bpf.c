// SPDX-License-Identifier: GPL-2.0-only
/* Small programs for the core library's tests: two distinct sk_lookup
 * programs (so that update and replace have something to swap), a flow
 * dissector, and an XDP program to be refused as the wrong type. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int sk_pass(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

/* Different code, so a different tag (only port 1, unused by the tests,
 * is dropped). */
SEC("sk_lookup")
int sk_pass2(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port == 1)
		return SK_DROP;
	return SK_PASS;
}

SEC("flow_dissector")
int flow_ok(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
