// SPDX-License-Identifier: GPL-2.0-only
/* Programs named as the built-ins' programs are, that are not the
 * built-ins: the daemon must not take them for builtin:steer or
 * builtin:flow, after a restart either. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int steer_lookup(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

SEC("flow_dissector")
int flow_dissect(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
