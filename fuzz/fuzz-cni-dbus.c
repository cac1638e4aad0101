/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI plugin's reader of netnslinkd's replies (src/cni/cni-dbus.c):
 * whatever comes back on the socket after a call, read as the plugin reads
 * it. A reply to the call is walked whole by its signature and read as
 * link dictionaries; nothing may read out of bounds, loop forever, or
 * accept a body its signature does not cover.
 *
 * Input: one byte (even: walk the reply by its signature; odd: read it as
 * ListLinks' aa{sv}), then the bytes the "daemon" sends after the plugin's
 * first call (serial 1); the plugin's own call goes unread.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cni-dbus.h"
#include "fuzz.h"

static int any_entry(CniMsg *m, const char *key, const char *sig, void *userdata) {
        const char *s;

        (void) userdata;
        if (strcmp(key, "name") == 0 && strcmp(sig, "s") == 0)
                return cni_msg_read_str(m, &s) < 0 ? -EBADMSG : 1;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CniBus *bus = NULL;
        CniMsg *req = NULL, *reply = NULL;
        const char *name = NULL, *message = NULL;
        bool as_links;
        int fds[2], r;

        if (size < 1)
                return 0;
        as_links = data[0] & 1;
        data++;
        size--;
        /* All of it fits in the socket's buffer, then the end: every read
         * past it sees EOF, never a wait. */
        if (size > (size_t) 32 * 1024)
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return 0;
        if (size > 0 && write(fds[1], data, size) != (ssize_t) size) {
                close(fds[0]);
                close(fds[1]);
                return 0;
        }
        (void) shutdown(fds[1], SHUT_WR);
        FUZZ_CHECK(cni_dbus_from_fd(fds[0], &bus) >= 0);
        FUZZ_CHECK(cni_msg_new_call("/org/netnslink1", "org.netnslink1.Manager", "ListLinks", &req) >= 0);
        FUZZ_CHECK(cni_msg_append_str(req, 's', "") >= 0);
        r = cni_dbus_call(bus, req, &reply, &name, &message);
        if (r == -EREMOTEIO)
                FUZZ_CHECK(reply && name && message);
        if (r == 0 && !as_links)
                (void) cni_msg_skip_body(reply);
        if (r == 0 && as_links) {
                size_t end;
                int q = cni_msg_enter_array(reply, 'a', &end);

                while (q >= 0 && cni_msg_in(reply, end))
                        q = cni_msg_read_dict(reply, any_entry, NULL);
        }
        cni_msg_free(reply);
        cni_msg_free(req);
        cni_dbus_close(bus);
        close(fds[1]);
        return 0;
}
