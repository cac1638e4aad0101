// SPDX-License-Identifier: GPL-2.0-only
/* An sk_lookup program that is not built in, for the live tier: the CLI
 * passes it to the sandboxed daemon as a file descriptor. drop_4242 drops
 * every connection to local port 4242, so that real traffic shows whether
 * it runs; pass_all is a second program to swap in (update, replace). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int drop_4242(struct bpf_sk_lookup *ctx)
{
	return ctx->local_port == 4242 ? SK_DROP : SK_PASS;
}

SEC("sk_lookup")
int pass_all(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
