/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "manager.h"

/*
 * Applying the declarative configuration (../shared/CONTRACT.md,
 * "Declarative configuration"; files parsed by src/lib/config-*.c): every
 * netns a file's [Match] names gets the file's link running the file's
 * program, and a builtin:steer link exactly the file's bindings. Links a
 * file made (link-records.h) that no file describes any more are detached;
 * links made over D-Bus under names no file uses are never touched. A file
 * that is refused stops nothing else, and links it made earlier stay as
 * they are until it can be read again.
 *
 * Applied at start (before READY=1), at SIGHUP, at Manager.Reload, and
 * when a netns file a [Match] names appears in /run/netns (inotify).
 * Programs are loaded synchronously while it runs: the loop waits for the
 * loads of one apply, as at start.
 */

typedef struct ConfigChange {
        const char *action;     /* "attach", "update", "detach", "bindings" */
        char *netns;
        NlAttachType type;
        char name[NL_LINK_NAME_MAX + 1];
        char *file;             /* the file that asks for it; for a detach, the one that made it */
} ConfigChange;

typedef struct ConfigResult {
        unsigned attached, updated, detached, bindings_changed;
        char **errors;
        size_t n_errors;
        ConfigChange *changes;
        size_t n_changes;
} ConfigResult;

void config_result_done(ConfigResult *r);

typedef struct ConfigApply ConfigApply;

/* root: the configuration root ("/" or the --config-root). */
int config_apply_new(Manager *m, const char *root, ConfigApply **ret);
ConfigApply *config_apply_free(ConfigApply *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfigApply *, config_apply_free);

/* Applies every file; with dry_run, says what it would change and changes
 * nothing. Errors of single files and links are in ret->errors; only a
 * failure to apply anything at all is returned. */
int config_apply(ConfigApply *c, bool dry_run, ConfigResult *ret);

/* Applies again at SIGHUP (blocked by the caller) and when a netns a file
 * names appears in /run/netns. */
int config_apply_watch(ConfigApply *c, sd_event *event);
