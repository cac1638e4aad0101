/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "builtin-marks.h"
#include "builtins.h"
#include "hashmap.h"
#include "link-ops.h"
#include "load-child.h"
#include "loader.h"
#include "log.h"
#include "map-pins.h"

/*
 * A load runs in a child process: libbpf parses the ELF and the verifier
 * runs there, so a hostile object can neither crash the daemon nor stall
 * it. Loads of one program (one key) are one job, however many ask; a few
 * jobs run at once and the rest queue, so that a batch of 300 steer links
 * neither forks 300 children at once nor holds up the loop.
 */

/* The verifier stops by itself at 1M instructions; this bounds the rest. */
#define LOAD_TIMEOUT_USEC (60ULL * 1000 * 1000)
/* Children verifying at once: more only queue for the same CPUs. */
#define JOBS_RUNNING_MAX 4

typedef struct LoadArgs {
        ProgramKind kind;
        void *data;
        size_t size;
        char *program;
        const char *builtin;
        NlAttachType type;
        NlMapsMode maps_mode;
        char map_dir[4096];     /* NL_MAPS_PIN: made when the load starts */
        char key[LOADER_KEY_MAX];
        char source[128];
        bool per_link;
        uint64_t ino;
} LoadArgs;

typedef struct Subscriber {
        loader_ready_fn fn;
        void *userdata;
} Subscriber;

typedef struct LoadJob {
        Loader *loader;
        LoadArgs a;
        char *staging;          /* the folder its new maps go in, until a program owns it */
        pid_t pid;              /* 0: queued */
        int sock;
        sd_event_source *io, *timer;
        Subscriber *subs;
        size_t n_subs;
        struct LoadJob *next;   /* in the queue */
} LoadJob;

struct Loader {
        sd_event *event;
        NlProgCache *cache;
        int marks_fd;
        LoaderHooks hooks;
        Hashmap *jobs;          /* key -> LoadJob, running or queued */
        LoadJob *queue, **queue_tail;
        unsigned running;
        Hashmap *identities;    /* file identity -> cache key */
};

static void args_done(LoadArgs *a) {
        free(a->data);
        a->data = NULL;
        free(a->program);
        a->program = NULL;
}

static int run_load(void *arg, NlError *e) {
        LoadArgs *a = arg;

        if (a->kind == PROGRAM_BUILTIN)
                return nl_builtin_load_fd(a->builtin, a->type, a->per_link ? a->map_dir : NULL, a->maps_mode, e);
        return nl_prog_elf_load_fd(a->data, a->size, a->program, a->type, e);
}

/* Before a load that makes maps: their own folder. */
static int stage_maps(Loader *l, LoadArgs *a, NlError *e) {
        int r;

        if (!a->per_link || a->maps_mode != NL_MAPS_PIN)
                return 0;
        r = l->hooks.stage(l->hooks.userdata, a->ino, a->map_dir, sizeof(a->map_dir));
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
static int adopt(Loader *l, const LoadArgs *a, const char *staging, int fd, NlProgram **ret, NlError *e) {
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
                r = nl_builtin_mark(l->marks_fd, id, nl_builtin_from_source(a->source), e);
        if (r >= 0)
                r = nl_prog_cache_adopt(l->cache, a->per_link ? NULL : a->key, a->source, NULL, NULL, fd, &p, e);
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

/* A per-link builtin: a link's own maps are kept (and the load is that
 * link's: its key names the link id, so a link made again under the name
 * gets its own); otherwise new maps, in a folder of the load's own.
 * Requests for new maps of one (netns, name) share a load. */
static void per_link_args(const LoadRequest *req, LoadArgs *a) {
        if (req->reuse_dir) {
                a->maps_mode = NL_MAPS_REUSE;
                snprintf(a->map_dir, sizeof(a->map_dir), "%s", req->reuse_dir);
                snprintf(a->key, sizeof(a->key), "steer:%" PRIu64 "/%s#%u", req->ino, req->name,
                         req->reuse_link_id);
                return;
        }
        a->maps_mode = NL_MAPS_PIN;
        a->map_dir[0] = 0;
        snprintf(a->key, sizeof(a->key), "steer:%" PRIu64 "/%s", req->ino, req->name);
}

/* Fills a: reads the object (fd or path) and computes the key. */
static int prepare_args(const LoadRequest *req, LoadArgs *a, NlError *e) {
        const ProgramSpec *p = req->spec;
        const NlBuiltin *b;
        int r;

        a->type = req->type;
        a->kind = p->kind;
        a->ino = req->ino;
        switch (p->kind) {
        case PROGRAM_BUILTIN:
                r = nl_builtin_check(p->builtin, req->type, e);
                if (r < 0)
                        return r;
                b = nl_builtin_find(p->builtin);
                a->builtin = b->name;
                a->per_link = b->per_link;
                snprintf(a->source, sizeof(a->source), "builtin:%s", b->name);
                if (b->per_link)
                        per_link_args(req, a);
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
        if (p->program && !(a->program = strdup(p->program)))
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        return nl_prog_elf_key(a->data, a->size, a->program, req->type, a->key, sizeof(a->key), a->source,
                               sizeof(a->source), e);
}

/* Before the socket is closed: epoll keeps watching a closed fd whose file
 * another loader child still holds (forked children inherit it). */
static void job_unwatch(LoadJob *j) {
        j->io = sd_event_source_disable_unref(j->io);
        j->timer = sd_event_source_disable_unref(j->timer);
}

/* Stops the child, if any, without an answer. */
static void job_stop(LoadJob *j) {
        int fd = -EBADF;

        job_unwatch(j);
        if (j->pid > 0) {
                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL);
                safe_close(fd);
                j->pid = 0;
        }
}

static void job_free(LoadJob *j) {
        if (!j)
                return;
        job_unwatch(j);
        unstage_maps(j->staging);       /* still ours: no program took it */
        free(j->staging);
        args_done(&j->a);
        free(j->subs);
        free(j);
}

static void start_queued(Loader *l);

/* Tells every subscriber; a per-link program goes to one of them. */
static void job_tell(LoadJob *j, NlProgram *prog, const NlError *error) {
        bool taken = false;

        for (size_t i = 0; i < j->n_subs; i++) {
                bool exclusive = j->a.per_link;
                if (exclusive && taken)
                        (void) j->subs[i].fn(j->subs[i].userdata, j->a.key, NULL, NULL, true);
                else if (j->subs[i].fn(j->subs[i].userdata, j->a.key, prog, error, exclusive))
                        taken = true;
        }
}

static void job_finish(LoadJob *j) {
        Loader *l = j->loader;
        NlProgram *prog = NULL;
        NlError *error;
        int fd = -EBADF, r;

        hashmap_remove(l->jobs, j->a.key);
        job_unwatch(j);
        l->running--;

        error = calloc(1, sizeof(*error));
        r = nl_load_child_finish(j->pid, j->sock, &fd, error);
        j->pid = 0;
        if (r >= 0) {
                /* The program owns the folder now, failed or not. */
                r = adopt(l, &j->a, j->staging, fd, &prog, error);
                free(j->staging);
                j->staging = NULL;
        }
        if (r < 0)
                log_debug("Loading %s failed: %s", j->a.source, error ? error->message : "out of memory");
        else
                log_debug("Loaded %s: program id %u", j->a.source, nl_program_id(prog));
        if (r < 0 && error && !error->error)
                error->error = -r;

        job_tell(j, prog, r < 0 ? error : NULL);
        /* A per-link program nobody took goes now, with its maps. */
        nl_program_unref(prog);
        if (j->a.per_link && l->hooks.ended)
                l->hooks.ended(l->hooks.userdata, j->a.ino);
        free(error);
        job_free(j);
        start_queued(l);
}

static int on_job_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        job_finish(userdata);
        return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LoadJob *j = userdata;

        log_warning("Loading %s took longer than %llu s; stopping it", j->a.source,
                    (unsigned long long) (LOAD_TIMEOUT_USEC / 1000000));
        (void) kill(j->pid, SIGKILL);
        return 0;       /* the hang-up finishes the job */
}

/* Forks the child of a job and watches it. */
static int job_run(LoadJob *j, NlError *e) {
        Loader *l = j->loader;
        int r;

        r = stage_maps(l, &j->a, e);
        if (r >= 0 && j->a.per_link && j->a.maps_mode == NL_MAPS_PIN && !(j->staging = strdup(j->a.map_dir))) {
                unstage_maps(j->a.map_dir);
                r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        if (r < 0)
                return r;

        log_flush();    /* a child must not inherit lines still to be written */
        r = nl_load_child_start(run_load, &j->a, &j->pid, &j->sock, e);
        if (r < 0)
                return r;
        /* The child has its copy. */
        free(j->a.data);
        j->a.data = NULL;
        r = sd_event_add_io(l->event, &j->io, j->sock, EPOLLIN | EPOLLHUP, on_job_io, j);
        if (r >= 0)
                r = sd_event_add_time_relative(l->event, &j->timer, CLOCK_MONOTONIC, LOAD_TIMEOUT_USEC, 0,
                                               on_job_timeout, j);
        if (r < 0) {
                job_stop(j);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot watch the loader: %m");
        }
        l->running++;
        log_debug("Loading %s in child %d", j->a.source, (int) j->pid);
        return 0;
}

/* A queued job that cannot start fails for everyone who waits for it. */
static void start_queued(Loader *l) {
        while (l->queue && l->running < JOBS_RUNNING_MAX) {
                LoadJob *j = l->queue;
                NlError *error;

                l->queue = j->next;
                if (!l->queue)
                        l->queue_tail = &l->queue;
                j->next = NULL;
                error = calloc(1, sizeof(*error));
                if (error && job_run(j, error) >= 0) {
                        free(error);
                        continue;
                }
                hashmap_remove(l->jobs, j->a.key);
                if (error && !error->error)
                        error->error = ENOMEM;
                job_tell(j, NULL, error);
                if (j->a.per_link && l->hooks.ended)
                        l->hooks.ended(l->hooks.userdata, j->a.ino);
                free(error);
                job_free(j);
        }
}

static int subscribe(LoadJob *j, loader_ready_fn fn, void *userdata) {
        Subscriber *n;

        for (size_t i = 0; i < j->n_subs; i++)
                if (j->subs[i].fn == fn && j->subs[i].userdata == userdata)
                        return 0;
        n = reallocarray(j->subs, j->n_subs + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        j->subs = n;
        j->subs[j->n_subs++] = (Subscriber) { fn, userdata };
        return 0;
}

/* Queues a job for a (it takes a's buffers); it starts at once if few run. */
static int job_add(Loader *l, LoadArgs *a, loader_ready_fn fn, void *userdata, NlError *e) {
        LoadJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        j->loader = l;
        j->sock = -EBADF;
        j->a = *a;
        *a = (LoadArgs) {};
        r = subscribe(j, fn, userdata);
        if (r >= 0)
                r = hashmap_put(l->jobs, j->a.key, j);
        if (r < 0) {
                job_free(j);
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        }
        if (l->running < JOBS_RUNNING_MAX) {
                r = job_run(j, e);
                if (r < 0) {
                        hashmap_remove(l->jobs, j->a.key);
                        job_free(j);
                }
                return r;
        }
        *l->queue_tail = j;
        l->queue_tail = &j->next;
        log_debug("Loading %s: queued", j->a.source);
        return 0;
}

/* A load the caller waits for. */
static int load_now(Loader *l, LoadArgs *a, NlProgram **ret, NlError *e) {
        bool staged;
        int r, fd;

        r = stage_maps(l, a, e);
        if (r < 0)
                return r;
        log_flush();
        r = nl_load_child_run(run_load, a, &fd, e);
        staged = a->per_link && a->maps_mode == NL_MAPS_PIN;
        if (r >= 0)
                r = adopt(l, a, staged ? a->map_dir : NULL, fd, ret, e);
        else if (staged)
                unstage_maps(a->map_dir);
        return r;
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

static void identity_remember(Loader *l, const char *identity, const char *key) {
        char *k;

        if (!l->identities || hashmap_size(l->identities) >= IDENTITY_CACHE_MAX) {
                hashmap_free(l->identities, free);
                l->identities = hashmap_new();
                if (!l->identities)
                        return;
        }
        k = strdup(key);
        if (k && hashmap_put(l->identities, identity, k) < 0)
                free(k);
}

int loader_get(Loader *l, const LoadRequest *req, loader_ready_fn on_ready, void *userdata, NlProgram **ret,
               char key[LOADER_KEY_MAX], NlError *e) {
        const ProgramSpec *p = req->spec;
        char identity[512];
        bool have_identity = false, settled = false;
        LoadArgs a = {};
        LoadJob *j;
        int r;

        if (p->kind == PROGRAM_FD || p->kind == PROGRAM_PATH) {
                have_identity = file_identity(p, req->type, identity, sizeof(identity), &settled);
                const char *k = have_identity && l->identities ? hashmap_get(l->identities, identity) : NULL;
                NlProgram *cached = k ? nl_prog_cache_lookup(l->cache, k) : NULL;
                if (cached) {
                        *ret = cached;
                        return 0;
                }
        }

        r = prepare_args(req, &a, e);
        if (r < 0)
                goto out;
        if (have_identity && settled)
                identity_remember(l, identity, a.key);

        if (!a.per_link) {
                NlProgram *cached = nl_prog_cache_lookup(l->cache, a.key);
                if (cached) {
                        *ret = cached;
                        r = 0;
                        goto out;
                }
        }

        if (!on_ready || !l->event) {
                r = load_now(l, &a, ret, e);
                goto out;
        }
        snprintf(key, LOADER_KEY_MAX, "%s", a.key);
        j = hashmap_get(l->jobs, a.key);
        if (j)
                r = subscribe(j, on_ready, userdata) < 0 ? nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory")
                                                         : 0;
        else
                r = job_add(l, &a, on_ready, userdata, e);
        if (r >= 0)
                r = -EINPROGRESS;
out:
        args_done(&a);
        return r;
}

void loader_forget(Loader *l, void *userdata) {
        HashmapIter it = {};
        LoadJob *j;

        if (!l)
                return;
        while (hashmap_iterate(l->jobs, &it, (void **) &j, NULL))
                for (size_t i = 0; i < j->n_subs;)
                        if (j->subs[i].userdata == userdata)
                                j->subs[i] = j->subs[--j->n_subs];
                        else
                                i++;
}

int loader_new(sd_event *event, NlProgCache *cache, int marks_fd, const LoaderHooks *hooks, Loader **ret) {
        Loader *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(event);
        l->cache = cache;
        l->marks_fd = marks_fd;
        l->hooks = *hooks;
        l->queue_tail = &l->queue;
        l->jobs = hashmap_new();
        if (!l->jobs) {
                loader_free(l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

Loader *loader_free(Loader *l) {
        HashmapIter it = {};
        LoadJob *j;

        if (!l)
                return NULL;
        while (hashmap_iterate(l->jobs, &it, (void **) &j, NULL)) {
                hashmap_remove(l->jobs, j->a.key);
                job_stop(j);
                job_free(j);
                it = (HashmapIter) {};
        }
        hashmap_free(l->jobs, NULL);
        hashmap_free(l->identities, free);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}
