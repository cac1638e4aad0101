// SPDX-License-Identifier: GPL-2.0-only
/* The program the daemon benchmark attaches in every netns, directly and
 * through netnslinkd: what is measured is the attach, not the program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int bench_daemon(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

SEC("sk_lookup")
int bench_daemon2(struct bpf_sk_lookup *ctx)
{
	return ctx->local_port == 1 ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
