/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Runs a flow dissector program on one packet with BPF_PROG_TEST_RUN, the
 * way the kernel runs it on a frame it has not parsed yet: nhoff 14 and
 * n_proto from the Ethernet header (net/bpf/test_run.c), only the flags
 * taken from the context passed in, the resulting keys coming back as the
 * output data.
 */
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

/* Returns the BPF_PROG_TEST_RUN error (negative errno) or 0, with the
 * program's return code in *ret and the keys in *keys. repeat 0 is 1. */
int flow_run(int prog_fd, const void *pkt, size_t len, uint32_t flags, uint32_t repeat,
             uint32_t *ret, struct bpf_flow_keys *keys, uint32_t *duration_ns);
