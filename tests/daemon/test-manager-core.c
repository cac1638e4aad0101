/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's Manager called directly, without D-Bus: attach, update,
 * replace, detach, batches, listing and a restart on a private bpffs and
 * private netns, each result checked against what the kernel says (the
 * pinned link's bpf_link_info, the netns' BPF_PROG_QUERY), not against
 * the Manager's own bookkeeping.
 */
#include <bpf/bpf.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <unistd.h>

#include "manager.h"
#include "test-util.h"

static char netns[TEST_NETNS_NAME_MAX];
static char root[4096];
static int netns_fd = -EBADF;
static uint32_t sk_pass_id, sk_pass2_id;

static const ProgramSpec PROG_SK_PASS = { .kind = PROGRAM_PATH, .path = TEST_OBJ_PROGS, .program = "sk_pass", .fd = -EBADF };
static const ProgramSpec PROG_SK_PASS2 = { .kind = PROGRAM_PATH, .path = TEST_OBJ_PROGS, .program = "sk_pass2", .fd = -EBADF };
static const ProgramSpec PROG_STEER = { .kind = PROGRAM_BUILTIN, .builtin = "steer", .fd = -EBADF };
static const ProgramSpec PROG_FLOW = { .kind = PROGRAM_BUILTIN, .builtin = "flow", .fd = -EBADF };

static LinkRef ref(const char *type, const char *name) {
        return (LinkRef) { .netns = netns, .type = type, .name = name };
}

/* A Manager on the private root, loading programs while the call waits
 * (no event loop here), with every pinned link found again. */
static Manager *manager_open(void) {
        Manager *m = NULL;
        NlError e = {};

        if (!CHECK_OK(manager_new(root, &m, &e), &e))
                return NULL;
        CHECK_OK(manager_load_pins(m, &e), &e);
        return m;
}

/* What the kernel says of the link pinned for (type, name): 1 if pinned. */
static int kernel_link(const Manager *m, const Link *l, struct bpf_link_info *ret) {
        char pin[4096];
        __u32 len = sizeof(*ret);
        int fd, r;

        *ret = (struct bpf_link_info) {};
        if (nl_pin_path(m->store, l->ino, l->type, l->name, pin, sizeof(pin)) < 0)
                return -ENAMETOOLONG;
        fd = bpf_obj_get(pin);
        if (fd < 0)
                return -errno;
        r = bpf_obj_get_info_by_fd(fd, ret, &len);
        close(fd);
        return r < 0 ? -errno : 1;
}

/* The link is pinned and runs prog_id in our netns, as type says. */
static void check_kernel_runs(const Manager *m, const Link *l, uint32_t prog_id, int bpf_type) {
        struct bpf_link_info info;

        if (!CHECK(kernel_link(m, l, &info) > 0, "link '%s' is pinned", l->name))
                return;
        CHECK_INT_EQ(info.id, l->info.link_id);
        CHECK_INT_EQ(info.prog_id, prog_id);
        CHECK_INT_EQ(l->info.prog_id, prog_id);
        CHECK_INT_EQ(info.netns.netns_ino, test_netns_ino(netns));
        CHECK_INT_EQ(info.netns.attach_type, bpf_type);
}

/* The name the kernel gives the program of that id. */
static const char *kernel_prog_name(uint32_t id, char buf[BPF_OBJ_NAME_LEN]) {
        struct bpf_prog_info info = {};
        __u32 len = sizeof(info);
        int fd = bpf_prog_get_fd_by_id(id);

        buf[0] = 0;
        if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) >= 0)
                snprintf(buf, BPF_OBJ_NAME_LEN, "%s", info.name);
        if (fd >= 0)
                close(fd);
        return buf;
}

static void setup(void) {
        test_case("setup");
        CHECK_OK(test_netns_add(netns), NULL);
        netns_fd = test_netns_fd(netns);
        CHECK(netns_fd >= 0, "netns fd");
        CHECK_OK(test_bpffs_dir("netnslinkd", root, sizeof(root)), NULL);
}

static void test_attach_update_replace(Manager *m) {
        LinkRef a = ref("sk_lookup", "a");
        char name[BPF_OBJ_NAME_LEN];
        Link *l = NULL;
        NlError e = {};

        test_case("attach");
        if (!CHECK_OK(manager_attach(m, &a, &PROG_SK_PASS, NULL, &l, &e), &e))
                return;
        sk_pass_id = l->info.prog_id;
        check_kernel_runs(m, l, sk_pass_id, BPF_SK_LOOKUP);
        CHECK_STR_EQ(kernel_prog_name(sk_pass_id, name), "sk_pass");
        CHECK_INT_EQ(test_netns_prog_count(netns_fd, BPF_SK_LOOKUP), 1);
        CHECK_INT_EQ(manager_link_order(m, l), 0);

        test_case("attach a name in use");
        CHECK_ERR(manager_attach(m, &a, &PROG_SK_PASS2, NULL, &l, &e), &e, NL_ERR_LINK_EXISTS);
        CHECK_INT_EQ(test_netns_prog_count(netns_fd, BPF_SK_LOOKUP), 1);

        test_case("update");
        if (!CHECK_OK(manager_update(m, &a, &PROG_SK_PASS2, NULL, &l, &e), &e))
                return;
        sk_pass2_id = l->info.prog_id;
        check_kernel_runs(m, l, sk_pass2_id, BPF_SK_LOOKUP);
        CHECK_STR_EQ(kernel_prog_name(sk_pass2_id, name), "sk_pass2");

        test_case("replace, expecting another program");
        CHECK_ERR(manager_replace(m, &a, sk_pass_id, &PROG_SK_PASS, NULL, &l, &e), &e, NL_ERR_PROGRAM_MISMATCH);
        check_kernel_runs(m, l, sk_pass2_id, BPF_SK_LOOKUP);

        test_case("replace");
        if (!CHECK_OK(manager_replace(m, &a, sk_pass2_id, &PROG_SK_PASS, NULL, &l, &e), &e))
                return;
        check_kernel_runs(m, l, l->info.prog_id, BPF_SK_LOOKUP);
        CHECK(l->info.prog_id != sk_pass2_id, "runs sk_pass again, not %u", sk_pass2_id);
        CHECK_STR_EQ(kernel_prog_name(l->info.prog_id, name), "sk_pass");
}

static void test_builtins_and_list(Manager *m) {
        LinkRef s = ref("sk_lookup", "s"), f = ref("flow_dissector", "f");
        _cleanup_free_ Link **links = NULL;
        Link *l = NULL;
        NlError e = {};
        size_t n = 0;

        test_case("attach builtin:steer");
        if (CHECK_OK(manager_attach(m, &s, &PROG_STEER, NULL, &l, &e), &e)) {
                check_kernel_runs(m, l, l->info.prog_id, BPF_SK_LOOKUP);
                CHECK(manager_link_runs_steer(l), "runs steer");
                CHECK_STR_EQ(l->source, "builtin:steer");
                CHECK_INT_EQ(manager_link_order(m, l), 1);
        }
        test_case("attach builtin:flow");
        if (CHECK_OK(manager_attach(m, &f, &PROG_FLOW, NULL, &l, &e), &e))
                check_kernel_runs(m, l, l->info.prog_id, BPF_FLOW_DISSECTOR);
        CHECK_INT_EQ(test_netns_prog_count(netns_fd, BPF_FLOW_DISSECTOR), 1);

        test_case("list");
        if (CHECK_OK(manager_list(m, netns, &links, &n, &e), &e) && CHECK_INT_EQ(n, 3)) {
                /* By type (sk_lookup first), then attach order. */
                CHECK_STR_EQ(links[0]->name, "a");
                CHECK_STR_EQ(links[1]->name, "s");
                CHECK_STR_EQ(links[2]->name, "f");
        }
        test_case("get");
        CHECK_OK(manager_get(m, &s, &l, &e), &e);
        CHECK_STR_EQ(l->name, "s");
}

static void test_errors(Manager *m) {
        LinkRef nosuch = ref("sk_lookup", "nosuch"), badtype = ref("xdp", "a"), badname = ref("sk_lookup", "a.b");
        LinkRef nons = { .netns = "nosuch-netns", .type = "sk_lookup", .name = "a" };
        Link *l = NULL;
        NlError e = {};

        test_case("errors");
        CHECK_ERR(manager_get(m, &nosuch, &l, &e), &e, NL_ERR_NO_SUCH_LINK);
        CHECK_ERR(manager_detach(m, &nosuch, &e), &e, NL_ERR_NO_SUCH_LINK);
        CHECK_ERR(manager_attach(m, &badtype, &PROG_SK_PASS, NULL, &l, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_ERR(manager_attach(m, &badname, &PROG_SK_PASS, NULL, &l, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_ERR(manager_attach(m, &nons, &PROG_SK_PASS, NULL, &l, &e), &e, NL_ERR_NO_SUCH_NETNS);
        CHECK_INT_EQ(test_netns_prog_count(netns_fd, BPF_SK_LOOKUP), 2);
}

static void test_batches(Manager *m) {
        const LinkRef refs[] = { ref("sk_lookup", "b0"), ref("sk_lookup", "b1"), ref("sk_lookup", "b2") };
        const ProgramSpec progs[] = { PROG_SK_PASS, PROG_SK_PASS2, PROG_STEER };
        const LinkRef bad[] = { ref("sk_lookup", "b3"), ref("sk_lookup", "a") };
        _cleanup_free_ Link **links = NULL;
        Link **none = NULL;
        NlError e = {};

        test_case("attach many");
        if (CHECK_OK(manager_attach_many(m, refs, progs, ELEMENTSOF(refs), NULL, &links, &e), &e))
                for (size_t i = 0; i < ELEMENTSOF(refs); i++)
                        check_kernel_runs(m, links[i], links[i]->info.prog_id, BPF_SK_LOOKUP);
        CHECK_INT_EQ(test_netns_prog_count(netns_fd, BPF_SK_LOOKUP), 5);

        test_case("attach many, all or nothing");
        CHECK_ERR(manager_attach_many(m, bad, progs, ELEMENTSOF(bad), NULL, &none, &e), &e, NL_ERR_LINK_EXISTS);
        CHECK_CONTAINS(e.message, "Element 1");
        CHECK_INT_EQ(test_wait_prog_count(netns_fd, BPF_SK_LOOKUP, 5, 2000), 5);
        CHECK(!test_exists("%s/%" PRIu64 "/sk_lookup/b3", root, test_netns_ino(netns)), "b3 not pinned");

        test_case("detach many");
        CHECK_OK(manager_detach_many(m, refs, ELEMENTSOF(refs), &e), &e);
        CHECK_INT_EQ(test_wait_prog_count(netns_fd, BPF_SK_LOOKUP, 2, 2000), 2);
        for (size_t i = 0; i < ELEMENTSOF(refs); i++)
                CHECK(!test_exists("%s/%" PRIu64 "/sk_lookup/%s", root, test_netns_ino(netns), refs[i].name),
                      "%s unpinned", refs[i].name);
}

/* A new Manager on the same root finds every link the last one left. */
static Manager *test_restart(Manager *m) {
        _cleanup_free_ Link **links = NULL;
        NlError e = {};
        size_t n = 0;

        test_case("restart");
        manager_free(m);
        m = manager_open();
        if (!m)
                return NULL;
        CHECK_INT_EQ(hashmap_size(m->links), 3);
        if (CHECK_OK(manager_list(m, "", &links, &n, &e), &e) && CHECK_INT_EQ(n, 3))
                for (size_t i = 0; i < n; i++)
                        check_kernel_runs(m, links[i], links[i]->info.prog_id,
                                          links[i]->type == NL_ATTACH_SK_LOOKUP ? BPF_SK_LOOKUP
                                                                               : BPF_FLOW_DISSECTOR);
        return m;
}

static void test_detach(Manager *m) {
        static const char *const names[] = { "a", "s" };
        LinkRef f = ref("flow_dissector", "f");
        NlError e = {};

        test_case("detach");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                LinkRef r = ref("sk_lookup", names[i]);
                CHECK_OK(manager_detach(m, &r, &e), &e);
                CHECK_ERR(manager_detach(m, &r, &e), &e, NL_ERR_NO_SUCH_LINK);
        }
        CHECK_OK(manager_detach(m, &f, &e), &e);
        CHECK_INT_EQ(test_wait_prog_count(netns_fd, BPF_SK_LOOKUP, 0, 2000), 0);
        CHECK_INT_EQ(test_wait_prog_count(netns_fd, BPF_FLOW_DISSECTOR, 0, 2000), 0);
        CHECK_INT_EQ(hashmap_size(m->links), 0);
        CHECK(!test_exists("%s/%" PRIu64 "/steer/s", root, test_netns_ino(netns)), "steer maps removed");
}

static void body(void) {
        Manager *m;

        setup();
        m = manager_open();
        if (!m)
                return;
        test_attach_update_replace(m);
        test_builtins_and_list(m);
        test_errors(m);
        test_batches(m);
        m = test_restart(m);
        if (m)
                test_detach(m);
        manager_free(m);
}

int main(void) {
        return test_main("test-manager-core", body);
}
