/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

static const char *const command_names[_CNI_COMMAND_MAX] = {
        [CNI_ADD] = "ADD",
        [CNI_DEL] = "DEL",
        [CNI_CHECK] = "CHECK",
        [CNI_STATUS] = "STATUS",
        [CNI_GC] = "GC",
        [CNI_VERSION] = "VERSION",
};

const char *cni_command_to_string(CniCommand c) {
        return c >= 0 && c < _CNI_COMMAND_MAX ? command_names[c] : "?";
}

static CniCommand command_from_string(const char *s) {
        for (int i = 0; s && i < _CNI_COMMAND_MAX; i++)
                if (strcmp(command_names[i], s) == 0)
                        return (CniCommand) i;
        return _CNI_COMMAND_INVALID;
}

/* Which variables a command needs (CNI 1.1.0, "Parameters"). */
static bool needs_attachment(CniCommand c) {
        return c == CNI_ADD || c == CNI_DEL || c == CNI_CHECK;
}

static const char *env(const char *name) {
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

int cni_env_read(CniEnv *ret, CniError *e) {
        const char *command = env("CNI_COMMAND");
        char buf[80];

        *ret = (CniEnv) { .command = command_from_string(command) };
        if (!command)
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_COMMAND is not set");
        if (ret->command < 0)
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL,
                                 "CNI_COMMAND '%s' is none of ADD, DEL, CHECK, STATUS, GC, VERSION",
                                 nl_printable(command, buf, sizeof(buf)));
        if (!needs_attachment(ret->command))
                return 0;

        ret->container_id = env("CNI_CONTAINERID");
        ret->ifname = env("CNI_IFNAME");
        ret->netns = env("CNI_NETNS");
        if (!ret->container_id)
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_CONTAINERID is not set");
        if (!nl_cni_container_id_is_valid(ret->container_id))
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL,
                                 "CNI_CONTAINERID '%s' is not letters, digits, '_', '.' and '-'",
                                 nl_printable(ret->container_id, buf, sizeof(buf)));
        if (!ret->ifname)
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_IFNAME is not set");
        if (!nl_cni_ifname_is_valid(ret->ifname))
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_IFNAME '%s' is not an interface name",
                                 nl_printable(ret->ifname, buf, sizeof(buf)));
        /* DEL may come after the netns is gone, and then without it. */
        if (!ret->netns && ret->command != CNI_DEL)
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_NETNS is not set");
        if (ret->netns && ret->netns[0] != '/')
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_NETNS '%s' is not an absolute path",
                                 nl_printable(ret->netns, buf, sizeof(buf)));
        if (snprintf(ret->origin, sizeof(ret->origin), NL_LINK_ORIGIN_CNI_PREFIX "%s/%s", ret->container_id,
                     ret->ifname) >= (int) sizeof(ret->origin) ||
            !nl_link_origin_is_valid(ret->origin))
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "CNI_CONTAINERID is longer than %d characters",
                                 NL_LINK_ORIGIN_MAX - 32);
        return 0;
}
