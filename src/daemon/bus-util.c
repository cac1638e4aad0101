/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "link-records.h"
#include "hashmap.h"
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

/*
 * A caller's effective uid and CAP_NET_ADMIN, by its unique bus name. Asking
 * the bus (GetConnectionCredentials) and /proc costs a synchronous round
 * trip per call, as much again as the call itself; unique names are never
 * reused, so the answer is kept for the connection's life. A caller that
 * drops CAP_NET_ADMIN later keeps what it had on that connection.
 */
typedef struct SenderInfo {
        uid_t euid;
        bool net_admin;
} SenderInfo;

#define SENDER_CACHE_MAX 4096

static Hashmap *sender_cache;

static int sender_info(sd_bus_message *m, SenderInfo *ret) {
        const char *sender = sd_bus_message_get_sender(m);
        sd_bus_creds *creds = NULL;
        SenderInfo *info;
        int r;

        if (sender && sender_cache && (info = hashmap_get(sender_cache, sender))) {
                *ret = *info;
                return 0;
        }
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EFFECTIVE_CAPS |
                                                 SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        *ret = (SenderInfo) { .euid = (uid_t) -1 };
        r = sd_bus_creds_get_euid(creds, &ret->euid);
        ret->net_admin = sd_bus_creds_has_effective_cap(creds, CAP_NET_ADMIN) > 0;
        sd_bus_creds_unref(creds);
        if (r < 0)
                return r;

        if (!sender)
                return 0;
        if (!sender_cache || hashmap_size(sender_cache) >= SENDER_CACHE_MAX) {
                hashmap_free(sender_cache, free);
                sender_cache = hashmap_new();
        }
        info = malloc(sizeof(*info));
        if (info && sender_cache) {
                *info = *ret;
                if (hashmap_put(sender_cache, sender, info) >= 0)
                        info = NULL;
        }
        free(info);
        return 0;
}

void bus_sender_cache_free(void) {
        hashmap_free(sender_cache, free);
        sender_cache = NULL;
}

int bus_sender_is_root(sd_bus_message *m) {
        SenderInfo info;
        int r = sender_info(m, &info);

        return r < 0 ? r : info.euid == 0;
}

int bus_check_mutate_access(sd_bus_message *m, sd_bus_error *error) {
        SenderInfo info;

        if (sender_info(m, &info) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Cannot determine the caller's credentials");
        if (info.euid == 0 || info.net_admin)
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Changing links needs root or CAP_NET_ADMIN (caller uid %u)", (unsigned) info.euid);
}

static int read_string_value(sd_bus_message *m, const char *key, const char **ret, NlError *e) {
        int r = sd_bus_message_read(m, "v", "s", ret);

        if (r < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Program key '%s' must hold a string (s)", key);
        return 0;
}

int bus_read_program(sd_bus_message *m, ProgramSpec *p, NlError *e) {
        const char *builtin = NULL, *path = NULL, *program = NULL;
        bool have_fd = false;
        int fd = -EBADF, r, sources;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The program must be a dictionary a{sv}");
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                char buf[64];

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");
                if (strcmp(key, "builtin") == 0)
                        r = read_string_value(m, key, &builtin, e);
                else if (strcmp(key, "object_path") == 0)
                        r = read_string_value(m, key, &path, e);
                else if (strcmp(key, "program") == 0)
                        r = read_string_value(m, key, &program, e);
                else if (strcmp(key, "object_fd") == 0) {
                        r = sd_bus_message_read(m, "v", "h", &fd);
                        if (r < 0)
                                r = nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                                 "Program key 'object_fd' must hold a file descriptor (h)");
                        have_fd = r >= 0;
                } else
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Unknown program key '%s' (expected builtin, object_fd, object_path, program)",
                                            nl_printable(key, buf, sizeof(buf)));
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");
        }
        if (r < 0 || sd_bus_message_exit_container(m) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");

        sources = !!builtin + have_fd + !!path;
        if (sources != 1)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "The program needs exactly one of builtin, object_fd, object_path (got %d)",
                                    sources);
        if (builtin) {
                if (program)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Key 'program' does not go with 'builtin'");
                *p = (ProgramSpec) { .kind = PROGRAM_BUILTIN, .builtin = builtin, .fd = -EBADF };
                return 0;
        }
        if (!program || !*program)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Key 'program' (the program's name in the object) is required");
        if (have_fd)
                *p = (ProgramSpec) { .kind = PROGRAM_FD, .fd = fd, .program = program };
        else
                *p = (ProgramSpec) { .kind = PROGRAM_PATH, .path = path, .program = program, .fd = -EBADF };
        return 0;
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
 * configuration file made, else its program's. */
static const char *link_source(const Link *l, char *buf, size_t size) {
        if (!l->config)
                return l->source;
        snprintf(buf, size, "config:%s", l->config);
        return buf;
}

static int append_link(sd_bus_message *reply, Manager *mgr, const Link *l, int repaired) {
        char pin[4096], source[NL_LINK_RECORD_PATH_MAX + 8];
        int r;

        /* A pin that is gone is not named. */
        if (l->drift == LINK_DRIFT_UNPINNED || nl_pin_path(mgr->store, l->ino, l->type, l->name, pin, sizeof(pin)) < 0)
                pin[0] = 0;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "netns", "s", l->netns,
                                  "netns_ino", "t", (uint64_t) l->ino,
                                  "attach_type", "s", nl_attach_type_to_string(l->type),
                                  "name", "s", l->name,
                                  "link_id", "u", l->info.link_id,
                                  "prog_id", "u", l->info.prog_id,
                                  "prog_name", "s", l->info.prog_name,
                                  "prog_tag", "s", l->info.prog_tag,
                                  "pin_path", "s", pin,
                                  "defunct", "b", (int) l->defunct,
                                  "order", "u", l->defunct || l->detached ? l->order : manager_link_order(mgr, l),
                                  "source", "s", link_source(l, source, sizeof(source)),
                                  "drift", "s", drift_to_string(l->drift));
        if (r >= 0 && repaired >= 0)
                r = sd_bus_message_append(reply, "{sv}", "repaired", "b", repaired);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int bus_append_link(sd_bus_message *reply, Manager *mgr, const Link *l) {
        return append_link(reply, mgr, l, -1);
}

int bus_append_drifted_link(sd_bus_message *reply, Manager *mgr, const Link *l, bool repaired) {
        return append_link(reply, mgr, l, repaired);
}
