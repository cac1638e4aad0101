/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pinned records by id (id-records.h): which links a configuration
 * file made (link-records.h) and the sources of loaded programs
 * (builtin-marks.h), on a private bpffs. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "builtin-marks.h"
#include "link-records.h"
#include "pin-store.h"
#include "test-util.h"

static bool odd(uint32_t id, void *userdata) {
        unsigned *asked = userdata;

        (*asked)++;
        return id % 2 == 1;
}

static void test_link_records(void) {
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF;
        char root[512], buf[NL_LINK_RECORD_PATH_MAX], long_path[NL_LINK_RECORD_PATH_MAX + 1];
        unsigned asked = 0;
        NlError e = {};

        test_case("link records: made on first open, found through the pin");
        CHECK_OK(test_bpffs_dir("records", root, sizeof(root)), NULL);
        fd = nl_link_records_open(root, &e);
        CHECK_OK(fd, &e);
        if (fd < 0)
                return;
        CHECK_OK(nl_link_record_set(fd, 7, "/etc/netnslink/links.d/web.conf", &e), &e);
        fd2 = nl_link_records_open(root, &e);
        CHECK_OK(fd2, &e);
        CHECK_OK(nl_link_record_get(fd2, 7, buf, sizeof(buf)), NULL);
        CHECK_STR_EQ(buf, "/etc/netnslink/links.d/web.conf");
        CHECK_INT_EQ(nl_link_record_get(fd2, 8, buf, sizeof(buf)), -ENOENT);

        test_case("link records: set again replaces, clear drops, twice is no error");
        CHECK_OK(nl_link_record_set(fd, 7, "/run/netnslink/links.d/web.conf", &e), &e);
        CHECK_OK(nl_link_record_get(fd, 7, buf, sizeof(buf)), NULL);
        CHECK_STR_EQ(buf, "/run/netnslink/links.d/web.conf");
        CHECK_INT_EQ(nl_link_record_clear(fd, 7), 0);
        CHECK_INT_EQ(nl_link_record_clear(fd, 7), 0);
        CHECK_INT_EQ(nl_link_record_get(fd, 7, buf, sizeof(buf)), -ENOENT);

        test_case("link records: a path that does not fit is refused, naming it");
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = 0;
        CHECK_ERR(nl_link_record_set(fd, 9, long_path, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_CONTAINS(e.message, "is longer than 1023 bytes");
        CHECK_INT_EQ(nl_link_record_get(fd, 9, buf, sizeof(buf)), -ENOENT);
        CHECK_INT_EQ(nl_link_record_get(fd, 9, buf, 4), -ENOENT);

        test_case("link records: a buffer too small for a record is refused");
        CHECK_OK(nl_link_record_set(fd, 10, "/a/long/enough/path.conf", &e), &e);
        CHECK_INT_EQ(nl_link_record_get(fd, 10, buf, 8), -ENAMETOOLONG);

        test_case("link records: prune drops exactly what gone() names");
        for (uint32_t id = 1; id <= 6; id++)
                CHECK_OK(nl_link_record_set(fd, id, "/x.conf", &e), &e);
        CHECK_INT_EQ(nl_link_records_prune(fd, odd, &asked), 3);
        CHECK_INT_EQ(asked, 7);         /* 1..6 and 10 */
        for (uint32_t id = 1; id <= 6; id++)
                CHECK_INT_EQ(nl_link_record_get(fd, id, buf, sizeof(buf)) == 0, id % 2 == 0);
        CHECK_OK(nl_link_record_get(fd, 10, buf, sizeof(buf)), NULL);

        test_case("link records: a pin of another shape in their place is refused");
        CHECK_INT_EQ(nl_pin_rm_rf(root), 0);
        CHECK_OK(test_bpffs_dir("records", root, sizeof(root)), NULL);
        {
                _cleanup_close_ int other = bpf_map_create(BPF_MAP_TYPE_HASH, "x", 4, 16, 4, NULL);
                char path[600];

                snprintf(path, sizeof(path), "%s/" NL_LINK_RECORDS_NAME, root);
                CHECK_INT_EQ(bpf_obj_pin(other, path), 0);
                CHECK_ERR(nl_link_records_open(root, &e), &e, NL_ERR_FAILED);
                CHECK_CONTAINS(e.message, "is not the daemon's record of configured links");
        }
}

static void test_prog_sources(void) {
        _cleanup_close_ int fd = -EBADF;
        char root[512], buf[NL_PROG_SOURCE_MAX];
        NlError e = {};

        test_case("program sources: recorded, read back, cleared by a builtin's");
        CHECK_OK(test_bpffs_dir("sources", root, sizeof(root)), NULL);
        fd = nl_prog_sources_open(root, &e);
        CHECK_OK(fd, &e);
        if (fd < 0)
                return;
        CHECK_OK(nl_prog_source_record(fd, 42, "sha256:0123456789ab:sk_pass", &e), &e);
        CHECK_OK(nl_prog_source_recorded(fd, 42, buf, sizeof(buf)), NULL);
        CHECK_STR_EQ(buf, "sha256:0123456789ab:sk_pass");
        /* Program ids are reused only after the program is gone: a builtin
         * loaded under an id clears what an object's program left there. */
        CHECK_OK(nl_prog_source_record(fd, 42, "builtin:steer", &e), &e);
        CHECK_INT_EQ(nl_prog_source_recorded(fd, 42, buf, sizeof(buf)), -ENOENT);

        test_case("program sources: pruned when no program has the id");
        CHECK_OK(nl_prog_source_record(fd, 0x7ffffff0, "sha256:0123456789ab:gone", &e), &e);
        CHECK_INT_EQ(nl_prog_sources_prune(fd), 1);
        CHECK_INT_EQ(nl_prog_source_recorded(fd, 0x7ffffff0, buf, sizeof(buf)), -ENOENT);
}

static void run(void) {
        int before = test_count_fds();

        test_link_records();
        test_prog_sources();
        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), before);
}

int main(void) {
        return test_main("lib/test-link-records", run);
}
