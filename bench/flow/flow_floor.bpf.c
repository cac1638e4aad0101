// SPDX-License-Identifier: GPL-2.0-only
/* The floor for bench-flow: what BPF_PROG_TEST_RUN and a program call cost
 * before any header is read. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("flow_dissector")
int flow_floor(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
