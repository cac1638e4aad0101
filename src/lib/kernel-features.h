/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"

/*
 * What the running kernel can do, probed once at start (nothing is attached:
 * the probes load a two-instruction program and make calls that fail in a
 * way that tells whether the kernel knows the command). Users run kernels
 * from 5.10 (Debian 11) up; a feature whose kernel is too old is refused by
 * name and minimum version instead of with the kernel's bare EINVAL.
 */
typedef enum NlFeature {
        NL_FEATURE_FLOW_DISSECTOR_LINK,  /* netns links at the flow_dissector hook */
        NL_FEATURE_SK_LOOKUP_LINK,       /* the sk_lookup hook, its links and bpf_sk_assign */
        NL_FEATURE_SK_LOOKUP_TEST_RUN,   /* BPF_PROG_TEST_RUN of sk_lookup programs */
        _NL_FEATURE_MAX,
} NlFeature;

typedef struct NlKernelFeatures {
        char release[65];                /* uname -r */
        bool has[_NL_FEATURE_MAX];
} NlKernelFeatures;

/* What a feature is for, in words, and the first Linux release with it. */
const char *nl_feature_name(NlFeature f);
const char *nl_feature_min_kernel(NlFeature f);

/* Probes every feature; fails only if not even a program can be loaded. */
int nl_kernel_features_probe(NlKernelFeatures *kf);

/* 0 if the kernel has f, else -EOPNOTSUPP with a message in e that names the
 * feature, the release it needs and the running one. */
int nl_kernel_require(const NlKernelFeatures *kf, NlFeature f, NlError *e);

/* "name yes, name no (needs Linux V), ..." for the start-up log. */
void nl_kernel_features_describe(const NlKernelFeatures *kf, char *buf, size_t size);
