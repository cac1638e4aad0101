/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "kernel-features.h"

static const struct {
        const char *name;
        const char *min_kernel;
} features[_NL_FEATURE_MAX] = {
        [NL_FEATURE_FLOW_DISSECTOR_LINK] = { "flow_dissector links", "5.8" },
        [NL_FEATURE_SK_LOOKUP_LINK] = { "sk_lookup links", "5.9" },
        [NL_FEATURE_SK_LOOKUP_TEST_RUN] = { "sk_lookup test runs", "5.13" },
};

const char *nl_feature_name(NlFeature f) {
        return f >= 0 && f < _NL_FEATURE_MAX ? features[f].name : NULL;
}

const char *nl_feature_min_kernel(NlFeature f) {
        return f >= 0 && f < _NL_FEATURE_MAX ? features[f].min_kernel : NULL;
}

/* r0 = ret; exit */
static int load_trivial(enum bpf_prog_type type, enum bpf_attach_type attach, int ret) {
        const struct bpf_insn insns[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
                { .code = BPF_JMP | BPF_EXIT },
        };
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach);
        int fd = bpf_prog_load(type, NULL, "GPL", insns, ELEMENTSOF(insns), &opts);

        return fd < 0 ? negative_errno() : fd;
}

/*
 * A kernel that attaches this type through links looks the target up as a
 * netns fd and so answers EBADF for fd -1; one that does not know the
 * attach type there answers EINVAL first. Nothing is attached either way.
 */
static bool has_netns_link(enum bpf_prog_type type, enum bpf_attach_type attach, int ret) {
        _cleanup_close_ int prog = load_trivial(type, attach, ret);
        int r;

        if (prog < 0)
                return false;
        r = bpf_link_create(prog, -1, attach, NULL);
        if (r >= 0) {           /* cannot happen with fd -1; never keep it */
                close(r);
                return true;
        }
        return errno == EBADF;
}

static bool has_sk_lookup_test_run(void) {
        _cleanup_close_ int prog = load_trivial(BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, 1 /* SK_PASS */);
        struct bpf_sk_lookup ctx = { .family = 2 /* AF_INET */, .protocol = 6 /* TCP */ };
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

        if (prog < 0)
                return false;
        return bpf_prog_test_run_opts(prog, &opts) == 0;
}

int nl_kernel_features_probe(NlKernelFeatures *kf) {
        struct utsname u;

        *kf = (NlKernelFeatures) {};
        if (uname(&u) == 0)
                snprintf(kf->release, sizeof(kf->release), "%s", u.release);
        kf->has[NL_FEATURE_FLOW_DISSECTOR_LINK] =
                has_netns_link(BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, 0 /* BPF_OK */);
        kf->has[NL_FEATURE_SK_LOOKUP_LINK] =
                has_netns_link(BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, 1 /* SK_PASS */);
        kf->has[NL_FEATURE_SK_LOOKUP_TEST_RUN] =
                kf->has[NL_FEATURE_SK_LOOKUP_LINK] && has_sk_lookup_test_run();
        if (!kf->has[NL_FEATURE_FLOW_DISSECTOR_LINK] && !kf->has[NL_FEATURE_SK_LOOKUP_LINK]) {
                /* Both missing means no program loads at all (no CAP_BPF, or
                 * a kernel without BPF syscall): tell the caller why. */
                int fd = load_trivial(BPF_PROG_TYPE_SOCKET_FILTER, 0, 0);

                if (fd < 0)
                        return fd;
                close(fd);
        }
        return 0;
}

int nl_kernel_require(const NlKernelFeatures *kf, NlFeature f, NlError *e) {
        if (f < 0 || f >= _NL_FEATURE_MAX)
                return -EINVAL;
        if (kf->has[f])
                return 0;
        return nl_error_set(e, NL_ERR_FAILED, -EOPNOTSUPP,
                            "This kernel (%s) has no %s: they need Linux %s or later",
                            *kf->release ? kf->release : "unknown release",
                            features[f].name, features[f].min_kernel);
}

void nl_kernel_features_describe(const NlKernelFeatures *kf, char *buf, size_t size) {
        size_t n = 0;

        if (size == 0)
                return;
        buf[0] = 0;
        for (int f = 0; f < _NL_FEATURE_MAX && n < size; f++) {
                int w = kf->has[f]
                        ? snprintf(buf + n, size - n, "%s%s yes", f ? ", " : "", features[f].name)
                        : snprintf(buf + n, size - n, "%s%s no (needs Linux %s)", f ? ", " : "",
                                   features[f].name, features[f].min_kernel);
                if (w < 0)
                        break;
                n += (size_t) w;
        }
}
