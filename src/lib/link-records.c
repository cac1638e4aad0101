/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "id-records.h"
#include "link-records.h"

/* One per configured link: a netns holds at most 65 links, and the
 * contract's scale is some thousands of netns. */
static const NlIdRecords records = {
        .pin_name = NL_LINK_RECORDS_NAME,
        .map_name = "nl_configs",
        .what = "record of configured links",
        .value_size = NL_LINK_RECORD_PATH_MAX,
        .max_entries = 1U << 18,
};

int nl_link_records_open(const char *root, NlError *e) {
        return nl_id_records_open(&records, root, e);
}

int nl_link_record_set(int fd, uint32_t link_id, const char *path, NlError *e) {
        int r = nl_id_record_set(&records, fd, link_id, path, NULL, NULL);

        if (r == -ENAMETOOLONG)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, r, "Configuration file path %s is longer than %u bytes",
                                    path, NL_LINK_RECORD_PATH_MAX - 1);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record that %s made link %u: %m", path, link_id);
        return 0;
}

int nl_link_record_get(int fd, uint32_t link_id, char *buf, size_t size) {
        return nl_id_record_get(&records, fd, link_id, buf, size);
}

int nl_link_record_clear(int fd, uint32_t link_id) {
        return nl_id_record_clear(fd, link_id);
}

int nl_link_records_prune(int fd, bool (*gone)(uint32_t link_id, void *userdata), void *userdata) {
        return nl_id_records_prune(fd, gone, userdata);
}
