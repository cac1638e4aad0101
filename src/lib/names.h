/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <linux/bpf.h>

#include "error.h"

typedef enum NlAttachType {
        NL_ATTACH_SK_LOOKUP,
        NL_ATTACH_FLOW_DISSECTOR,
        _NL_ATTACH_MAX,
        _NL_ATTACH_INVALID = -EINVAL,
} NlAttachType;

#define NL_LINK_NAME_MAX 64
/* The kernel's own limits on links per netns and hook. */
#define NL_SK_LOOKUP_MAX 64
#define NL_FLOW_DISSECTOR_MAX 1

const char *nl_attach_type_to_string(NlAttachType t);
NlAttachType nl_attach_type_from_string(const char *s);
int nl_attach_type_parse(const char *s, NlAttachType *ret, NlError *e);

enum bpf_attach_type nl_attach_type_to_bpf(NlAttachType t);
enum bpf_prog_type nl_attach_type_prog_type(NlAttachType t);
NlAttachType nl_attach_type_from_bpf(enum bpf_attach_type t);
unsigned nl_attach_type_max_links(NlAttachType t);

/* 1 to 64 of [A-Za-z0-9_-]: a link name is a pin's file name, and bpffs
 * refuses any name with a dot. */
bool nl_link_name_is_valid(const char *name);
int nl_link_name_check(const char *name, NlError *e);

/* A link's origin, as a caller of Attach or AttachMany gives it (the
 * "source" key): "cni:" then the CNI container id ([A-Za-z0-9_.-]), "/"
 * and the interface name (1 to 15 printable characters, no "/", ":" or
 * blank), as the CNI spec allows them. Its record outlives a restart
 * (link-records.h). */
#define NL_LINK_ORIGIN_CNI_PREFIX "cni:"
#define NL_LINK_ORIGIN_MAX 512
#define NL_CNI_IFNAME_MAX 15
bool nl_link_origin_is_valid(const char *s);
int nl_link_origin_check(const char *s, NlError *e);
/* The parts of an origin, as CNI names them. */
bool nl_cni_container_id_is_valid(const char *s);
bool nl_cni_ifname_is_valid(const char *s);

/* Copies s into buf (size n) with control and non-ASCII bytes replaced, so
 * that a hostile string can be quoted in a message or a log line. */
const char *nl_printable(const char *s, char *buf, size_t n);
