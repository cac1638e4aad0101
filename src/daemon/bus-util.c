/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "link-records.h"
#include "names.h"

int bus_reply_nl_error(sd_bus_error *error, const NlError *e, int r) {
        const char *name = nl_error_kind_to_dbus(e->kind);

        if (e->kind == NL_ERR_NONE) {
                errno = r < 0 ? -r : EIO;
                return sd_bus_error_set_errnof(error, errno, "%m");
        }
        sd_bus_error_set(error, name, e->message[0] ? e->message : nl_error_kind_name(e->kind));
        return r < 0 ? r : -EIO;
}

/* The link dictionary's "drift". */
static const char *drift_to_string(LinkDrift d) {
        static const char *const names[] = {
                [LINK_DRIFT_NONE] = "",
                [LINK_DRIFT_DETACHED] = "detached",
                [LINK_DRIFT_UNPINNED] = "unpinned",
        };
        return d < ELEMENTSOF(names) ? names[d] : "";
}

/* repaired < 0: no "repaired" key. */
/* The source a link's dictionary shows: config:<path> for a link a
 * configuration file made, the origin its maker gave it (cni:...), else
 * its program's. */
static const char *link_source(const Link *l, char *buf, size_t size) {
        if (!l->config)
                return l->origin ? l->origin : l->source;
        snprintf(buf, size, "config:%s", l->config);
        return buf;
}

static int append_link(sd_bus_message *reply, const LinkView *v, int repaired) {
        char source[NL_LINK_RECORD_PATH_MAX + 8];
        const Link *l = v->link;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "netns", "s", l->netns,
                                  "netns_ino", "t", (uint64_t) l->ino,
                                  "attach_type", "s", nl_attach_type_to_string(l->type),
                                  "name", "s", l->name,
                                  "link_id", "u", l->info.link_id,
                                  "prog_id", "u", l->info.prog_id,
                                  "prog_name", "s", l->info.prog_name,
                                  "prog_tag", "s", l->info.prog_tag,
                                  "pin_path", "s", v->pin,
                                  "defunct", "b", (int) l->defunct,
                                  "order", "u", v->order,
                                  "source", "s", link_source(l, source, sizeof(source)),
                                  /* What it runs, when source says who made it. */
                                  "program_source", "s", l->source,
                                  "drift", "s", drift_to_string(l->drift));
        if (r >= 0 && repaired >= 0)
                r = sd_bus_message_append(reply, "{sv}", "repaired", "b", repaired);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int bus_append_link(sd_bus_message *reply, const LinkView *v) {
        return append_link(reply, v, -1);
}

int bus_append_drifted_link(sd_bus_message *reply, const LinkView *v, bool repaired) {
        return append_link(reply, v, repaired);
}
