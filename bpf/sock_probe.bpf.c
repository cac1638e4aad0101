// SPDX-License-Identifier: GPL-2.0-only
/* The state of one socket in a steer link's sockmap, for ListDestinations:
 * user space reads back only a socket's cookie from a sockmap, and the
 * kernel keeps a listener that was shut down in the map (no longer
 * listening) until its last fd is closed. src/lib/sock-states.c loads this
 * on the link's sockmap and runs it (BPF_PROG_TEST_RUN) once per socket,
 * the destination id in local_port; the answer lands in probe_out. */
/* Only uapi structs are read (the context, bpf_sock), whose layout never
 * changes: without CO-RE relocations libbpf need not read and parse the
 * kernel's BTF, a third of a load's time. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "sock-states-abi.h"

/* Replaced by the link's own sockmap before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock_state_rec);
} probe_out SEC(".maps");

SEC("sk_lookup")
int sock_probe(struct bpf_sk_lookup *ctx)
{
	struct sock_state_rec rec = { .id = ctx->local_port };
	struct bpf_sock *sk;
	__u32 zero = 0;

	sk = bpf_map_lookup_elem(&sockets, &rec.id);
	if (sk) {
		rec.found = 1;
		rec.state = sk->state;
		rec.type = sk->type;
		bpf_sk_release(sk);
	}
	bpf_map_update_elem(&probe_out, &zero, &rec, BPF_ANY);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
