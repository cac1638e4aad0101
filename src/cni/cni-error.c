/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"

int cni_error(CniError *e, CniCode code, const char *details, const char *fmt, ...) {
        va_list ap;

        /* The first error is the cause; what a cleanup says after it is not. */
        if (e->code != CNI_OK)
                return -(int) e->code;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        snprintf(e->details, sizeof(e->details), "%s", details ? details : "");
        return -(int) code;
}

/* Errors of the connection that mean the daemon was not there to answer. */
static bool daemon_unreachable(int r) {
        switch (-r) {
        case ENOENT:            /* no socket */
        case ECONNREFUSED:      /* a socket nobody listens on */
        case ECONNRESET:        /* gone during the call */
        case ENOTCONN:
        case EPIPE:
        case ETIMEDOUT:
        case EAGAIN:
                return true;
        default:
                return false;
        }
}

int cni_error_bus(CniError *e, const char *method, const char *name, const char *message, int r) {
        char details[1024];

        if (r == -EREMOTEIO && name) {
                snprintf(details, sizeof(details), "%s: %s", name, message ? message : "");
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, details, "netnslinkd refused %s: %s", method,
                                 message && *message ? message : name);
        }
        if (daemon_unreachable(r))
                return cni_error(e, CNI_ERR_TRY_AGAIN_LATER, strerror(-r),
                                 "netnslinkd did not answer %s; try again later", method);
        return cni_error(e, CNI_ERR_IO, strerror(r < 0 ? -r : EIO), "Cannot call netnslinkd's %s", method);
}

void cni_error_print(const CniError *e, const char *cni_version) {
        char msg[sizeof(e->msg)], details[sizeof(e->details)];
        json_t *o;

        /* jansson takes UTF-8 only, and a message cut short may end inside
         * a character: ASCII is safe whatever the daemon or a key said. */
        nl_printable(e->msg, msg, sizeof(msg));
        nl_printable(e->details, details, sizeof(details));
        o = json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", cni_version ? cni_version : CNI_VERSION_NEWEST,
                      "code", (int) e->code, "msg", msg, "details", details);

        if (!o || json_dumpf(o, stdout, JSON_COMPACT) < 0)
                /* No memory for an object: the code still reaches the runtime. */
                printf("{\"code\":%d,\"msg\":\"out of memory\"}", (int) e->code);
        putchar('\n');
        fflush(stdout);
        json_decref(o);
}
