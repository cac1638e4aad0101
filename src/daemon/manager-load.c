/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "builtin-marks.h"
#include "builtins.h"
#include "load-child.h"
#include "log.h"
#include "manager.h"
#include "map-pins.h"
#include "steer-maps.h"

/*
 * Obtaining programs. A load runs in a child process: libbpf parses the ELF
 * and the verifier runs there, so a hostile object can neither crash the
 * daemon nor stall it. In the daemon (m->async) the request that needs a
 * program starts the child and is answered once the program is ready; the
 * bus layer parks it meanwhile and every other client is served.
 */

/* The verifier stops by itself at 1M instructions; this bounds the rest. */
#define LOAD_TIMEOUT_USEC (60ULL * 1000 * 1000)

typedef struct LoadArgs {
        ProgramKind kind;
        void *data;
        size_t size;
        const char *program;
        const char *builtin;
        NlAttachType type;
        NlMapsMode maps_mode;
        char map_dir[4096];     /* NL_MAPS_PIN: made when the load starts */
        char key[512];
        char source[128];
        bool per_link;
} LoadArgs;

typedef struct LoadJob {
        Manager *m;
        char key[512];
        char source[128];
        bool per_link;
        uint64_t ino;
        char *staging;          /* the folder its new maps go in, until a program owns it */
        pid_t pid;
        int sock;
        sd_event_source *io, *timer;
} LoadJob;

typedef struct Prepared {
        NlProgram *prog;        /* NULL: the load failed with error */
        NlError error;
        bool per_link;
        uint64_t ino;
} Prepared;

static int run_load(void *arg, NlError *e) {
        LoadArgs *a = arg;

        if (a->kind == PROGRAM_BUILTIN)
                return nl_builtin_load_fd(a->builtin, a->type, a->per_link ? a->map_dir : NULL, a->maps_mode, e);
        return nl_prog_elf_load_fd(a->data, a->size, a->program, a->type, e);
}

/*
 * A per-link builtin's maps: an Update of a link that runs it already keeps
 * that link's maps (and the load is that link's: its key names the link
 * id, so a link made again under the name gets its own); anything else
 * gets new maps, in a folder of the load's own (steer-maps.c). Requests
 * for new maps of one (netns, name) share a load; the first to run takes
 * it, and the others, finding the name taken, fail without touching it.
 */
static void per_link_args(Manager *m, uint64_t ino, const char *name, LoadArgs *a) {
        const Link *l = manager_link_get(m, ino, a->type, name);

        if (l && manager_link_runs_steer(l) && manager_steer_dir(m, ino, name, a->map_dir, sizeof(a->map_dir)) >= 0) {
                a->maps_mode = NL_MAPS_REUSE;
                snprintf(a->key, sizeof(a->key), "steer:%" PRIu64 "/%s#%u", ino, name, l->info.link_id);
                return;
        }
        a->maps_mode = NL_MAPS_PIN;
        a->map_dir[0] = 0;
        snprintf(a->key, sizeof(a->key), "steer:%" PRIu64 "/%s", ino, name);
}

/* Before a load that makes maps: their own folder. */
static int stage_maps(Manager *m, LoadArgs *a, uint64_t ino, NlError *e) {
        int r;

        if (!a->per_link || a->maps_mode != NL_MAPS_PIN)
                return 0;
        r = steer_maps_stage(m, ino, a->map_dir, sizeof(a->map_dir));
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot make a folder for the new steer maps: %m");
        return 0;
}

/* A folder no program came to own: removed as a program would (see
 * nl_program_set_staging_dir). */
static void unstage_maps(const char *dir) {
        nl_map_pins_remove(dir);
}

/* Wraps a loaded program; a program with new maps owns their folder. */
static int adopt(Manager *m, const char *key, const char *source, bool per_link, const char *staging, int fd,
                 NlProgram **ret, NlError *e) {
        NlProgram *p = NULL;
        uint32_t id;
        int r;

        /* Marked before any link can run it, and before the cache can hand
         * it out: a builtin is known after a restart by this record alone
         * (builtin-marks.h). Any other program clears what its id may
         * carry from a program long gone. */
        r = nl_prog_fd_describe(fd, &id, NULL, NULL);
        if (r < 0)
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the loaded program's id: %m");
        if (r >= 0)
                r = nl_builtin_mark(m->marks_fd, id, nl_builtin_from_source(source), e);
        /* The same for an object's program: its source, listed again after a restart. */
        if (r >= 0)
                r = nl_prog_source_record(m->sources_fd, id, source, e);
        if (r >= 0)
                r = nl_prog_cache_adopt(m->cache, per_link ? NULL : key, source, NULL, NULL, fd, &p, e);
        close(fd);
        if (r >= 0 && staging && *staging) {
                r = nl_program_set_staging_dir(p, staging);
                if (r < 0) {
                        p = nl_program_unref(p);
                        r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                }
        }
        if (r < 0) {
                unstage_maps(staging);
                return r;
        }
        *ret = p;
        return 0;
}

/* Fills a: reads the object (fd or path) and computes the key. */
static int prepare_args(Manager *m, const ProgramSpec *p, NlAttachType type, uint64_t ino, const char *name,
                        LoadArgs *a, NlError *e) {
        const NlBuiltin *b;
        int r;

        a->type = type;
        a->kind = p->kind;
        switch (p->kind) {
        case PROGRAM_BUILTIN:
                r = nl_builtin_check(p->builtin, type, e);
                if (r < 0)
                        return r;
                b = nl_builtin_find(p->builtin);
                a->builtin = b->name;
                a->per_link = b->per_link;
                snprintf(a->source, sizeof(a->source), "builtin:%s", b->name);
                if (b->per_link)
                        per_link_args(m, ino, name, a);
                else
                        snprintf(a->key, sizeof(a->key), "builtin:%s", b->name);
                return 0;
        case PROGRAM_PATH:
                r = nl_prog_elf_read_path(p->path, &a->data, &a->size, e);
                break;
        case PROGRAM_FD:
                r = nl_prog_elf_read_fd(p->fd, &a->data, &a->size, e);
                break;
        default:
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Unknown program source");
        }
        if (r < 0)
                return r;
        a->program = p->program;
        return nl_prog_elf_key(a->data, a->size, p->program, type, a->key, sizeof(a->key),
                               a->source, sizeof(a->source), e);
}

/* Before the socket is closed: epoll keeps watching a closed fd whose file
 * another loader child still holds (forked children inherit it). */
static void job_unwatch(LoadJob *j) {
        j->io = sd_event_source_disable_unref(j->io);
        j->timer = sd_event_source_disable_unref(j->timer);
}

static void job_free(LoadJob *j) {
        if (!j)
                return;
        sd_event_source_disable_unref(j->io);
        sd_event_source_disable_unref(j->timer);
        unstage_maps(j->staging);       /* still ours: no program took it */
        free(j->staging);
        free(j);
}

static void job_finish(LoadJob *j) {
        Manager *m = j->m;
        Prepared *pr;
        int fd = -EBADF, r;
        char key[512];

        hashmap_remove(m->jobs, j->key);
        snprintf(key, sizeof(key), "%s", j->key);
        job_unwatch(j);

        pr = calloc(1, sizeof(*pr));
        if (!pr) {
                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL);
                safe_close(fd);
                job_free(j);
                return;
        }
        pr->per_link = j->per_link;
        pr->ino = j->ino;
        r = nl_load_child_finish(j->pid, j->sock, &fd, &pr->error);
        if (r >= 0) {
                /* The program owns the folder now, failed or not. */
                r = adopt(m, j->key, j->source, j->per_link, j->staging, fd, &pr->prog, &pr->error);
                free(j->staging);
                j->staging = NULL;
        }
        if (r < 0)
                log_debug("Loading %s failed: %s", j->source, pr->error.message);
        else
                log_debug("Loaded %s: program id %u", j->source, nl_program_id(pr->prog));
        job_free(j);

        if (hashmap_put(m->prepared, key, pr) < 0) {
                nl_program_unref(pr->prog);
                free(pr);
        }
        if (m->on_loaded)
                m->on_loaded(m, key);
        manager_forget_prepared(m, key);
}

static int on_job_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        job_finish(userdata);
        return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LoadJob *j = userdata;

        log_warning("Loading %s took longer than %llu s; stopping it", j->source,
                    (unsigned long long) (LOAD_TIMEOUT_USEC / 1000000));
        (void) kill(j->pid, SIGKILL);
        return 0;       /* the hang-up finishes the job */
}

static int start_job(Manager *m, LoadArgs *a, uint64_t ino, NlError *e) {
        LoadJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        j->m = m;
        j->sock = -EBADF;
        snprintf(j->key, sizeof(j->key), "%s", a->key);
        snprintf(j->source, sizeof(j->source), "%s", a->source);
        j->per_link = a->per_link;
        j->ino = ino;
        r = stage_maps(m, a, ino, e);
        if (r >= 0 && a->maps_mode == NL_MAPS_PIN && a->per_link && !(j->staging = strdup(a->map_dir))) {
                unstage_maps(a->map_dir);
                r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        if (r < 0) {
                free(j);
                return r;
        }

        log_flush();    /* a child must not inherit lines still to be written */
        r = nl_load_child_start(run_load, a, &j->pid, &j->sock, e);
        if (r < 0) {
                job_free(j);
                return r;
        }
        r = sd_event_add_io(m->event, &j->io, j->sock, EPOLLIN | EPOLLHUP, on_job_io, j);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &j->timer, CLOCK_MONOTONIC, LOAD_TIMEOUT_USEC, 0,
                                               on_job_timeout, j);
        if (r >= 0)
                r = hashmap_put(m->jobs, j->key, j);
        if (r < 0) {
                int fd = -EBADF;
                job_unwatch(j);
                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL);
                safe_close(fd);
                job_free(j);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot watch the loader: %m");
        }
        log_debug("Loading %s in child %d", a->source, (int) j->pid);
        return 0;
}

/*
 * Reading and hashing an object costs more than attaching it: an object
 * file seen before (same device, inode, size, mtime and ctime: what git's
 * index trusts too) maps straight to its cache key. ctime cannot be set
 * back by a writer, so a changed file is read again. Like git, a file
 * changed in the last seconds is not trusted: timestamps are coarser than
 * writes, so two versions could share one.
 */
#define IDENTITY_SETTLED_SEC 2
#define IDENTITY_CACHE_MAX 1024

static Hashmap *identities;     /* identity -> cache key */

static bool file_identity(const ProgramSpec *p, NlAttachType type, char *buf, size_t size, bool *settled) {
        struct stat st;
        int r;

        if (p->kind == PROGRAM_PATH)
                r = p->path && p->path[0] == '/' ? stat(p->path, &st) : -1;
        else
                r = fstat(p->fd, &st);
        if (r < 0 || !S_ISREG(st.st_mode) || !p->program)
                return false;
        *settled = time(NULL) - st.st_ctim.tv_sec > IDENTITY_SETTLED_SEC &&
                   time(NULL) - st.st_mtim.tv_sec > IDENTITY_SETTLED_SEC;
        snprintf(buf, size, "%lu:%lu:%lld:%lld.%09ld:%lld.%09ld:%s:%.128s", (unsigned long) st.st_dev,
                 (unsigned long) st.st_ino, (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                 st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
                 nl_attach_type_to_string(type), p->program);
        return true;
}

static void identity_remember(const char *identity, const char *key) {
        char *k;

        if (!identities || hashmap_size(identities) >= IDENTITY_CACHE_MAX) {
                hashmap_free(identities, free);
                identities = hashmap_new();
                if (!identities)
                        return;
        }
        k = strdup(key);
        if (k && hashmap_put(identities, identity, k) < 0)
                free(k);
}

int manager_load_program(Manager *m, const ProgramSpec *p, NlAttachType type, uint64_t ino,
                         const char *name, NlProgram **ret, NlError *e) {
        char identity[512];
        bool have_identity = false, settled = false, staged;
        LoadArgs a = {};
        Prepared *pr;
        int r, fd;

        if (p->kind == PROGRAM_FD || p->kind == PROGRAM_PATH) {
                have_identity = file_identity(p, type, identity, sizeof(identity), &settled);
                const char *key = have_identity && identities ? hashmap_get(identities, identity) : NULL;
                NlProgram *cached = key ? nl_prog_cache_lookup(m->cache, key) : NULL;
                if (cached) {
                        *ret = cached;
                        return 0;
                }
        }

        r = prepare_args(m, p, type, ino, name, &a, e);
        if (r < 0)
                goto out;
        if (have_identity && settled)
                identity_remember(identity, a.key);

        if (!a.per_link) {
                NlProgram *cached = nl_prog_cache_lookup(m->cache, a.key);
                if (cached) {
                        *ret = cached;
                        r = 0;
                        goto out;
                }
        }

        pr = hashmap_get(m->prepared, a.key);
        if (pr) {
                if (!pr->prog) {
                        /* Every request waiting for this load gets its error. */
                        if (e)
                                *e = pr->error;
                        r = -(pr->error.error ? pr->error.error : EIO);
                        goto out;
                }
                *ret = nl_program_ref(pr->prog);
                if (pr->per_link) {
                        /* One link's maps: taken once. */
                        hashmap_remove(m->prepared, a.key);
                        nl_program_unref(pr->prog);
                        free(pr);
                }
                r = 0;
                goto out;
        }

        if (m->async && m->event) {
                if (!hashmap_get(m->jobs, a.key)) {
                        r = start_job(m, &a, ino, e);
                        if (r < 0)
                                goto out;
                }
                snprintf(m->pending_key, sizeof(m->pending_key), "%s", a.key);
                m->pending_index = 0;
                r = -EINPROGRESS;
                goto out;
        }

        r = stage_maps(m, &a, ino, e);
        if (r < 0)
                goto out;
        log_flush();
        r = nl_load_child_run(run_load, &a, &fd, e);
        staged = a.per_link && a.maps_mode == NL_MAPS_PIN;
        if (r >= 0)
                r = adopt(m, a.key, a.source, a.per_link, staged ? a.map_dir : NULL, fd, ret, e);
        else if (staged)
                unstage_maps(a.map_dir);
out:
        free(a.data);
        return r;
}

void manager_forget_prepared(Manager *m, const char *key) {
        Prepared *pr = hashmap_remove(m->prepared, key);

        if (!pr)
                return;
        /* New maps made for a request that never took them go with the
         * program (they are in its own folder); the netns's folders go
         * later if it has no link. */
        nl_program_unref(pr->prog);
        if (pr->per_link)
                manager_mark_emptied(m, pr->ino);
        free(pr);
}

void manager_hold_free(ProgramHold *h) {
        for (size_t i = 0; i < h->n; i++)
                nl_program_unref(h->progs[i]);
        free(h->progs);
        h->progs = NULL;
        h->n = 0;
}

void manager_load_free_all(Manager *m) {
        HashmapIter it = {};

        hashmap_free(identities, free);
        identities = NULL;
        manager_hold_free(&m->pending_hold);
        const char *key;
        LoadJob *j;

        while (hashmap_iterate(m->jobs, &it, (void **) &j, NULL)) {
                int fd = -EBADF;
                hashmap_remove(m->jobs, j->key);
                job_unwatch(j);
                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL);
                safe_close(fd);
                job_free(j);
        }
        it = (HashmapIter) {};
        while (hashmap_iterate(m->prepared, &it, NULL, &key)) {
                char k[512];
                snprintf(k, sizeof(k), "%s", key);
                manager_forget_prepared(m, k);
        }
}
