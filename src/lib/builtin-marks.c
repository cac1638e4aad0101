/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "builtin-marks.h"

/* One entry per built-in program alive: one per steer link, one for flow.
 * Entries are allocated as they are used (BPF_F_NO_PREALLOC). */
#define MARKS_MAX (1U << 18)

typedef struct Mark {
        char name[16];          /* the built-in's name: "steer", "flow" */
} Mark;

static int marks_path(const char *root, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/" NL_BUILTIN_MARKS_NAME, root);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int nl_builtin_marks_exist(const char *root) {
        char path[4096];

        if (marks_path(root, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        return access(path, F_OK) >= 0;
}

int nl_builtin_marks_open(const char *root, NlError *e) {
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
        _cleanup_close_ int fd = -EBADF;
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        char path[4096];
        int r;

        if (marks_path(root, path, sizeof(path)) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Pin root path too long");
        fd = bpf_obj_get(path);
        if (fd >= 0) {
                r = bpf_obj_get_info_by_fd(fd, &info, &len);
                if (r < 0 || info.type != BPF_MAP_TYPE_HASH || info.key_size != sizeof(uint32_t) ||
                    info.value_size != sizeof(Mark))
                        return nl_error_set(e, NL_ERR_FAILED, -EMEDIUMTYPE,
                                            "%s is not the daemon's record of built-in programs", path);
                return TAKE_FD(fd);
        }
        if (fd != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot open %s: %m", path);
        fd = bpf_map_create(BPF_MAP_TYPE_HASH, "nl_builtins", sizeof(uint32_t), sizeof(Mark), MARKS_MAX, &opts);
        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot create the record of built-in programs: %m");
        r = bpf_obj_pin(fd, path);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot pin %s: %m", path);
        return TAKE_FD(fd);
}

int nl_builtin_mark(int marks_fd, uint32_t prog_id, const NlBuiltin *b, NlError *e) {
        Mark v = {};
        int r;

        if (!b) {
                r = bpf_map_delete_elem(marks_fd, &prog_id);
                if (r < 0 && r != -ENOENT)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear the mark of program %u: %m", prog_id);
                return 0;
        }
        snprintf(v.name, sizeof(v.name), "%s", b->name);
        r = bpf_map_update_elem(marks_fd, &prog_id, &v, BPF_ANY);
        if (r == -E2BIG && nl_builtin_marks_prune(marks_fd) > 0)
                r = bpf_map_update_elem(marks_fd, &prog_id, &v, BPF_ANY);
        if (r == -E2BIG)
                return nl_error_set(e, NL_ERR_FAILED, r,
                                    "Cannot mark program %u as builtin:%s: %u built-in programs are running, "
                                    "at most %u", prog_id, b->name, MARKS_MAX, MARKS_MAX);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot mark program %u as builtin:%s: %m", prog_id, b->name);
        return 0;
}

const NlBuiltin *nl_builtin_marked(int marks_fd, uint32_t prog_id) {
        Mark v;

        if (marks_fd < 0 || bpf_map_lookup_elem(marks_fd, &prog_id, &v) < 0)
                return NULL;
        v.name[sizeof(v.name) - 1] = 0;
        return nl_builtin_find(v.name);
}

int nl_builtin_marks_prune(int marks_fd) {
        uint32_t cur, next;
        bool more = bpf_map_get_next_key(marks_fd, NULL, &cur) == 0;
        int pruned = 0;

        /* The next key is read before the current one may go: deleting
         * the key a walk stands on restarts it from the first. */
        while (more) {
                _cleanup_close_ int fd = bpf_prog_get_fd_by_id(cur);

                more = bpf_map_get_next_key(marks_fd, &cur, &next) == 0;
                if (fd == -ENOENT && bpf_map_delete_elem(marks_fd, &cur) == 0)
                        pruned++;
                cur = next;
        }
        return pruned;
}
