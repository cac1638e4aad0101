/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which configuration files count, and which netns a file names.
 *
 * The search path works as systemd's drop-in folders do, so that an admin
 * already knows it: /etc overrides /run overrides /usr/lib by file name,
 * and a name linked to /dev/null is masked (a package's file turned off
 * without editing it).
 */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"

struct entry {
        char *name;
        char *path;
        bool masked;
};

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const struct entry *) a)->name, ((const struct entry *) b)->name);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Masked: /dev/null itself, a link to it, or an empty link target. */
static bool is_masked(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);  /* dangling: as systemd, masked */
        return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static bool known(const struct entry *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return true;
        return false;
}

static int add_folder(const char *dir, struct entry **v, size_t *n) {
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
        while ((de = readdir(d))) {
                struct entry *grown;
                char *path;

                if (de->d_name[0] == '.' || !has_suffix(de->d_name, NL_CONFIG_SUFFIX) || known(*v, *n, de->d_name))
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                grown = reallocarray(*v, *n + 1, sizeof(**v));
                if (!grown) {
                        free(path);
                        r = -ENOMEM;
                        break;
                }
                *v = grown;
                (*v)[*n] = (struct entry) { .name = strdup(de->d_name), .path = path, .masked = is_masked(path) };
                if (!(*v)[(*n)++].name) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        return r;
}

/* The paths of the entries masked or not, as a NULL-terminated array. */
static char **take_paths(struct entry *v, size_t n, bool masked) {
        char **out = calloc(n + 1, sizeof(*out));
        size_t k = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (v[i].masked == masked)
                        out[k++] = TAKE_PTR(v[i].path);
        return out;
}

int nl_config_files(const char *root, char ***ret, char ***ret_masked) {
        static const char *const dirs[] = NL_CONFIG_DIRS;
        struct entry *v = NULL;
        size_t n = 0;
        int r = 0;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++) {
                char dir[4096];

                if (snprintf(dir, sizeof(dir), "%s%s", root, dirs[i]) >= (int) sizeof(dir))
                        r = -ENAMETOOLONG;
                else
                        r = add_folder(dir, &v, &n);
        }
        if (r >= 0) {
                if (n > 0)      /* qsort of NULL is undefined, even of nothing */
                        qsort(v, n, sizeof(*v), entry_cmp);
                *ret = take_paths(v, n, false);
                if (!*ret)
                        r = -ENOMEM;
                else if (ret_masked && !(*ret_masked = take_paths(v, n, true))) {
                        *ret = nl_config_files_free(*ret);
                        r = -ENOMEM;
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].path);
        }
        free(v);
        return r;
}

char **nl_config_files_free(char **files) {
        if (files)
                for (char **f = files; *f; f++)
                        free(*f);
        free(files);
        return NULL;
}

bool nl_config_matches(const NlConfigLink *l, const char *name, const char *path) {
        for (size_t i = 0; i < l->n_netns; i++) {
                const char *m = l->netns[i];

                if (m[0] == '/') {
                        if (path && strcmp(m, path) == 0)
                                return true;
                } else if (name && fnmatch(m, name, FNM_PERIOD) == 0)
                        return true;
        }
        return false;
}
