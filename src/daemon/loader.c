/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
/* Reading an object file: a file whose reads never end (a FUSE or network
 * file that stalls) costs its request this long, and nobody else anything. */
#define READ_TIMEOUT_SEC 10

/*
 * Spares: builtin:steer programs loaded ahead, each with new maps that are
 * pinned nowhere. A request for a new steer link takes one and pins its
 * maps in the request's folder: a few syscalls instead of a verifier run
 * of tens of milliseconds (what a pod's CNI ADD waits for). The next spare
 * loads at once, in the background, at the lowest priority. A spare's maps
 * live only as long as its program, so a daemon that dies leaves nothing
 * of them behind. A load that fails stops the refill until a steer load
 * for a request works again: a kernel that refuses steer is told once.
 */
#define SPARE_KEY "steer:spare"
/* A spare taken is replaced this long after: not while the request that
 * took it (and the calls that follow it, a pod's SetBindings) still run,
 * which the fork of a loader would hold up. */
#define SPARE_REFILL_DELAY_USEC (20ULL * 1000)

typedef struct LoadArgs {
        ProgramKind kind;
        int obj_fd;             /* PROGRAM_FD: ours, the child's NL_LOAD_CHILD_FD */
        char *path;             /* PROGRAM_PATH */
        char *what;             /* the object, for messages: object_fd (what it is), or its path */
        char *program;
        const char *builtin;
        NlAttachType type;
        NlMapsMode maps_mode;
        char map_dir[4096];     /* NL_MAPS_PIN: made when the load starts */
        char key[LOADER_KEY_MAX];       /* the job's; for a file, until the child read it: */
        char content_key[LOADER_KEY_MAX];       /* the cache key of what it read */
        char source[128];
        char identity[512];     /* a regular file's (file_identity), or "" */
        bool settled;
        bool per_link;
        bool spare;             /* a spare (above): NL_MAPS_NONE, nobody waits */
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
        int sources_fd;
        LoaderHooks hooks;
        uint64_t n_file_loads;  /* names the loads of files without an identity */
        Hashmap *jobs;          /* key -> LoadJob, running or queued */
        LoadJob *queue, **queue_tail;
        unsigned running;
        Hashmap *identities;    /* file identity -> cache key */
        NlProgram *spares[LOADER_SPARES_MAX];
        unsigned n_spares, spares_want;
        bool spares_failed;
        sd_event_source *refill_timer;
};

static void args_done(LoadArgs *a) {
        a->obj_fd = safe_close(a->obj_fd);
        free(a->path);
        a->path = NULL;
        free(a->what);
        a->what = NULL;
        free(a->program);
        a->program = NULL;
}

/* In the child: reads the object (with a deadline: the read may never
 * end), says its cache key and source in note ("key\0source"), loads it. */
static int run_load_object(LoadArgs *a, char *note, NlError *e) {
        _cleanup_free_ void *data = NULL;
        char key[LOADER_KEY_MAX], source[128];
        size_t size = 0;
        int r;

        nl_load_child_deadline(READ_TIMEOUT_SEC);
        if (a->kind == PROGRAM_PATH)
                r = nl_prog_elf_read_path(a->path, &data, &size, e);
        else
                r = nl_prog_elf_read_fd(NL_LOAD_CHILD_FD, &data, &size, e);
        nl_load_child_deadline(0);
        if (r < 0)
                return r;
        r = nl_prog_elf_key(data, size, a->program, a->type, key, sizeof(key), source, sizeof(source), e);
        if (r < 0)
                return r;
        if (strlen(key) + 1 + strlen(source) + 1 > NL_LOAD_NOTE_MAX)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "The object's key is too long");
        memcpy(note, key, strlen(key) + 1);
        memcpy(note + strlen(key) + 1, source, strlen(source) + 1);
        return nl_prog_elf_load_fd(data, size, a->program, a->type, e);
}

static int run_load(void *arg, char *note, NlError *e) {
        LoadArgs *a = arg;

        if (a->spare)
                (void) setpriority(PRIO_PROCESS, 0, 19);        /* nobody waits for it */
        if (a->kind == PROGRAM_BUILTIN)
                return nl_builtin_load_fd(a->builtin, a->type, a->per_link ? a->map_dir : NULL, a->maps_mode, e);
        return run_load_object(a, note, e);
}

/* After the child: what it read, from its note. A read that never ended
 * is said as such, naming the object. */
static int object_loaded(LoadArgs *a, int r, const char *note, NlError *e) {
        size_t n;

        if (r == -ETIMEDOUT && a->kind != PROGRAM_BUILTIN)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ETIMEDOUT,
                                    "Reading the object from %s did not end within %d s; gave up (a file whose "
                                    "reads never return, such as a stalled FUSE or network file?)",
                                    a->what, READ_TIMEOUT_SEC);
        if (r < 0 || a->kind == PROGRAM_BUILTIN)
                return r;
        n = strnlen(note, NL_LOAD_NOTE_MAX);
        if (n == 0 || n + 1 >= NL_LOAD_NOTE_MAX)
                return nl_error_set(e, NL_ERR_FAILED, -EBADMSG, "The loader did not say what it loaded");
        snprintf(a->content_key, sizeof(a->content_key), "%s", note);
        snprintf(a->source, sizeof(a->source), "%s", note + n + 1);
        return 0;
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
static void identity_remember(Loader *l, const char *identity, const char *key);

static int adopt(Loader *l, const LoadArgs *a, const char *staging, int fd, NlProgram **ret, NlError *e) {
        const char *key = a->kind == PROGRAM_BUILTIN ? a->key : a->content_key;
        NlProgram *p = NULL;
        uint32_t id;
        int r;

        if (a->kind != PROGRAM_BUILTIN) {
                if (a->settled)
                        identity_remember(l, a->identity, key);
                /* Loaded meanwhile by another job, from another file of
                 * the same content: one program serves both. */
                p = nl_prog_cache_lookup(l->cache, key);
                if (p) {
                        close(fd);
                        *ret = p;
                        return 0;
                }
        }

        /* Marked before any link can run it, and before the cache can hand
         * it out: a builtin is known after a restart by this record alone
         * (builtin-marks.h). Any other program clears what its id may
         * carry from a program long gone. */
        r = nl_prog_fd_describe(fd, &id, NULL, NULL);
        if (r < 0)
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the loaded program's id: %m");
        if (r >= 0)
                r = nl_builtin_mark(l->marks_fd, id, nl_builtin_from_source(a->source), e);
        /* The same for an object's program: its source, listed again after a restart. */
        if (r >= 0)
                r = nl_prog_source_record(l->sources_fd, id, a->source, e);
        if (r >= 0)
                r = nl_prog_cache_adopt(l->cache, a->per_link ? NULL : key, a->source, NULL, NULL, fd, &p, e);
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

static bool file_identity(const ProgramSpec *p, NlAttachType type, char *buf, size_t size, bool *settled);

/* Fills a. An object is read in the child: its job is named by the file's
 * identity (so that the loads of one file are one), or by a number. */
static int prepare_args(Loader *l, const LoadRequest *req, LoadArgs *a, NlError *e) {
        const ProgramSpec *p = req->spec;
        const NlBuiltin *b;
        char link[64], target[256];
        ssize_t n;

        a->obj_fd = -EBADF;
        a->type = req->type;
        a->kind = p->kind;
        a->ino = req->ino;
        switch (p->kind) {
        case PROGRAM_BUILTIN: {
                int r = nl_builtin_check(p->builtin, req->type, e);
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
        }
        case PROGRAM_PATH:
                a->path = strdup(p->path);
                if (a->path && asprintf(&a->what, "object_path %s", p->path) < 0)
                        a->what = NULL;
                break;
        case PROGRAM_FD:
                a->obj_fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
                if (a->obj_fd < 0)
                        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, negative_errno(),
                                            "Cannot use object_fd: %m");
                snprintf(link, sizeof(link), "/proc/self/fd/%d", p->fd);
                n = readlink(link, target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = 0;
                if (asprintf(&a->what, "object_fd (%s)", n > 0 ? target : "unknown file") < 0)
                        a->what = NULL;
                break;
        default:
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Unknown program source");
        }
        if ((p->kind == PROGRAM_PATH && !a->path) || !a->what || (p->program && !(a->program = strdup(p->program))))
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        snprintf(a->source, sizeof(a->source), "%.127s", a->what);
        if (file_identity(p, req->type, a->identity, sizeof(a->identity), &a->settled))
                snprintf(a->key, sizeof(a->key), "file:%s", a->identity);
        else
                snprintf(a->key, sizeof(a->key), "file#%" PRIu64, ++l->n_file_loads);
        return 0;
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
                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL, NULL);
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
static void spares_refill(Loader *l);

/* A spare's load ended: prog (taken) joins the spares. */
static void spare_loaded(Loader *l, NlProgram **prog, const NlError *error) {
        if (!*prog) {
                log_warning("Cannot load a spare builtin:steer program (%s); new steer links load their own",
                            error && *error->message ? error->message : "out of memory");
                l->spares_failed = true;
                return;
        }
        if (l->n_spares < l->spares_want && l->n_spares < LOADER_SPARES_MAX) {
                l->spares[l->n_spares++] = *prog;
                *prog = NULL;
        }
}

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
        char note[NL_LOAD_NOTE_MAX] = "";
        NlProgram *prog = NULL;
        NlError *error;
        int fd = -EBADF, r;

        hashmap_remove(l->jobs, j->a.key);
        job_unwatch(j);
        l->running--;

        error = calloc(1, sizeof(*error));
        r = nl_load_child_finish(j->pid, j->sock, &fd, note, error);
        j->pid = 0;
        r = object_loaded(&j->a, r, note, error);
        if (r < 0)
                fd = safe_close(fd);
        if (r >= 0) {
                /* The program owns the folder now, failed or not. */
                r = adopt(l, &j->a, j->staging, fd, &prog, error);
                free(j->staging);
                j->staging = NULL;
        }
        if (r < 0)
                log_debug("Loading %s failed: %s", j->a.source, error ? error->message : "out of memory");
        else
                log_debug("Loaded %s%s: program id %u", j->a.spare ? "a spare " : "", j->a.source,
                          nl_program_id(prog));
        if (r < 0 && error && !error->error)
                error->error = -r;

        if (j->a.spare)
                spare_loaded(l, &prog, r < 0 ? error : NULL);
        else
                job_tell(j, prog, r < 0 ? error : NULL);
        /* A steer load for a request worked: so may a spare's again. */
        if (r >= 0 && j->a.per_link && !j->a.spare)
                l->spares_failed = false;
        /* A per-link program nobody took goes now, with its maps. */
        nl_program_unref(prog);
        if (j->a.per_link && !j->a.spare && l->hooks.ended)
                l->hooks.ended(l->hooks.userdata, j->a.ino);
        free(error);
        job_free(j);
        start_queued(l);
        spares_refill(l);
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
        r = nl_load_child_start(run_load, &j->a, j->a.obj_fd, &j->pid, &j->sock, e);
        if (r < 0)
                return r;
        /* The child has its copy. */
        j->a.obj_fd = safe_close(j->a.obj_fd);
        r = sd_event_add_io(l->event, &j->io, j->sock, EPOLLIN | EPOLLHUP, on_job_io, j);
        if (r >= 0)
                r = sd_event_add_time_relative(l->event, &j->timer, CLOCK_MONOTONIC, LOAD_TIMEOUT_USEC, 0,
                                               on_job_timeout, j);
        if (r < 0) {
                job_stop(j);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot watch the loader: %m");
        }
        l->running++;
        log_debug("Loading %s%s in child %d", j->a.spare ? "a spare " : "", j->a.source, (int) j->pid);
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
                if (j->a.spare) {
                        NlProgram *none = NULL;
                        spare_loaded(l, &none, error);
                } else
                        job_tell(j, NULL, error);
                if (j->a.per_link && !j->a.spare && l->hooks.ended)
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
        *a = (LoadArgs) { .obj_fd = -EBADF };
        r = fn ? subscribe(j, fn, userdata) : 0;
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
        char note[NL_LOAD_NOTE_MAX] = "";
        bool staged;
        int r, fd = -EBADF;

        r = stage_maps(l, a, e);
        if (r < 0)
                return r;
        log_flush();
        r = nl_load_child_run(run_load, a, a->obj_fd, &fd, note, e);
        r = object_loaded(a, r, note, e);
        if (r < 0)
                fd = safe_close(fd);
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
        if (!*identity)
                return;
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

/* Starts the load of one more spare if fewer are ready than wanted, none
 * loads and the last did not fail. */
static void spares_refill(Loader *l) {
        LoadArgs a = { .obj_fd = -EBADF };
        NlError e = {};

        if (!l->event || l->spares_failed || l->n_spares >= l->spares_want || hashmap_get(l->jobs, SPARE_KEY))
                return;
        a.kind = PROGRAM_BUILTIN;
        a.builtin = "steer";
        a.type = NL_ATTACH_SK_LOOKUP;
        a.per_link = true;
        a.spare = true;
        a.maps_mode = NL_MAPS_NONE;
        snprintf(a.key, sizeof(a.key), SPARE_KEY);
        snprintf(a.source, sizeof(a.source), "builtin:steer");
        if (job_add(l, &a, NULL, NULL, &e) < 0) {
                log_warning("Cannot start loading a spare builtin:steer program: %s", e.message);
                l->spares_failed = true;
        }
        args_done(&a);
}

static int on_refill_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        (void) source;
        (void) usec;
        spares_refill(userdata);
        return 0;
}

/* Refills after SPARE_REFILL_DELAY_USEC (once: takes meanwhile wait for the
 * same timer). */
static void spares_refill_later(Loader *l) {
        int r;

        if (!l->event)
                return;
        if (!l->refill_timer) {
                r = sd_event_add_time_relative(l->event, &l->refill_timer, CLOCK_MONOTONIC,
                                               SPARE_REFILL_DELAY_USEC, 1000, on_refill_timer, l);
                if (r < 0) {
                        spares_refill(l);
                        return;
                }
                (void) sd_event_source_set_description(l->refill_timer, "spare refill");
        } else if (sd_event_source_get_enabled(l->refill_timer, NULL) == 0) {
                (void) sd_event_source_set_time_relative(l->refill_timer, SPARE_REFILL_DELAY_USEC);
                (void) sd_event_source_set_enabled(l->refill_timer, SD_EVENT_ONESHOT);
        }
}

/* A spare for a request of new maps (a staged), if one is ready: its maps
 * pinned in the request's new folder, which it owns from now on, as a
 * program loaded for the request would. Returns 1 with *ret, 0 if there
 * is no spare, or a negative errno. */
static int spare_take(Loader *l, LoadArgs *a, NlProgram **ret, NlError *e) {
        _cleanup_(nl_program_unrefp) NlProgram *p = NULL;
        int r;

        if (l->n_spares == 0)
                return 0;
        p = l->spares[--l->n_spares];
        l->spares[l->n_spares] = NULL;
        spares_refill_later(l);

        r = stage_maps(l, a, e);
        if (r < 0)
                return r;
        r = nl_program_set_staging_dir(p, a->map_dir);
        if (r < 0) {
                unstage_maps(a->map_dir);
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        }
        /* On failure the program goes and removes the folder with it. */
        r = nl_prog_pin_maps(nl_program_id(p), a->map_dir, e);
        if (r < 0)
                return r;
        log_debug("New steer maps in %s: a spare program, id %u", a->map_dir, nl_program_id(p));
        *ret = TAKE_PTR(p);
        return 1;
}

void loader_set_spares(Loader *l, unsigned n) {
        l->spares_want = n < LOADER_SPARES_MAX ? n : LOADER_SPARES_MAX;
        while (l->n_spares > l->spares_want) {
                l->n_spares--;
                l->spares[l->n_spares] = nl_program_unref(l->spares[l->n_spares]);
        }
        spares_refill(l);
}

int loader_get(Loader *l, const LoadRequest *req, loader_ready_fn on_ready, void *userdata, NlProgram **ret,
               char key[LOADER_KEY_MAX], NlError *e) {
        LoadArgs a = { .obj_fd = -EBADF };
        LoadJob *j;
        int r;

        r = prepare_args(l, req, &a, e);
        if (r < 0)
                goto out;
        if (a.kind != PROGRAM_BUILTIN) {
                /* A file seen before maps straight to its program. */
                const char *k = *a.identity && l->identities ? hashmap_get(l->identities, a.identity) : NULL;
                NlProgram *cached = k ? nl_prog_cache_lookup(l->cache, k) : NULL;
                if (cached) {
                        *ret = cached;
                        r = 0;
                        goto out;
                }
        } else if (!a.per_link) {
                NlProgram *cached = nl_prog_cache_lookup(l->cache, a.key);
                if (cached) {
                        *ret = cached;
                        r = 0;
                        goto out;
                }
        } else if (a.maps_mode == NL_MAPS_PIN) {
                r = spare_take(l, &a, ret, e);
                if (r != 0) {
                        r = r < 0 ? r : 0;
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

int loader_new(sd_event *event, NlProgCache *cache, int marks_fd, int sources_fd, const LoaderHooks *hooks,
               Loader **ret) {
        Loader *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(event);
        l->cache = cache;
        l->marks_fd = marks_fd;
        l->sources_fd = sources_fd;
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
        for (unsigned i = 0; i < l->n_spares; i++)
                nl_program_unref(l->spares[i]);
        sd_event_source_disable_unref(l->refill_timer);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}
