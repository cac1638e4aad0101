// SPDX-License-Identifier: GPL-2.0-only
/* Placeholder until issue 6 lands the real dissector. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("flow_dissector")
int flow_dissect(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
