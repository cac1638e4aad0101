/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "builtins.h"
#include "load-child.h"
#include "log.h"
#include "pin-store.h"
#include "steer-growing.h"

/* Growths of steer links for SetBindings calls (steer-growing.h). */

struct SteerGrowJob {
        Steering *owner;
        sd_bus_message *msg;            /* the call, waiting */
        char key[128];                  /* its link: Link.key and kernel link id */
        uint32_t link_id;
        char netns[128], name[64];      /* for messages */
        char dir[4096];                 /* nl_steer_grow_begin's folder */
        unsigned tier;
        uint32_t prog_id;               /* the program the link ran at the start */
        pid_t pid;                      /* the loading child, 0 once reaped */
        int sock;
        sd_event_source *io;
        bool done;
        bool dir_made;                  /* the folder is this job's to remove */
        int r;                          /* the load's result: a program fd, or its error */
        NlError error;
        struct SteerGrowJob *next;
};

static SteerGrowJob *job_free(SteerGrowJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->io);
        if (j->pid > 0) {
                int fd = -EBADF;

                (void) nl_load_child_finish(j->pid, j->sock, &fd, NULL, NULL);   /* kills it */
                safe_close(fd);
        }
        if (j->done && j->r >= 0)
                safe_close(j->r);
        /* A growth that never finished: its new maps go with their pins. */
        if (j->dir_made)
                (void) nl_pin_rm_rf(j->dir);
        sd_bus_message_unref(j->msg);
        free(j);
        return NULL;
}

static void job_unlink(SteerGrowJob *j) {
        for (SteerGrowJob **p = &j->owner->growing; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        return;
                }
}

static SteerGrowJob *job_of_msg(Steering *s, sd_bus_message *msg) {
        for (SteerGrowJob *j = s->growing; j; j = j->next)
                if (j->msg == msg)
                        return j;
        return NULL;
}

/* In the child: the larger program, its new maps pinned in the folder. */
static int load_grown(void *arg, char *note, NlError *e) {
        const SteerGrowJob *j = arg;

        (void) note;
        return nl_builtin_load_steer_fd(j->dir, j->tier, e);
}

/* The load ended: the call runs again, from the top. */
static int on_loaded(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SteerGrowJob *j = userdata;
        int r;

        (void) src;
        (void) fd;
        (void) revents;
        j->io = sd_event_source_disable_unref(j->io);
        j->r = nl_load_child_finish(j->pid, j->sock, &fd, NULL, &j->error);
        j->pid = 0;
        if (j->r >= 0)
                j->r = fd;
        j->done = true;
        r = sd_bus_message_rewind(j->msg, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(j->msg), j->msg);
        if (r < 0) {
                log_error("Cannot run SetBindings on link '%s' in netns %s again after its growth: %s", j->name,
                          j->netns, strerror(-r));
                (void) sd_bus_reply_method_errno(j->msg, r, NULL);
                job_unlink(j);
                job_free(j);
        }
        return 0;
}

int steer_growing_start(Steering *s, sd_bus_message *msg, SteerTarget *t, unsigned tier, NlError *e) {
        SteerGrowJob *j;
        sd_event *event = sd_bus_get_event(sd_bus_message_get_bus(msg));
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        j->owner = s;
        j->msg = sd_bus_message_ref(msg);
        j->sock = -EBADF;
        j->tier = tier;
        j->link_id = t->link->info.link_id;
        snprintf(j->key, sizeof(j->key), "%s", t->link->key);
        snprintf(j->netns, sizeof(j->netns), "%s", t->link->netns);
        snprintf(j->name, sizeof(j->name), "%s", t->link->name);
        r = nl_steer_grow_begin(t->steer, tier, j->dir, sizeof(j->dir), &j->prog_id, e);
        if (r < 0) {
                job_free(j);
                return r;
        }
        j->dir_made = true;
        r = nl_load_child_start(load_grown, j, -EBADF, &j->pid, &j->sock, e);
        if (r >= 0) {
                r = sd_event_add_io(event, &j->io, j->sock, EPOLLIN, on_loaded, j);
                if (r < 0)
                        nl_error_set(e, NL_ERR_FAILED, r, "Cannot watch the growth's load: %m");
        }
        if (r < 0) {
                job_free(j);
                return r;
        }
        (void) sd_event_source_set_description(j->io, "steer-grow");
        j->next = s->growing;
        s->growing = j;
        log_info("Steering %s/%s: moving the link to larger maps (tier %u) for a SetBindings; its program loads "
                 "in process %d", j->netns, j->name, tier, (int) j->pid);
        return 1;
}

int steer_growing_resume(Steering *s, sd_bus_message *msg, SteerTarget *t, NlError *e) {
        SteerGrowJob *j = job_of_msg(s, msg);
        int r;

        if (!j)
                return 0;
        if (!j->done)
                /* Read again before its load ended: not by this code. */
                return nl_error_set(e, NL_ERR_FAILED, -EBUSY, "The growth of link '%s' has not ended", j->name);
        job_unlink(j);
        if (j->r < 0) {
                *e = j->error;
                r = j->r;
        } else if (t->link->info.link_id != j->link_id || strcmp(t->link->key, j->key) != 0)
                r = nl_error_set(e, NL_ERR_FAILED, -ESTALE,
                                 "Link '%s' in netns %s was replaced while it grew for this SetBindings", j->name,
                                 j->netns);
        else {
                /* It removes the folder, whatever happens. */
                j->dir_made = false;
                r = nl_steer_grow_finish(t->steer, j->r, j->prog_id, e);
        }
        job_free(j);
        return r < 0 ? r : 1;
}

int steer_growing_check(Steering *s, sd_bus_message *msg, const SteerTarget *t, NlError *e) {
        for (SteerGrowJob *j = s->growing; j; j = j->next)
                if (j->msg != msg && j->link_id == t->link->info.link_id && strcmp(j->key, t->link->key) == 0)
                        return nl_error_set(e, NL_ERR_FAILED, -EBUSY,
                                            "Link '%s' in netns %s is moving to larger maps for a SetBindings not "
                                            "answered yet; it takes no other change until then",
                                            j->name, j->netns);
        return 0;
}

bool steer_growing_is_waiting(Steering *s, sd_bus_message *msg) {
        SteerGrowJob *j = job_of_msg(s, msg);

        return j && !j->done;
}

void steer_growing_forget(Steering *s, sd_bus_message *msg) {
        SteerGrowJob *j = job_of_msg(s, msg);

        if (j) {
                job_unlink(j);
                job_free(j);
        }
}

void steer_growing_drop(Steering *s) {
        while (s->growing) {
                SteerGrowJob *j = s->growing;

                s->growing = j->next;
                job_free(j);
        }
}
