/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "link-ops.h"

int nl_link_create(int prog_fd, int netns_fd, NlAttachType type, NlError *e) {
        int fd;

        /* A netns link takes the netns fd as its target: no setns needed. */
        fd = bpf_link_create(prog_fd, netns_fd, nl_attach_type_to_bpf(type), NULL);
        if (fd >= 0)
                return fd;
        switch (fd) {
        case -E2BIG:   /* sk_lookup: the 65th program */
        case -EEXIST:  /* flow_dissector: one per netns */
                return nl_error_set(e, NL_ERR_TOO_MANY_LINKS, fd,
                                    "The netns already holds the kernel's limit of %u %s program%s",
                                    nl_attach_type_max_links(type), nl_attach_type_to_string(type),
                                    nl_attach_type_max_links(type) == 1 ? "" : "s");
        case -EINVAL:
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, fd,
                                    "The kernel refused to attach the program as %s: %m",
                                    nl_attach_type_to_string(type));
        default:
                return nl_error_set(e, NL_ERR_FAILED, fd, "Failed to create %s link: %m",
                                    nl_attach_type_to_string(type));
        }
}

int nl_link_update(int link_fd, int prog_fd, NlError *e) {
        int r = bpf_link_update(link_fd, prog_fd, NULL);

        if (r < 0)
                return nl_error_set(e, r == -EINVAL ? NL_ERR_INVALID_PROGRAM : NL_ERR_FAILED, r,
                                    "Failed to update link: %m");
        return 0;
}

int nl_link_replace(int link_fd, int prog_fd, uint32_t expected_prog_id, NlError *e) {
        LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE);
        _cleanup_close_ int old_fd = -EBADF;
        int r;

        old_fd = bpf_prog_get_fd_by_id(expected_prog_id);
        if (old_fd < 0) {
                if (old_fd == -ENOENT)
                        return nl_error_set(e, NL_ERR_PROGRAM_MISMATCH, -ESTALE,
                                            "Expected program id %u, but no such program exists; "
                                            "the link is unchanged", expected_prog_id);
                return nl_error_set(e, NL_ERR_FAILED, old_fd, "Cannot open program id %u: %m",
                                    expected_prog_id);
        }
        opts.old_prog_fd = old_fd;

        /* The kernel compares under its own lock: the compare-and-swap. */
        r = bpf_link_update(link_fd, prog_fd, &opts);
        if (r == -EPERM)
                return nl_error_set(e, NL_ERR_PROGRAM_MISMATCH, -ESTALE,
                                    "The link's program is not id %u; the link is unchanged",
                                    expected_prog_id);
        if (r < 0)
                return nl_error_set(e, r == -EINVAL ? NL_ERR_INVALID_PROGRAM : NL_ERR_FAILED, r,
                                    "Failed to replace the link's program: %m");
        return 0;
}

int nl_link_detach(int link_fd, NlError *e) {
        int r = bpf_link_detach(link_fd);

        /* Already detached (its netns went away): nothing left to do. */
        if (r < 0 && r != -ENOLINK)
                return nl_error_set(e, NL_ERR_FAILED, r, "Failed to detach link: %m");
        return 0;
}

static void tag_to_hex(const unsigned char tag[8], char out[17]) {
        for (size_t i = 0; i < 8; i++)
                snprintf(out + 2 * i, 3, "%02x", tag[i]);
}

int nl_prog_fd_describe(int prog_fd, uint32_t *ret_id, char name[16], char tag[17]) {
        struct bpf_prog_info info = {};
        __u32 len = sizeof(info);
        int r;

        r = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = info.id;
        if (name) {
                memcpy(name, info.name, 16);
                name[15] = 0;
        }
        if (tag)
                tag_to_hex(info.tag, tag);
        return 0;
}

int nl_prog_describe(uint32_t prog_id, char name[16], char tag[17]) {
        _cleanup_close_ int fd = bpf_prog_get_fd_by_id(prog_id);

        if (fd < 0)
                return fd;
        return nl_prog_fd_describe(fd, NULL, name, tag);
}

int nl_bpf_fd_is_link(int fd) {
        char path[64], target[64];
        ssize_t n;

        /* BPF_OBJ_GET_INFO_BY_FD answers for a program or a map too, in
         * another struct whose first field a link's reader would take for
         * the link type; the anon inode's name tells the kinds apart. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        return strcmp(target, "anon_inode:bpf-link") == 0;
}

int nl_link_get_info(int link_fd, bool want_prog, NlLinkInfo *ret) {
        struct bpf_link_info info = {};
        __u32 len = sizeof(info);
        int r;

        r = bpf_obj_get_info_by_fd(link_fd, &info, &len);
        if (r < 0)
                return r;
        if (info.type != BPF_LINK_TYPE_NETNS)
                return -EMEDIUMTYPE;

        *ret = (NlLinkInfo) {
                .link_id = info.id,
                .prog_id = info.prog_id,
                .netns_ino = info.netns.netns_ino,
                .attach_type = nl_attach_type_from_bpf(info.netns.attach_type),
        };
        if (ret->attach_type < 0)
                return -EMEDIUMTYPE;
        if (want_prog) {
                r = nl_prog_describe(info.prog_id, ret->prog_name, ret->prog_tag);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nl_netns_query_progs(int netns_fd, NlAttachType type, uint32_t *ids, uint32_t *count) {
        return bpf_prog_query(netns_fd, nl_attach_type_to_bpf(type), 0, NULL, ids, count);
}
