// SPDX-License-Identifier: GPL-2.0-only
/* Placeholder until issue 5 lands the real dispatcher. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} steer_stats SEC(".maps");

SEC("sk_lookup")
int steer_lookup(struct bpf_sk_lookup *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&steer_stats, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
