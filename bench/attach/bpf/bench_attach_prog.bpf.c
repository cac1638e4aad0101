// SPDX-License-Identifier: GPL-2.0-only
/* The program the attach benchmark attaches in every netns: the cost
 * measured is the attach and pin, not the program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int bench_pass(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
