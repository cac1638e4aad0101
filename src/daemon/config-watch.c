/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>

#include "config-private.h"
#include "log.h"
#include "netns-ref.h"

/*
 * When to apply the configuration again, besides at start and at
 * Manager.Reload: at SIGHUP (systemctl reload), and when a netns file
 * appears in /run/netns, watched with inotify. `ip netns add` makes the
 * file first and mounts the netns on it after, so a new name is looked at
 * again every RETRY_USEC until it is a netns, for at most PENDING_USEC;
 * names that appear together are applied together.
 */

#define RETRY_USEC 20000ULL           /* 20 ms */
#define PENDING_USEC 5000000ULL       /* 5 s */

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        ConfigApply *c = userdata;
        ConfigResult res = {};

        log_info("SIGHUP: applying the configuration under %s again", c->root);
        (void) config_apply(c, false, &res);
        config_result_done(&res);
        log_flush();
        return 0;
}

static void arm_retry(ConfigApply *c) {
        if (sd_event_source_set_time_relative(c->retry, RETRY_USEC) >= 0)
                (void) sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
}

static void pending_drop(ConfigApply *c, size_t i) {
        free(c->pending[i]);
        c->pending[i] = c->pending[--c->n_pending];
}

static void pending_add(ConfigApply *c, const char *name) {
        char **v;

        for (size_t i = 0; i < c->n_pending; i++)
                if (strcmp(c->pending[i], name) == 0)
                        return;
        v = reallocarray(c->pending, c->n_pending + 1, sizeof(char *));
        if (!v)
                return;
        c->pending = v;
        v[c->n_pending] = strdup(name);
        if (!v[c->n_pending])
                return;
        if (c->n_pending++ == 0) {
                c->pending_since = now_usec();
                arm_retry(c);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        ConfigApply *c = userdata;
        _cleanup_free_ char **ready = calloc(c->n_pending + 1, sizeof(char *));
        size_t n_ready = 0;

        if (!ready)
                return 0;
        for (size_t i = 0; i < c->n_pending;) {
                uint64_t ino;
                int r = nl_netns_stat_ino(c->pending[i], &ino);

                if (r >= 0) {
                        ready[n_ready++] = c->pending[i];
                        c->pending[i] = c->pending[--c->n_pending];
                } else if (r == -ENOENT)
                        pending_drop(c, i);     /* gone again */
                else
                        i++;
        }
        if (n_ready > 0) {
                log_debug("%zu netns appeared in " NL_NETNS_RUN_DIR ", first %s: applying the configuration to them",
                          n_ready, ready[0]);
                (void) config_apply_netns(c, ready, n_ready);
                log_flush();
        }
        for (size_t i = 0; i < n_ready; i++)
                free(ready[i]);
        if (c->n_pending == 0)
                return 0;
        if (now_usec() - c->pending_since >= PENDING_USEC) {
                /* Files that never became a netns. */
                while (c->n_pending > 0)
                        pending_drop(c, 0);
                return 0;
        }
        arm_retry(c);
        return 0;
}

static int watch_run_netns(ConfigApply *c, sd_event *event);

static int on_run_netns(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        ConfigApply *c = userdata;

        if (ev->mask & IN_Q_OVERFLOW) {
                ConfigResult res = {};

                log_notice("Missed netns files appearing in " NL_NETNS_RUN_DIR " (inotify overflow): applying the "
                           "whole configuration");
                (void) config_apply(c, false, &res);
                config_result_done(&res);
                return 0;
        }
        if (ev->len > 0 && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->name[0] != '.')
                pending_add(c, ev->name);
        return 0;
}

/* /run/netns did not exist at start: the first `ip netns add` makes it. */
static int on_run(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        ConfigApply *c = userdata;
        ConfigResult res = {};

        if (ev->len == 0 || strcmp(ev->name, "netns") != 0 || c->inotify)
                return 0;
        if (watch_run_netns(c, sd_event_source_get_event(s)) < 0)
                return 0;
        c->inotify_parent = sd_event_source_disable_unref(c->inotify_parent);
        (void) config_apply(c, false, &res);
        config_result_done(&res);
        return 0;
}

static int watch_run_netns(ConfigApply *c, sd_event *event) {
        return sd_event_add_inotify(event, &c->inotify, NL_NETNS_RUN_DIR, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
                                    on_run_netns, c);
}

int config_apply_watch(ConfigApply *c, sd_event *event) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block SIGHUP: %m");
        r = sd_event_add_signal(event, &c->sighup, SIGHUP, on_sighup, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for SIGHUP: %m");
        r = sd_event_add_time_relative(event, &c->retry, CLOCK_MONOTONIC, RETRY_USEC, 0, on_retry, c);
        if (r < 0)
                return log_error_errno(r, "Failed to add the netns retry timer: %m");
        (void) sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
        r = watch_run_netns(c, event);
        if (r == -ENOENT)
                r = sd_event_add_inotify(event, &c->inotify_parent, "/run", IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
                                         on_run, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch " NL_NETNS_RUN_DIR " for new netns: %m");
        return 0;
}
