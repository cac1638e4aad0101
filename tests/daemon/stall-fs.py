#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# stall-fs.py MOUNTPOINT: a FUSE file system with one regular file, obj,
# whose every read waits forever; everything else answers at once. What a
# hung FUSE or network file does to a reader (tests/daemon/test-loop-latency.sh).
import errno
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

# Old enough that the daemon trusts the file's identity (loader.c).
STAMP = time.time() - 3600


class Stall(Operations):
    def getattr(self, path, fh=None):
        common = dict(st_atime=STAMP, st_mtime=STAMP, st_ctime=STAMP, st_uid=0, st_gid=0)
        if path == "/":
            return dict(common, st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if path == "/obj":
            return dict(common, st_mode=stat.S_IFREG | 0o444, st_nlink=1, st_size=4096)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "obj"]

    def open(self, path, flags):
        return 0

    def read(self, path, size, offset, fh):
        threading.Event().wait()


if __name__ == "__main__":
    FUSE(Stall(), sys.argv[1], foreground=True, ro=True)
