/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "names.h"
#include "prog-source.h"

int nl_prog_elf_read_fd(int fd, void **ret_data, size_t *ret_size, NlError *e) {
        _cleanup_free_ void *data = NULL;
        struct stat st, st2;
        size_t done = 0;

        if (fstat(fd, &st) < 0)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, negative_errno(), "Cannot stat the object: %m");
        if (!S_ISREG(st.st_mode))
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EBADFD,
                                    "The object must be a regular file");
        if ((uint64_t) st.st_size > NL_ELF_MAX_SIZE)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EFBIG,
                                    "The object is %lld bytes, more than the limit of %llu",
                                    (long long) st.st_size, (unsigned long long) NL_ELF_MAX_SIZE);
        data = malloc(st.st_size ? st.st_size : 1);
        if (!data)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        while (done < (size_t) st.st_size) {
                ssize_t n = pread(fd, (char *) data + done, st.st_size - done, (off_t) done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, negative_errno(),
                                            "Cannot read the object: %m");
                }
                if (n == 0)
                        break;
                done += n;
        }
        /* A file that changes while we read it is not one object. */
        if (fstat(fd, &st2) < 0 || done != (size_t) st.st_size || st2.st_size != st.st_size ||
            st2.st_mtim.tv_sec != st.st_mtim.tv_sec || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ESTALE,
                                    "The object changed while it was being read");
        *ret_data = TAKE_PTR(data);
        *ret_size = done;
        return 0;
}

int nl_prog_elf_read_path(const char *path, void **ret_data, size_t *ret_size, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        char buf[256];

        if (!path || path[0] != '/')
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The object path must be absolute");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, negative_errno(), "Cannot open object %s: %m",
                                    nl_printable(path, buf, sizeof(buf)));
        return nl_prog_elf_read_fd(fd, ret_data, ret_size, e);
}

void nl_prog_elf_source(const void *data, size_t size, const char *prog_name,
                        char hex[2 * SHA256_DIGEST_SIZE + 1], char *buf, size_t buf_size) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        char pbuf[80];

        sha256(data, size, digest);
        sha256_hex(digest, hex);
        snprintf(buf, buf_size, "sha256:%.12s:%s", hex, nl_printable(prog_name, pbuf, sizeof(pbuf)));
}
