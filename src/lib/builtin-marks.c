/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builtin-marks.h"
#include "id-records.h"

/* One entry per built-in program alive: one per steer link, one for flow.
 * Entries are allocated as they are used (BPF_F_NO_PREALLOC). */
#define MARKS_MAX (1U << 18)

static const NlIdRecords marks = {
        .pin_name = NL_BUILTIN_MARKS_NAME,
        .map_name = "nl_builtins",
        .what = "record of built-in programs",
        .value_size = 16,       /* the built-in's name: "steer", "flow" */
        .max_entries = MARKS_MAX,
};

static const NlIdRecords sources = {
        .pin_name = NL_PROG_SOURCES_NAME,
        .map_name = "nl_prog_sources",
        .what = "record of program sources",
        .value_size = NL_PROG_SOURCE_MAX,
        .max_entries = MARKS_MAX,
};

static bool prog_gone(uint32_t id, void *userdata) {
        _cleanup_close_ int fd = bpf_prog_get_fd_by_id(id);

        return fd == -ENOENT;
}

int nl_builtin_marks_exist(const char *root) {
        return nl_id_records_exist(&marks, root);
}

int nl_builtin_marks_open(const char *root, NlError *e) {
        return nl_id_records_open(&marks, root, e);
}

int nl_builtin_mark(int marks_fd, uint32_t prog_id, const NlBuiltin *b, NlError *e) {
        int r;

        if (!b) {
                r = nl_id_record_clear(marks_fd, prog_id);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear the mark of program %u: %m", prog_id);
                return 0;
        }
        r = nl_id_record_set(&marks, marks_fd, prog_id, b->name, prog_gone, NULL);
        if (r == -E2BIG)
                return nl_error_set(e, NL_ERR_FAILED, r,
                                    "Cannot mark program %u as builtin:%s: %u built-in programs are running, "
                                    "at most %u", prog_id, b->name, MARKS_MAX, MARKS_MAX);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot mark program %u as builtin:%s: %m", prog_id, b->name);
        return 0;
}

const NlBuiltin *nl_builtin_marked(int marks_fd, uint32_t prog_id) {
        char name[16];

        if (nl_id_record_get(&marks, marks_fd, prog_id, name, sizeof(name)) < 0)
                return NULL;
        return nl_builtin_find(name);
}

int nl_builtin_marks_prune(int marks_fd) {
        return nl_id_records_prune(marks_fd, prog_gone, NULL);
}

/* Program sources. */

int nl_prog_sources_open(const char *root, NlError *e) {
        return nl_id_records_open(&sources, root, e);
}

int nl_prog_source_record(int sources_fd, uint32_t prog_id, const char *source, NlError *e) {
        int r;

        /* Built-ins are told by their marks; nothing else has a source. */
        if (!source || !*source || strncmp(source, "builtin:", 8) == 0)
                r = nl_id_record_clear(sources_fd, prog_id);
        else
                r = nl_id_record_set(&sources, sources_fd, prog_id, source, prog_gone, NULL);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record the source of program %u: %m", prog_id);
        return 0;
}

int nl_prog_source_recorded(int sources_fd, uint32_t prog_id, char *buf, size_t size) {
        return nl_id_record_get(&sources, sources_fd, prog_id, buf, size);
}

int nl_prog_sources_prune(int sources_fd) {
        return nl_id_records_prune(sources_fd, prog_gone, NULL);
}
