/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "hashmap.h"
#include "pin-lock.h"
#include "pin-store-private.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

struct NlPinStore {
        char *root;
        bool keep_dirs;
        int lock_fd;            /* holds the root's flock (pin-lock.c) */
        Hashmap *known_dirs;    /* see dir_known() */
};

void nl_crash_point(const char *point) {
        /* Read every time, not cached: a forked child that sets the variable
         * after its parent already passed a crash point must still crash. */
        const char *want = getenv("NETNSLINK_CRASH_AT");

        if (want && strcmp(want, point) == 0)
                raise(SIGKILL);
}

void nl_stop_point(const char *point) {
        const char *want = getenv("NETNSLINK_STOP_AT"), *file = getenv("NETNSLINK_STOP_FILE");

        if (want && file && strcmp(want, point) == 0 && access(file, F_OK) == 0)
                raise(SIGSTOP);
}

static int path_is_bpffs(const char *path) {
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == BPF_FS_MAGIC;
}

int nl_mkdir_p(const char *path, mode_t mode) {
        char buf[4096], *slash;
        size_t n = strlen(path);
        int r;

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        /* Usually only the last folder is missing: try it first. Another
         * process may remove an empty parent meanwhile: try again. */
        for (int attempt = 0; attempt < 4; attempt++) {
                if (mkdir(path, mode) >= 0 || errno == EEXIST)
                        return 0;
                if (errno != ENOENT)
                        return negative_errno();
                memcpy(buf, path, n + 1);
                slash = strrchr(buf, '/');
                if (!slash || slash == buf)
                        return -ENOENT;
                *slash = 0;
                r = nl_mkdir_p(buf, mode);
                if (r < 0)
                        return r;
        }
        return -ENOENT;
}

int nl_pin_store_open(const char *root, NlPinStore **ret, NlError *e) {
        _cleanup_free_ char *probe = NULL;
        NlPinStore *s;
        int r;

        if (!root || root[0] != '/')
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The pin root must be an absolute path");

        /* Check the nearest existing ancestor first, so that a wrong root
         * does not leave folders behind on some other file system. */
        probe = strdup(root);
        if (!probe)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (;;) {
                r = path_is_bpffs(probe);
                if (r != -ENOENT)
                        break;
                char *slash = strrchr(probe, '/');
                if (slash == probe) {
                        probe[1] = 0;
                } else
                        *slash = 0;
        }
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot check pin root %s: %m", probe);
        if (r == 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENOTSUP,
                                    "The pin root %s is not on a BPF file system (%s is not bpffs). "
                                    "Mount one first, e.g.: mount -t bpf bpf /sys/fs/bpf", root, probe);

        r = nl_mkdir_p(root, 0700);
        if (r == -EPERM && strchr(root, '.'))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, r,
                                    "Cannot create pin root %s: bpffs refuses names with a dot", root);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot create pin root %s: %m", root);

        s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        s->lock_fd = -EBADF;
        s->root = strdup(root);
        s->known_dirs = hashmap_new();
        if (!s->root || !s->known_dirs) {
                nl_pin_store_free(s);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        *ret = s;
        return 0;
}

int nl_pin_store_lock(NlPinStore *s, NlError *e) {
        int fd;

        if (s->lock_fd >= 0)
                return 0;
        fd = nl_pin_lock_take(s->root, e);
        if (fd < 0)
                return fd;
        s->lock_fd = fd;
        return 0;
}

NlPinStore *nl_pin_store_free(NlPinStore *s) {
        if (s) {
                safe_close(s->lock_fd);
                hashmap_free(s->known_dirs, NULL);
                free(s->root);
                free(s);
        }
        return NULL;
}

const char *nl_pin_store_root(const NlPinStore *s) {
        return s->root;
}

int pin_path_in(const char *base, uint64_t ino, NlAttachType type, const char *name,
                       char *buf, size_t size) {
        int n;

        if (name)
                n = snprintf(buf, size, "%s/%" PRIu64 "/%s/%s", base, ino, nl_attach_type_to_string(type), name);
        else
                n = snprintf(buf, size, "%s/%" PRIu64 "/%s", base, ino, nl_attach_type_to_string(type));
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int nl_pin_path(const NlPinStore *s, uint64_t ino, NlAttachType type, const char *name,
                char *buf, size_t size) {
        return pin_path_in(s->root, ino, type, name, buf, size);
}

int nl_pin_netns_dir(const NlPinStore *s, uint64_t ino, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%" PRIu64, s->root, ino);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int nl_pin_steer_dir(const NlPinStore *s, uint64_t ino, const char *name, char *buf, size_t size) {
        int n;

        if (name)
                n = snprintf(buf, size, "%s/%" PRIu64 "/" NL_STEER_DIR "/%s", s->root, ino, name);
        else
                n = snprintf(buf, size, "%s/%" PRIu64 "/" NL_STEER_DIR, s->root, ino);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

bool nl_pin_steer_is_staging(const char *name) {
        return strncmp(name, NL_STEER_STAGING_PREFIX, STRLEN(NL_STEER_STAGING_PREFIX)) == 0;
}

int nl_pin_steer_stage(const NlPinStore *s, uint64_t ino, char *buf, size_t size) {
        char parent[4096];
        int n, r;

        r = nl_pin_steer_dir(s, ino, NULL, parent, sizeof(parent));
        if (r < 0)
                return r;
        r = nl_mkdir_p(parent, 0700);
        if (r < 0)
                return r;
        /* A folder that exists already is someone else's: draw again. */
        for (int attempt = 0; attempt < 8; attempt++) {
                uint64_t token;

                if (getrandom(&token, sizeof(token), 0) != sizeof(token))
                        return negative_errno();
                n = snprintf(buf, size, "%s/" NL_STEER_STAGING_PREFIX "%016" PRIx64, parent, token);
                if (n < 0 || (size_t) n >= size)
                        return -ENAMETOOLONG;
                if (mkdir(buf, 0700) >= 0)
                        return 0;
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

/*
 * The <ino>/<type> folders known to exist, each store its own. Pinning is
 * a handful of syscalls and a mkdir that fails with EEXIST costs as much as
 * the pin: the daemon is the only writer of its tree, so what it made and
 * has not removed is still there. If someone else removed a folder, the pin
 * fails with ENOENT and the folder is made again.
 */
static bool dir_known(const NlPinStore *s, const char *dir) {
        return hashmap_get(s->known_dirs, dir);
}

static void dir_remember(NlPinStore *s, const char *dir) {
        (void) hashmap_put(s->known_dirs, dir, (void *) 1);
}

static void dir_forget(NlPinStore *s, const char *dir) {
        (void) hashmap_remove(s->known_dirs, dir);
}

int make_parent_dirs(NlPinStore *s, uint64_t ino, NlAttachType type) {
        char dir[4096], *slash;
        int r;

        r = pin_path_in(s->root, ino, type, NULL, dir, sizeof(dir));
        if (r < 0)
                return r;
        if (dir_known(s, dir))
                return 0;
        slash = strrchr(dir, '/');
        /* The netns folder first unless known: a mkdir that fails costs as
         * much as one that works. */
        for (int attempt = 0; attempt < 2; attempt++) {
                *slash = 0;
                if (attempt > 0)
                        dir_forget(s, dir);
                if (!dir_known(s, dir)) {
                        r = nl_mkdir_p(dir, 0700);      /* one mkdir unless the root went away */
                        if (r < 0) {
                                *slash = '/';
                                return r;
                        }
                        dir_remember(s, dir);
                }
                *slash = '/';
                if (mkdir(dir, 0700) >= 0 || errno == EEXIST) {
                        dir_remember(s, dir);
                        return 0;
                }
                if (errno != ENOENT)
                        return negative_errno();
                /* The netns folder we believed in is gone: make it again. */
        }
        return -ENOENT;
}

/* A folder we believed in is gone: forget it and make it again. */
int remake_parent_dirs(NlPinStore *s, uint64_t ino, NlAttachType type) {
        char dir[4096];

        if (pin_path_in(s->root, ino, type, NULL, dir, sizeof(dir)) < 0)
                return -ENAMETOOLONG;
        dir_forget(s, dir);
        *strrchr(dir, '/') = 0;
        dir_forget(s, dir);
        return make_parent_dirs(s, ino, type);
}

int nl_pin_store_pin(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name,
                     int link_fd, NlError *e) {
        char path[4096];
        int r;

        r = nl_pin_path(s, ino, type, name, path, sizeof(path));
        if (r < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, r, "Pin path too long");
        r = make_parent_dirs(s, ino, type);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot create folders for %s: %m", path);
        r = bpf_obj_pin(link_fd, path);
        if (r == -ENOENT && remake_parent_dirs(s, ino, type) >= 0)
                r = bpf_obj_pin(link_fd, path);
        if (r == -EEXIST)
                return nl_error_set(e, NL_ERR_LINK_EXISTS, r, "A link named '%s' already exists (%s)", name, path);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Failed to pin link at %s: %m", path);
        return 0;
}

int nl_pin_store_get(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name) {
        char path[4096];
        int r;

        r = nl_pin_path(s, ino, type, name, path, sizeof(path));
        if (r < 0)
                return r;
        return bpf_obj_get(path);
}

/* Removes the type folder and netns folder if the unpin left them empty. */
void prune_dirs(NlPinStore *s, uint64_t ino, NlAttachType type) {
        char dir[4096];

        if (s->keep_dirs || pin_path_in(s->root, ino, type, NULL, dir, sizeof(dir)) < 0)
                return;
        if (rmdir(dir) < 0)
                return;
        dir_forget(s, dir);
        *strrchr(dir, '/') = 0;
        if (rmdir(dir) >= 0)
                dir_forget(s, dir);
}

void nl_pin_store_keep_dirs(NlPinStore *s, bool keep) {
        s->keep_dirs = keep;
}

int nl_pin_store_prune(NlPinStore *s, uint64_t ino) {
        char dir[4096];

        for (NlAttachType t = 0; t < _NL_ATTACH_MAX; t++) {
                if (pin_path_in(s->root, ino, t, NULL, dir, sizeof(dir)) < 0)
                        return -ENAMETOOLONG;
                if (rmdir(dir) >= 0 || errno == ENOENT)
                        dir_forget(s, dir);
        }
        *strrchr(dir, '/') = 0;
        if (rmdir(dir) < 0)
                return errno == ENOENT ? 1 : 0;
        dir_forget(s, dir);
        return 1;
}

int nl_pin_store_unpin(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name) {
        char path[4096];
        int r;

        r = nl_pin_path(s, ino, type, name, path, sizeof(path));
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return negative_errno();
        prune_dirs(s, ino, type);
        return 0;
}

int rm_rf_at(int dfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (unlinkat(dfd, name, 0) >= 0)
                return 0;
        if (errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return negative_errno();

        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        fd = -EBADF;    /* owned by d now */
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int k = rm_rf_at(dirfd(d), de->d_name);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}

int nl_pin_rm_rf(const char *path) {
        return rm_rf_at(AT_FDCWD, path);
}

bool nl_pin_netns_folder_parse(const char *name, uint64_t *ret) {
        char *end;

        if (!*name || strspn(name, "0123456789") != strlen(name) || (name[0] == '0' && name[1]))
                return false;
        errno = 0;
        *ret = strtoull(name, &end, 10);
        return errno == 0 && *ret > 0;
}

int nl_pin_scan_incomplete(NlError *e, int r, const char *what, const char *path) {
        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read %s %s: %m; the scan of the pin root is incomplete%s",
                            what, path,
                            r == -EMFILE || r == -ENFILE ? " (the daemon holds one file descriptor per link: "
                                                           "raise its limit of open files, LimitNOFILE=)" : "");
}

/* readdir, telling its end (NULL, errno 0) from its failure. */
static struct dirent *next_entry(DIR *d, int *r) {
        struct dirent *de;

        errno = 0;
        de = readdir(d);
        if (!de && errno != 0)
                *r = negative_errno();
        return de;
}

/* Every pin of base/<ino>/<type>/ for one netns folder. */
static int walk_netns(const char *base, uint64_t ino, walk_fn fn, void *userdata, NlError *e) {
        int r = 0;

        for (NlAttachType t = 0; t < _NL_ATTACH_MAX && r >= 0; t++) {
                char dir[4096], path[4096 + 256];
                struct dirent *pe = NULL;
                struct stat st;
                DIR *td;

                if (pin_path_in(base, ino, t, NULL, dir, sizeof(dir)) < 0)
                        continue;
                if (lstat(dir, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return nl_pin_scan_incomplete(e, negative_errno(), "folder", dir);
                }
                if (!S_ISDIR(st.st_mode))
                        continue;       /* not a folder the store makes */
                td = opendir(dir);
                if (!td)
                        return nl_pin_scan_incomplete(e, negative_errno(), "folder", dir);
                while (r >= 0 && (pe = next_entry(td, &r))) {
                        if (pe->d_name[0] == '.' || pe->d_type == DT_LNK)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", dir, pe->d_name);
                        r = fn(base, ino, t, pe->d_name, pe->d_type == DT_DIR, path, userdata, e);
                }
                if (r < 0 && !pe)
                        r = nl_pin_scan_incomplete(e, r, "folder", dir);
                closedir(td);
        }
        return r;
}

int walk_pins(const char *base, walk_fn fn, void *userdata, NlError *e) {
        struct dirent *de = NULL;
        DIR *top;
        int r = 0;

        top = opendir(base);
        if (!top)
                return errno == ENOENT ? 0 : nl_pin_scan_incomplete(e, negative_errno(), "folder", base);

        /* Symlinks are never followed: a pin is only what lies in its
         * place, and no walk leaves base. */
        while (r >= 0 && (de = next_entry(top, &r))) {
                uint64_t ino;

                if (!nl_pin_netns_folder_parse(de->d_name, &ino) || de->d_type != DT_DIR)
                        continue;
                r = walk_netns(base, ino, fn, userdata, e);
        }
        if (r < 0 && !de)
                r = nl_pin_scan_incomplete(e, r, "folder", base);
        closedir(top);
        return r;
}

struct scan_ctx {
        nl_pin_scan_cb cb;
        void *userdata;
};

/* A pin the scan cannot open or read for a reason of its own (no
 * permission, out of fds or memory) makes it incomplete; one that is not
 * a link of ours is reported BAD with the reason. */
static int scan_classify(NlPinEntry *entry, bool is_dir, NlError *e) {
        int r;

        if (is_dir) {
                snprintf(entry->reason, sizeof(entry->reason), "a folder, not a pin");
                return NL_PIN_BAD;
        }
        if (!nl_link_name_is_valid(entry->name)) {
                snprintf(entry->reason, sizeof(entry->reason), "not a link name the daemon gives");
                return NL_PIN_BAD;
        }
        entry->link_fd = bpf_obj_get(entry->path);
        if (entry->link_fd < 0)
                return nl_pin_scan_incomplete(e, entry->link_fd, "pin", entry->path);
        r = nl_bpf_fd_is_link(entry->link_fd);
        if (r >= 0 || r == -ENOENT)     /* without /proc, get_info is asked alone */
                r = r == 0 ? -EINVAL : nl_link_get_info(entry->link_fd, false, &entry->info);
        if (r == -EINVAL)
                snprintf(entry->reason, sizeof(entry->reason), "a pinned BPF object that is not a link");
        else if (r == -EMEDIUMTYPE)
                snprintf(entry->reason, sizeof(entry->reason),
                         "a link, but not of a network namespace's sk_lookup or flow_dissector hook");
        else if (r < 0)
                return nl_pin_scan_incomplete(e, r, "pin", entry->path);
        else if (entry->info.attach_type != entry->type)
                snprintf(entry->reason, sizeof(entry->reason), "a %s link, in the %s folder",
                         nl_attach_type_to_string(entry->info.attach_type), nl_attach_type_to_string(entry->type));
        else if (entry->info.netns_ino == 0)
                return NL_PIN_DEFUNCT;
        else if (entry->info.netns_ino != entry->ino)
                snprintf(entry->reason, sizeof(entry->reason), "a link of netns %" PRIu64 ", in the folder of netns %" PRIu64,
                         entry->info.netns_ino, entry->ino);
        else
                return NL_PIN_OK;
        entry->link_fd = safe_close(entry->link_fd);
        return NL_PIN_BAD;
}

static int scan_one(const char *base, uint64_t ino, NlAttachType type, const char *name, bool is_dir,
                    const char *path, void *userdata, NlError *e) {
        struct scan_ctx *c = userdata;
        NlPinEntry entry = {
                .ino = ino, .type = type, .name = name, .path = path,
                .link_fd = -EBADF,
        };
        int r;

        r = scan_classify(&entry, is_dir, e);
        if (r == -ENOENT)
                return 0;       /* removed meanwhile: nothing to miss */
        if (r < 0)
                return r;
        entry.state = r;
        r = c->cb(&entry, c->userdata, e);
        safe_close(entry.link_fd);
        return r;
}

int nl_pin_store_scan(NlPinStore *s, nl_pin_scan_cb cb, void *userdata, NlError *e) {
        struct scan_ctx c = { .cb = cb, .userdata = userdata };

        if (e)
                nl_error_clear(e);
        return walk_pins(s->root, scan_one, &c, e);
}
