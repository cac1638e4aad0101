/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "map-pins.h"
#include "pin-store.h"

int nl_map_open_pinned(const char *dir, const char *name, struct bpf_map_info *info, char *path,
                       size_t path_size) {
        uint32_t len = sizeof(*info);
        int fd, r;

        if (snprintf(path, path_size, "%s/%s", dir, name) >= (int) path_size)
                return -ENAMETOOLONG;
        fd = bpf_obj_get(path);
        if (fd < 0)
                return fd;
        *info = (struct bpf_map_info) {};
        r = bpf_obj_get_info_by_fd(fd, info, &len);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return fd;
}

int nl_map_open_pinned_as(const struct bpf_map *map, const char *dir, NlMapMatch match, char *path,
                          size_t path_size) {
        struct bpf_map_info info;
        int fd;

        fd = nl_map_open_pinned(dir, bpf_map__name(map), &info, path, path_size);
        if (fd < 0)
                return fd;
        if (info.type != bpf_map__type(map) || info.value_size != bpf_map__value_size(map) ||
            (match == NL_MAP_MATCH_LAYOUT &&
             (info.key_size != bpf_map__key_size(map) || info.map_flags != bpf_map__map_flags(map)))) {
                safe_close(fd);
                return -EMEDIUMTYPE;
        }
        return fd;
}

void nl_map_pins_remove(const char *dir) {
        char parent[4096];
        char *slash;

        if (!dir || !*dir)
                return;
        (void) nl_pin_rm_rf(dir);
        snprintf(parent, sizeof(parent), "%s", dir);
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                (void) rmdir(parent);
        }
}

/* More than any program of ours uses: steer has ten maps and .rodata. */
#define PROG_MAPS_MAX 64

int nl_prog_pin_maps(uint32_t prog_id, const char *dir, NlError *e) {
        _cleanup_close_ int prog_fd = -EBADF;
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info), ids[PROG_MAPS_MAX];
        int r, pinned = 0;

        prog_fd = bpf_prog_get_fd_by_id(prog_id);
        if (prog_fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, prog_fd, "Cannot open program %u: %m", prog_id);
        info.nr_map_ids = PROG_MAPS_MAX;
        info.map_ids = (uint64_t) (uintptr_t) ids;
        r = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read program %u: %m", prog_id);
        r = nl_mkdir_p(dir, 0700);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot create %s: %m", dir);

        for (uint32_t i = 0; i < info.nr_map_ids && i < PROG_MAPS_MAX; i++) {
                _cleanup_close_ int map_fd = -EBADF;
                struct bpf_map_info mi = {};
                uint32_t mlen = sizeof(mi);
                char path[4096];
                struct stat st;

                map_fd = bpf_map_get_fd_by_id(ids[i]);
                if (map_fd < 0)
                        return nl_error_set(e, NL_ERR_FAILED, map_fd, "Cannot open map %u: %m", ids[i]);
                r = bpf_obj_get_info_by_fd(map_fd, &mi, &mlen);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read map %u: %m", ids[i]);
                /* libbpf's own maps (.rodata, .bss) are never pinned, and
                 * bpffs refuses their names. */
                if (!mi.name[0] || strchr(mi.name, '.'))
                        continue;
                if (snprintf(path, sizeof(path), "%s/%s", dir, mi.name) >= (int) sizeof(path))
                        return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Map path too long");
                if (lstat(path, &st) >= 0)
                        continue;
                r = bpf_obj_pin(map_fd, path);
                if (r < 0 && r != -EEXIST)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot pin map %s: %m", path);
                pinned += r >= 0;
        }
        return pinned;
}
