/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "id-records.h"

static int records_path(const NlIdRecords *spec, const char *root, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s", root, spec->pin_name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int nl_id_records_exist(const NlIdRecords *spec, const char *root) {
        char path[4096];

        if (records_path(spec, root, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        return access(path, F_OK) >= 0;
}

int nl_id_records_open(const NlIdRecords *spec, const char *root, NlError *e) {
        /* Entries are allocated as they are used. */
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
        _cleanup_close_ int fd = -EBADF;
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        char path[4096];
        int r;

        if (records_path(spec, root, path, sizeof(path)) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Pin root path too long");
        fd = bpf_obj_get(path);
        if (fd >= 0) {
                r = bpf_obj_get_info_by_fd(fd, &info, &len);
                if (r < 0 || info.type != BPF_MAP_TYPE_HASH || info.key_size != sizeof(uint32_t) ||
                    info.value_size != spec->value_size)
                        return nl_error_set(e, NL_ERR_FAILED, -EMEDIUMTYPE, "%s is not the daemon's %s", path,
                                            spec->what);
                return TAKE_FD(fd);
        }
        if (fd != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot open %s: %m", path);
        fd = bpf_map_create(BPF_MAP_TYPE_HASH, spec->map_name, sizeof(uint32_t), spec->value_size,
                            spec->max_entries, &opts);
        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot create the %s: %m", spec->what);
        r = bpf_obj_pin(fd, path);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot pin %s: %m", path);
        return TAKE_FD(fd);
}

int nl_id_record_set(const NlIdRecords *spec, int fd, uint32_t id, const char *s,
                     bool (*gone)(uint32_t id, void *userdata), void *userdata) {
        _cleanup_free_ char *v = NULL;
        size_t n = strlen(s);
        int r;

        if (n >= spec->value_size)
                return -ENAMETOOLONG;
        v = calloc(1, spec->value_size);
        if (!v)
                return -ENOMEM;
        memcpy(v, s, n);
        r = bpf_map_update_elem(fd, &id, v, BPF_ANY);
        if (r == -E2BIG && gone && nl_id_records_prune(fd, gone, userdata) > 0)
                r = bpf_map_update_elem(fd, &id, v, BPF_ANY);
        return r;
}

int nl_id_record_get(const NlIdRecords *spec, int fd, uint32_t id, char *buf, size_t size) {
        _cleanup_free_ char *v = NULL;
        int r;

        if (fd < 0 || size == 0)
                return -EBADF;
        v = calloc(1, spec->value_size);
        if (!v)
                return -ENOMEM;
        r = bpf_map_lookup_elem(fd, &id, v);
        if (r < 0)
                return r;
        v[spec->value_size - 1] = 0;
        if (strlen(v) >= size)
                return -ENAMETOOLONG;
        memcpy(buf, v, strlen(v) + 1);
        return 0;
}

int nl_id_record_clear(int fd, uint32_t id) {
        int r = bpf_map_delete_elem(fd, &id);

        return r == -ENOENT ? 0 : r;
}

int nl_id_records_prune(int fd, bool (*gone)(uint32_t id, void *userdata), void *userdata) {
        uint32_t cur, next;
        bool more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
        int pruned = 0;

        /* The next key is read before the current one may go: deleting
         * the key a walk stands on restarts it from the first. */
        while (more) {
                more = bpf_map_get_next_key(fd, &cur, &next) == 0;
                if (gone(cur, userdata) && bpf_map_delete_elem(fd, &cur) == 0)
                        pruned++;
                cur = next;
        }
        return pruned;
}
