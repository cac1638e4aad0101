/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who owns a steer link's map folder.
 *
 * The maps of the steer link named N in netns I live in <root>/I/steer/N/,
 * where Steering calls and a restart find them, and only that link removes
 * or replaces that folder. New maps are never made there: a load that makes
 * maps makes them in a folder of its own, <root>/I/steer/new@<token>/ (a
 * name no link can have: '@' is not allowed in link names), and that
 * folder belongs to the program loaded (the program's last reference
 * removes it). The one Attach or Update that uses the program moves the
 * folder into place, at a point where no link of that name runs steer. So
 * two requests on one name, racing each other or a Detach, can neither
 * share a folder nor remove each other's, in whatever order they finish;
 * and what a request that lost leaves goes with its program.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "builtin-marks.h"
#include "log.h"
#include "steer-maps.h"

int steer_maps_publish(Manager *m, NlProgram *prog, uint64_t ino, const char *name, NlError *e) {
        const char *staging = nl_program_staging_dir(prog);
        char dir[4096];
        int r;

        if (!staging)
                return 0;       /* it uses the link's own maps */
        r = nl_pin_steer_dir(m->store, ino, name, dir, sizeof(dir));
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Steer map folder path too long");
        /* The caller holds the name and no link of it runs steer: what is
         * there was left by a crash between the steps of an earlier one. */
        r = nl_pin_rm_rf(dir);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot remove the old steer maps in %s: %m", dir);
        if (rename(staging, dir) < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot move the new steer maps to %s: %m",
                                    dir);
        nl_program_take_staging_dir(prog);
        return 1;
}

int steer_maps_grown(int prog_fd, bool switched, void *userdata, NlError *e) {
        SteerGrowCtx *c = userdata;
        Link *l = c->link;
        Netns *ns;
        uint32_t id;
        int r;

        if (!switched) {
                /* Marked before any link runs it: after a restart it is
                 * known as builtin:steer by this record alone. */
                r = nl_prog_fd_describe(prog_fd, &id, NULL, NULL);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the grown program's id: %m");
                return nl_builtin_mark(c->m->marks_fd, id, l->builtin, e);
        }
        /* The old program (and its maps) go as soon as nothing holds them.
         * The program ids BPF_PROG_QUERY reports changed: so may the order
         * read from them. */
        l->prog = nl_program_unref(l->prog);
        ns = manager_netns_get(c->m, l->ino);
        if (ns)
                ns->gen++;
        r = nl_link_get_info(l->fd, true, &l->info);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Grown, but cannot read link '%s' again: %m", l->name);
        log_info("Steer link '%s' in netns %s moved to new maps (program %u)", l->name, l->netns, l->info.prog_id);
        /* Its prog_id changed: watchers hear it as from an Update. */
        manager_emit(c->m, LINK_UPDATED, l);
        return 0;
}
