// SPDX-License-Identifier: GPL-2.0-only
/* Compiles, but the verifier refuses it: it reads far past the end of its
 * context, so the loader's error must carry the verifier's complaint. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int sk_reject(struct bpf_sk_lookup *ctx)
{
	volatile __u32 *p = (volatile __u32 *)ctx;

	return p[1000] ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
