/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "error.h"

/*
 * One daemon per pin root. A second one would run crash recovery and the
 * start-up tidy on a tree the first is changing, and delete what it is
 * making. The lock is flock(2) on an fd of the root folder itself: bpffs
 * holds only BPF objects and folders, so there is no lock file to make, and
 * flock works on a folder opened read-only on any file system (a POSIX
 * F_SETLK write lock would need the folder open for writing, which no
 * folder can be). The kernel drops it when the holder dies, however it
 * dies, so a SIGKILLed daemon never leaves a stale lock behind.
 *
 * flock does not say who holds it; /proc/locks does: the kernel lists every
 * flock with the pid that took it (in the reader's pid namespace) and the
 * device and inode it is on.
 */

/* Takes the lock of root (an existing folder) without waiting and returns
 * the fd holding it: keep it open, O_CLOEXEC, for as long as the process
 * uses the root. Held by another process: -EWOULDBLOCK, with e naming the
 * holder's pid when /proc/locks shows it. */
int nl_pin_lock_take(const char *root, NlError *e);

/* The pid holding an flock on the file fd is open on, from /proc/locks: 0
 * if none is listed or the holder is not visible from here (another pid
 * namespace), a negative errno if /proc/locks cannot be read. */
pid_t nl_pin_lock_holder(int fd);
