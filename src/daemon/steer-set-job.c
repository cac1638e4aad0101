/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "builtins.h"
#include "load-child.h"
#include "log.h"
#include "pin-store.h"
#include "steer-set-job.h"

/* SetBindings calls, their work off the loop (steer-set-job.h). */

typedef enum JobState {
        JOB_WRITING,            /* the thread writes the set */
        JOB_WRITTEN,            /* it ended: r, changes, tier, error */
        JOB_LOADING,            /* the child loads the larger program */
        JOB_LOADED,             /* it ended: r is the program fd, or its error */
} JobState;

struct SteerSetJob {
        Steering *owner;
        sd_bus_message *msg;            /* the call, waiting */
        char key[128];                  /* its link: Link.key and kernel link id */
        uint32_t link_id;
        char name[64];                  /* for messages */
        JobState state;
        /* The call's bindings as sent (their strings are the message's,
         * which the job holds), parsed by the first thread into b. */
        SteerBindingArgs *args;
        NlSteerBinding *b;
        size_t n;
        sd_event_source *io;            /* the end of the thread or of the child */
        int r;
        NlError error;
        /* The thread's, while it runs. */
        NlSteer *steer;
        pthread_t thread;
        bool thread_made;
        int efd;
        NlSteerChanges changes;
        unsigned tier;
        /* A growth's (nl_steer_grow_begin). */
        char dir[4096];
        bool dir_made;                  /* the folder is this job's to remove */
        uint32_t prog_id;
        pid_t pid;
        int sock;
        struct SteerSetJob *next;
};

static void job_end_thread(SteerSetJob *j) {
        if (j->thread_made)
                (void) pthread_join(j->thread, NULL);
        j->thread_made = false;
        j->steer = nl_steer_close(j->steer);
        j->efd = safe_close(j->efd);
}

static SteerSetJob *job_free(SteerSetJob *j) {
        if (!j)
                return NULL;
        j->io = sd_event_source_disable_unref(j->io);
        job_end_thread(j);
        if (j->pid > 0) {
                int fd = -EBADF;

                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL, NULL);   /* kills it */
                safe_close(fd);
        }
        if (j->state == JOB_LOADED && j->r >= 0)
                safe_close(j->r);
        /* A growth that never finished: its new maps go with their pins. */
        if (j->dir_made)
                (void) nl_pin_rm_rf(j->dir);
        sd_bus_message_unref(j->msg);
        free(j->args);
        free(j->b);
        free(j);
        return NULL;
}

static void job_unlink(SteerSetJob *j) {
        for (SteerSetJob **p = &j->owner->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        return;
                }
}

static SteerSetJob *job_of_msg(Steering *s, sd_bus_message *msg) {
        for (SteerSetJob *j = s->jobs; j; j = j->next)
                if (j->msg == msg)
                        return j;
        return NULL;
}

/* A step ended: the call runs again, from the top. */
static void job_rerun(SteerSetJob *j) {
        int r = sd_bus_message_rewind(j->msg, true);

        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(j->msg), j->msg);
        if (r >= 0)
                return;
        log_error("Cannot run SetBindings on link '%s' again: %s", j->name, strerror(-r));
        (void) sd_bus_reply_method_errno(j->msg, r, NULL);
        job_unlink(j);
        job_free(j);
}

/* The step's end, heard on the loop: fd becomes readable. */
static int job_watch(SteerSetJob *j, int fd, sd_event_io_handler_t fn, const char *what, NlError *e) {
        int r = sd_event_add_io(sd_bus_get_event(sd_bus_message_get_bus(j->msg)), &j->io, fd, EPOLLIN, fn, j);

        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot watch the %s: %m", what);
        (void) sd_event_source_set_description(j->io, what);
        return 0;
}

/* ---- the set, by a thread ------------------------------------------------ */

static void *write_set(void *userdata) {
        SteerSetJob *j = userdata;
        uint64_t one = 1;

        j->r = j->b ? 0 : steering_parse_bindings(j->args, j->n, &j->b, &j->error);
        if (j->r >= 0)
                j->r = nl_steer_set_bindings_or_tier(j->steer, j->b, j->n, &j->changes, &j->tier, &j->error);
        /* The loop hears it; a full counter cannot be (one write). */
        (void) !write(j->efd, &one, sizeof(one));
        return NULL;
}

static int on_written(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SteerSetJob *j = userdata;

        (void) src;
        (void) fd;
        (void) revents;
        j->io = sd_event_source_disable_unref(j->io);
        job_end_thread(j);
        j->state = JOB_WRITTEN;
        job_rerun(j);
        return 0;
}

static int start_writing(SteerSetJob *j, SteerTarget *t, NlError *e) {
        int r;

        /* The thread's alone: no other call closes or uses them. */
        j->steer = steer_target_take(t);
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->efd < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot make an eventfd: %m");
        r = job_watch(j, j->efd, on_written, "SetBindings thread", e);
        if (r < 0)
                return r;
        r = -pthread_create(&j->thread, NULL, write_set, j);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot start the SetBindings thread: %m");
        j->thread_made = true;
        j->state = JOB_WRITING;
        return 1;
}

/* ---- a growth: the larger program, by a child -------------------------- */

/* In the child: the larger program, its new maps pinned in the folder. */
static int load_grown(void *arg, char *note, NlError *e) {
        const SteerSetJob *j = arg;

        (void) note;
        return nl_builtin_load_steer_fd(j->dir, j->tier, e);
}

static int on_loaded(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SteerSetJob *j = userdata;

        (void) src;
        (void) revents;
        j->io = sd_event_source_disable_unref(j->io);
        j->r = nl_load_child_finish(j->pid, j->sock, &fd, NULL, &j->error);
        j->pid = 0;
        if (j->r >= 0)
                j->r = fd;
        j->state = JOB_LOADED;
        job_rerun(j);
        return 0;
}

static int start_loading(SteerSetJob *j, SteerTarget *t, NlError *e) {
        int r;

        r = nl_steer_grow_begin(t->steer, j->tier, j->dir, sizeof(j->dir), &j->prog_id, e);
        if (r < 0)
                return r;
        j->dir_made = true;
        r = nl_load_child_start(load_grown, j, -EBADF, &j->pid, &j->sock, e);
        if (r < 0)
                return r;
        r = job_watch(j, j->sock, on_loaded, "steer growth's load", e);
        if (r < 0)
                return r;
        j->state = JOB_LOADING;
        log_info("Steering %s/%s: moving the link to larger maps (tier %u) for a SetBindings; the program loads "
                 "in process %d", t->link->netns, j->name, j->tier, (int) j->pid);
        return 1;
}

/* The link moves to the loaded program's maps, on the loop: the growth's
 * records are the Manager's (steer_maps_grown). */
static int finish_growth(SteerSetJob *j, SteerTarget *t, NlError *e) {
        int r;

        if (j->r < 0) {
                *e = j->error;
                return j->r;
        }
        j->dir_made = false;    /* finish removes it, whatever happens */
        r = nl_steer_grow_finish(t->steer, j->r, j->prog_id, e);
        j->r = safe_close(j->r);
        return r;
}

/* ---- the call ----------------------------------------------------------- */

static int job_new(Steering *s, sd_bus_message *msg, SteerTarget *t, const SteerBindingArgs *a, size_t n,
                   SteerSetJob **ret, NlError *e) {
        SteerSetJob *j = calloc(1, sizeof(*j));

        if (!j)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        *j = (SteerSetJob) { .owner = s, .msg = sd_bus_message_ref(msg), .efd = -EBADF, .sock = -EBADF, .n = n,
                             .link_id = t->link->info.link_id };
        snprintf(j->key, sizeof(j->key), "%s", t->link->key);
        snprintf(j->name, sizeof(j->name), "%s", t->link->name);
        j->args = calloc(n ? n : 1, sizeof(*a));
        if (!j->args) {
                job_free(j);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        if (n > 0)
                memcpy(j->args, a, n * sizeof(*a));
        j->next = s->jobs;
        s->jobs = j;
        *ret = j;
        return 0;
}

/* The set on the loop: 0, or 1 if it must run off it (it replaces
 * bindings, or needs larger maps), having written nothing, or an error. */
static int write_inline(SteerTarget *t, const SteerBindingArgs *a, size_t n, NlSteerChanges *c, NlError *e) {
        _cleanup_free_ NlSteerBinding *b = NULL;
        unsigned tier;
        int r;

        if (n > STEER_SET_INLINE_MAX)
                return 1;
        r = steering_parse_bindings(a, n, &b, e);
        if (r < 0)
                return r;
        nl_steer_set_no_wait(t->steer, true);
        r = nl_steer_set_bindings_or_tier(t->steer, b, n, c, &tier, e);
        nl_steer_set_no_wait(t->steer, false);
        if (r == -EWOULDBLOCK)
                return 1;
        return r;
}

int steer_set_first(SteerTarget *t, const SteerBindingArgs *a, size_t n, NlError *e) {
        NlSteerChanges c = {};
        int r = write_inline(t, a, n, &c, e);

        if (r == 1)
                /* Not for a link just made, with the smallest maps' room. */
                return nl_error_set(e, NL_ERR_FAILED, -EBUSY,
                                    "The bindings of new link '%s' cannot be written with its Attach; set them with "
                                    "SetBindings", t->link->name);
        if (r == 0)
                steering_log_set(t, &c);
        return r;
}

int steer_set_job_run(Steering *s, sd_bus_message *msg, SteerTarget *t, const SteerBindingArgs *a, size_t n,
                      NlSteerChanges *c, NlError *e) {
        SteerSetJob *j = job_of_msg(s, msg);
        int r;

        if (!j) {
                steering_note_set(t);
                r = write_inline(t, a, n, c, e);
                if (r <= 0) {
                        if (r == 0)
                                steering_log_set(t, c);
                        return r;
                }
                *e = (NlError) {};
                r = job_new(s, msg, t, a, n, &j, e);
                if (r < 0)
                        return r;
                r = start_writing(j, t, e);
        } else if (t->link->info.link_id != j->link_id || strcmp(t->link->key, j->key) != 0)
                r = nl_error_set(e, NL_ERR_FAILED, -ESTALE,
                                 "Link '%s' in netns %s was replaced while this SetBindings ran", t->link->name,
                                 t->link->netns);
        else if (j->state == JOB_WRITTEN) {
                r = j->r;
                if (r < 0)
                        *e = j->error;
                else if (r == 1)
                        /* Nothing written: the link needs larger maps first. */
                        r = start_loading(j, t, e);
                else
                        *c = j->changes;
        } else if (j->state == JOB_LOADED) {
                r = finish_growth(j, t, e);
                if (r >= 0)
                        r = start_writing(j, t, e);
        } else
                r = nl_error_set(e, NL_ERR_FAILED, -EBUSY, "SetBindings on link '%s' ran again too early", j->name);

        t->link->steer_busy = r == 1;
        if (r != 1) {
                job_unlink(j);
                job_free(j);
        }
        if (r == 0)
                steering_log_set(t, c);
        return r;
}

int steer_set_job_check(Steering *s, sd_bus_message *msg, const SteerTarget *t, NlError *e) {
        for (SteerSetJob *j = s->jobs; j; j = j->next)
                if (j->msg != msg && j->link_id == t->link->info.link_id && strcmp(j->key, t->link->key) == 0)
                        return nl_error_set(e, NL_ERR_FAILED, -EBUSY,
                                            "Link '%s' in netns %s is being changed by a SetBindings not answered "
                                            "yet; it takes no other change until then",
                                            t->link->name, t->link->netns);
        return 0;
}

bool steer_set_job_is_waiting(Steering *s, sd_bus_message *msg) {
        return job_of_msg(s, msg) != NULL;
}

void steer_set_job_forget(Steering *s, sd_bus_message *msg) {
        SteerSetJob *j = job_of_msg(s, msg);

        if (j) {
                job_unlink(j);
                job_free(j);
        }
}

void steer_set_job_drop(Steering *s) {
        while (s->jobs) {
                SteerSetJob *j = s->jobs;

                s->jobs = j->next;
                job_free(j);
        }
}
