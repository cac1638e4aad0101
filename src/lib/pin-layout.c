/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdio.h>

#include "pin-layout.h"

/* The marker's map, checked to be one; -ENOENT without an error if there
 * is none. path: where it is, for messages. */
static int layout_open(const char *root, char *path, size_t size, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        int n;

        n = snprintf(path, size, "%s/" NL_PIN_LAYOUT_NAME, root);
        if (n < 0 || (size_t) n >= size)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Pin root path too long");
        fd = bpf_obj_get(path);
        if (fd < 0)
                return fd == -ENOENT ? -ENOENT : nl_error_set(e, NL_ERR_FAILED, fd, "Cannot open %s: %m", path);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.type != BPF_MAP_TYPE_ARRAY ||
            info.key_size != sizeof(uint32_t) || info.value_size != sizeof(uint32_t) || info.max_entries != 1)
                return nl_error_set(e, NL_ERR_FAILED, -EMEDIUMTYPE,
                                    "%s is not a pin layout marker (a one-entry array of a 32-bit version)", path);
        return TAKE_FD(fd);
}

int nl_pin_layout_read(const char *root, uint32_t *ret, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t key = 0, v;
        char path[4096];
        int r;

        fd = layout_open(root, path, sizeof(path), e);
        if (fd == -ENOENT) {
                *ret = 1;
                return 0;
        }
        if (fd < 0)
                return fd;
        r = bpf_map_lookup_elem(fd, &key, &v);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the pin layout version in %s: %m", path);
        if (v == 0)
                return nl_error_set(e, NL_ERR_FAILED, -EINVAL, "%s says version 0, which no release writes", path);
        *ret = v;
        return 0;
}

int nl_pin_layout_check(const char *root, uint32_t *ret, NlError *e) {
        int r = nl_pin_layout_read(root, ret, e);

        if (r < 0)
                return r;
        if (*ret > NL_PIN_LAYOUT_VERSION)
                return nl_error_set(e, NL_ERR_FAILED, -EPROTONOSUPPORT,
                                    "Pin root %s has layout version %u, newer than version %u, the newest this "
                                    "netnslinkd knows: refusing to start, so as not to misread it (run the "
                                    "netnslinkd that wrote it, or a newer one)",
                                    root, *ret, NL_PIN_LAYOUT_VERSION);
        return 0;
}

int nl_pin_layout_write(const char *root, uint32_t version, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t key = 0;
        char path[4096];
        int r;

        fd = layout_open(root, path, sizeof(path), e);
        if (fd >= 0) {
                r = bpf_map_update_elem(fd, &key, &version, BPF_ANY);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot write the pin layout version in %s: %m", path);
                return 0;
        }
        if (fd != -ENOENT)
                return fd;
        fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nl_layout", sizeof(uint32_t), sizeof(uint32_t), 1, NULL);
        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot create the pin layout marker: %m");
        r = bpf_map_update_elem(fd, &key, &version, BPF_ANY);
        if (r >= 0)
                r = bpf_obj_pin(fd, path);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot write the pin layout marker %s: %m", path);
        return 0;
}
