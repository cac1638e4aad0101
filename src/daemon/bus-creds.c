/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A caller's effective uid and CAP_NET_ADMIN, by its unique bus name. Asking
 * the bus (GetConnectionCredentials) and /proc costs a synchronous round
 * trip per call, as much again as the call itself; unique names are never
 * reused, so the answer is kept for the connection's life, in the Context.
 * A caller that drops CAP_NET_ADMIN later keeps what it had on that
 * connection.
 */
#include <linux/capability.h>
#include <stdlib.h>

#include "bus-creds.h"

typedef struct SenderInfo {
        uid_t euid;
        bool net_admin;
} SenderInfo;

#define SENDER_CACHE_MAX 4096

static void remember(Context *c, const char *sender, const SenderInfo *known) {
        SenderInfo *info;

        if (!c->senders || hashmap_size(c->senders) >= SENDER_CACHE_MAX) {
                hashmap_free(c->senders, free);
                c->senders = hashmap_new();
        }
        info = malloc(sizeof(*info));
        if (info && c->senders) {
                *info = *known;
                if (hashmap_put(c->senders, sender, info) >= 0)
                        info = NULL;
        }
        free(info);
}

static int sender_info(Context *c, sd_bus_message *m, SenderInfo *ret) {
        const char *sender = sd_bus_message_get_sender(m);
        sd_bus_creds *creds = NULL;
        SenderInfo *info;
        int r;

        if (sender && c->senders && (info = hashmap_get(c->senders, sender))) {
                *ret = *info;
                return 0;
        }
        /* No sender: a direct peer of the private socket. Its uid is the
         * kernel's (SO_PEERCRED at connect, kept by sd-bus), read without a
         * trip to /proc; the server let only root in (private-socket.c). */
        if (!sender)
                r = sd_bus_get_owner_creds(sd_bus_message_get_bus(m), SD_BUS_CREDS_EUID, &creds);
        else
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
        if (sender)
                remember(c, sender, ret);
        return 0;
}

void bus_creds_forget(Context *c) {
        hashmap_free(c->senders, free);
        c->senders = NULL;
}

int bus_sender_is_root(Context *c, sd_bus_message *m) {
        SenderInfo info;
        int r = sender_info(c, m, &info);

        return r < 0 ? r : info.euid == 0;
}

int bus_check_mutate_access(Context *c, sd_bus_message *m, sd_bus_error *error) {
        SenderInfo info;

        if (sender_info(c, m, &info) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Cannot determine the caller's credentials");
        if (info.euid == 0 || info.net_admin)
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Changing links needs root or CAP_NET_ADMIN (caller uid %u)", (unsigned) info.euid);
}
