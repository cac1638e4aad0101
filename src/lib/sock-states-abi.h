/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* bpf/sock_probe.bpf.c's answer, read by sock-states.c. */
#ifdef __bpf__
/* vmlinux.h has the types. */
#else
#include <linux/types.h>
#endif

struct sock_state_rec {
        __u32 id;               /* the sockmap key asked: a steer destination id */
        __u32 found;            /* a socket is there */
        __u32 state;            /* BPF_TCP_LISTEN, BPF_TCP_CLOSE, ... (the kernel's TCP_* numbers) */
        __u32 type;             /* SOCK_STREAM, SOCK_DGRAM */
};
