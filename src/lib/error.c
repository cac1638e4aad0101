/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* The contract's error names (../shared/CONTRACT.md), one per kind, in
 * kind order (entry kind - 1), each with the errno sd-bus reports for it
 * once the map is added (sd_bus_error_add_map). The freedesktop names keep
 * the errnos sd-bus gives them already. */
const sd_bus_error_map nl_bus_error_map[] = {
        [NL_ERR_FAILED - 1]           = SD_BUS_ERROR_MAP("org.freedesktop.DBus.Error.Failed", EACCES),
        [NL_ERR_INVALID_ARGS - 1]     = SD_BUS_ERROR_MAP("org.freedesktop.DBus.Error.InvalidArgs", EINVAL),
        [NL_ERR_NO_SUCH_NETNS - 1]    = SD_BUS_ERROR_MAP("org.netnslink1.Error.NoSuchNetns", ENOENT),
        [NL_ERR_NO_SUCH_LINK - 1]     = SD_BUS_ERROR_MAP("org.netnslink1.Error.NoSuchLink", ENOENT),
        [NL_ERR_LINK_EXISTS - 1]      = SD_BUS_ERROR_MAP("org.netnslink1.Error.LinkExists", EEXIST),
        [NL_ERR_TOO_MANY_LINKS - 1]   = SD_BUS_ERROR_MAP("org.netnslink1.Error.TooManyLinks", E2BIG),
        [NL_ERR_PROGRAM_MISMATCH - 1] = SD_BUS_ERROR_MAP("org.netnslink1.Error.ProgramMismatch", ESTALE),
        [NL_ERR_INVALID_PROGRAM - 1]  = SD_BUS_ERROR_MAP("org.netnslink1.Error.InvalidProgram", EINVAL),
        [NL_ERR_ACCESS_DENIED - 1]    = SD_BUS_ERROR_MAP("org.freedesktop.DBus.Error.AccessDenied", EACCES),
        [_NL_ERR_MAX - 1]             = SD_BUS_ERROR_MAP_END,
};

static const char *const kind_names[_NL_ERR_MAX] = {
        [NL_ERR_NONE] = "none",
        [NL_ERR_FAILED] = "failed",
        [NL_ERR_INVALID_ARGS] = "invalid-args",
        [NL_ERR_NO_SUCH_NETNS] = "no-such-netns",
        [NL_ERR_NO_SUCH_LINK] = "no-such-link",
        [NL_ERR_LINK_EXISTS] = "link-exists",
        [NL_ERR_TOO_MANY_LINKS] = "too-many-links",
        [NL_ERR_PROGRAM_MISMATCH] = "program-mismatch",
        [NL_ERR_INVALID_PROGRAM] = "invalid-program",
        [NL_ERR_ACCESS_DENIED] = "access-denied",
};

int nl_error_setv(NlError *e, NlErrorKind kind, int r, const char *fmt, va_list ap) {
        if (!e)
                return r;
        e->kind = kind;
        e->error = r < 0 ? -r : EIO;
        errno = e->error;       /* so that %m names r */
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        return r;
}

int nl_error_set(NlError *e, NlErrorKind kind, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        nl_error_setv(e, kind, r, fmt, ap);
        va_end(ap);
        return r;
}

int nl_error_prefix(NlError *e, int r, const char *fmt, ...) {
        char prefix[512], old[NL_ERROR_MESSAGE_MAX];
        va_list ap;

        if (!e)
                return r;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, e->message, sizeof(old));
        snprintf(e->message, sizeof(e->message), "%s: %s", prefix, old);
        if (e->kind == NL_ERR_NONE)
                e->kind = NL_ERR_FAILED;
        return r;
}

void nl_error_clear(NlError *e) {
        if (!e)
                return;
        e->kind = NL_ERR_NONE;
        e->error = 0;
        e->message[0] = 0;
}

const char *nl_error_kind_name(NlErrorKind kind) {
        if (kind < 0 || kind >= _NL_ERR_MAX)
                return "unknown";
        return kind_names[kind];
}

const char *nl_error_kind_to_dbus(NlErrorKind kind) {
        if (kind <= NL_ERR_NONE || kind >= _NL_ERR_MAX)
                kind = NL_ERR_FAILED;
        return nl_bus_error_map[kind - 1].name;
}

NlErrorKind nl_error_kind_from_dbus(const char *name) {
        if (!name)
                return NL_ERR_NONE;
        for (int k = NL_ERR_FAILED; k < _NL_ERR_MAX; k++)
                if (strcmp(nl_bus_error_map[k - 1].name, name) == 0)
                        return k;
        return NL_ERR_FAILED;
}
