/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel feature probes: each feature is found on the releases that
 * have it (tests/kernels checks Debian's older ones), the probes attach nothing, and a refusal names the feature,
 * the release it needs and the running one. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/utsname.h>

#include <linux/bpf.h>

#include "kernel-features.h"
#include "test-util.h"

/* "6.1.0-28-amd64" -> 601; "5.10" -> 510. */
static int version_of(const char *release) {
        int major = 0, minor = 0;

        if (sscanf(release, "%d.%d", &major, &minor) != 2)
                return -1;
        return major * 100 + minor;
}

static void test_probe_matches_release(void) {
        NlKernelFeatures kf;
        struct utsname u;
        int running;

        CHECK_INT_EQ(uname(&u), 0);
        running = version_of(u.release);
        CHECK(running > 0, "cannot read the running release '%s'", u.release);
        CHECK_OK(nl_kernel_features_probe(&kf), NULL);
        CHECK_STR_EQ(kf.release, u.release);
        /* One way only: a distribution may backport a feature to an older
         * release (Debian's 5.10 runs sk_lookup programs in test runs). */
        for (int f = 0; f < _NL_FEATURE_MAX; f++) {
                test_case("%s (Linux %s) on %s", nl_feature_name(f), nl_feature_min_kernel(f), u.release);
                if (running >= version_of(nl_feature_min_kernel(f)))
                        CHECK(kf.has[f], "probe says no on a release that has it");
        }
        test_case(NULL);
}

/* The probes make no link: the hooks of the netns the test runs in hold
 * as many programs after a probe as before. */
static void test_probe_attaches_nothing(void) {
        _cleanup_close_ int netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int sk_before, flow_before;
        NlKernelFeatures kf;

        CHECK(netns >= 0, "cannot open the test's netns");
        sk_before = test_netns_prog_count(netns, BPF_SK_LOOKUP);
        flow_before = test_netns_prog_count(netns, BPF_FLOW_DISSECTOR);
        CHECK(sk_before >= 0 && flow_before >= 0, "cannot query the hooks");
        for (int i = 0; i < 3; i++)
                CHECK_OK(nl_kernel_features_probe(&kf), NULL);
        CHECK_INT_EQ(test_netns_prog_count(netns, BPF_SK_LOOKUP), sk_before);
        CHECK_INT_EQ(test_netns_prog_count(netns, BPF_FLOW_DISSECTOR), flow_before);
}

static void test_require(void) {
        NlKernelFeatures kf = { .release = "5.10.0-33-amd64" };
        char text[512];
        NlError e = {};

        kf.has[NL_FEATURE_SK_LOOKUP_LINK] = true;
        CHECK_INT_EQ(nl_kernel_require(&kf, NL_FEATURE_SK_LOOKUP_LINK, &e), 0);
        CHECK_INT_EQ(e.kind, NL_ERR_NONE);

        CHECK_ERR(nl_kernel_require(&kf, NL_FEATURE_SK_LOOKUP_TEST_RUN, &e), &e, NL_ERR_FAILED);
        CHECK_INT_EQ(e.error, EOPNOTSUPP);
        CHECK_CONTAINS(e.message, "sk_lookup test runs");
        CHECK_CONTAINS(e.message, "Linux 5.13 or later");
        CHECK_CONTAINS(e.message, "5.10.0-33-amd64");

        nl_kernel_features_describe(&kf, text, sizeof(text));
        CHECK_STR_EQ(text, "flow_dissector links no (needs Linux 5.8), sk_lookup links yes, "
                           "sk_lookup test runs no (needs Linux 5.13)");
        /* A short buffer is cut, never overrun. */
        nl_kernel_features_describe(&kf, text, 10);
        CHECK_INT_EQ(strlen(text), 9);
}

static void body(void) {
        test_probe_matches_release();
        test_probe_attaches_nothing();
        test_require();
}

int main(void) {
        return test_main("kernel-features", body);
}
