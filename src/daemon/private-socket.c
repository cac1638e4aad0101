/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "bus-objects.h"
#include "log.h"
#include "private-socket.h"

/* Each peer holds an fd; past this many, a new one is turned away rather
 * than let a runaway client take the fds the links need. */
#define PEERS_MAX 512

typedef struct Peer {
        sd_bus *bus;
        bool subscribed;
        bool ready;             /* authenticated, and what came with BEGIN dispatched */
} Peer;

struct PrivateServer {
        Context *context;
        char *path;
        int fd;
        sd_event_source *accept_source;
        sd_event_source *settle_source; /* on while a peer is not ready */
        Peer *peers;
        size_t n_peers;
};

static Peer *peer_of(PrivateServer *s, sd_bus *bus) {
        for (size_t i = 0; i < s->n_peers; i++)
                if (s->peers[i].bus == bus)
                        return &s->peers[i];
        return NULL;
}

static void peer_drop(PrivateServer *s, Peer *p) {
        sd_bus *bus = p->bus;

        *p = s->peers[--s->n_peers];
        (void) sd_bus_detach_event(bus);
        sd_bus_flush_close_unref(bus);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        PrivateServer *s = userdata;
        Peer *p = peer_of(s, sd_bus_message_get_bus(m));

        (void) error;
        /* sd-bus keeps the bus alive until this callback returns. */
        if (p)
                peer_drop(s, p);
        return 0;
}

/*
 * sd-bus (as of systemd 252) reads a client's last authentication line and
 * whatever follows it in one read, and after BEGIN waits for the socket to
 * become readable again before it looks at the rest: a client that sends
 * BEGIN and its first call together (libdbus, GDBus) then waits for a reply
 * that never comes. So once a peer is authenticated, what it sent with
 * BEGIN is dispatched here, after every loop iteration, until the peer is
 * ready. sd-bus reads exactly one message at a time after that.
 */
static int on_settle(sd_event_source *source, void *userdata) {
        PrivateServer *s = userdata;
        bool waiting = false;

        (void) source;
        for (size_t i = 0; i < s->n_peers; i++) {
                sd_bus *bus = s->peers[i].bus;

                if (s->peers[i].ready)
                        continue;
                if (sd_bus_is_ready(bus) <= 0) {
                        waiting = true;
                        continue;
                }
                s->peers[i].ready = true;
                /* Dispatching may drop peers (a disconnect): start over. */
                sd_bus_ref(bus);
                while (sd_bus_process(bus, NULL) > 0)
                        ;
                sd_bus_unref(bus);
                i = (size_t) -1;
                waiting = false;
        }
        if (!waiting)
                (void) sd_event_source_set_enabled(s->settle_source, SD_EVENT_OFF);
        return 0;
}

static int peer_start(PrivateServer *s, int fd) {
        sd_bus *bus = NULL;
        sd_id128_t id;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0) {
                close(fd);
                goto fail;
        }
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(bus, true, id);
        if (r >= 0)
                r = sd_bus_set_description(bus, "private-peer");
        if (r >= 0)
                r = bus_objects_add(bus, s->context);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, s);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, s->context->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;
        s->peers[s->n_peers++] = (Peer) { .bus = bus };
        (void) sd_event_source_set_enabled(s->settle_source, SD_EVENT_ON);
        return 0;
fail:
        sd_bus_flush_close_unref(bus);
        return r;
}

static int on_accept(sd_event_source *source, int listen_fd, uint32_t revents, void *userdata) {
        PrivateServer *s = userdata;
        struct ucred ucred = {};
        socklen_t len = sizeof(ucred);
        int fd, r;

        (void) source;
        (void) revents;
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(-errno, "Failed to accept a connection on %s: %m", s->path);
                return 0;
        }
        /* The file's mode keeps others out; this holds even if someone
         * loosened it. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) < 0 || ucred.uid != 0) {
                log_warning("Refusing a connection on %s from uid %u (pid %d): the private socket is for root",
                            s->path, (unsigned) ucred.uid, (int) ucred.pid);
                close(fd);
                return 0;
        }
        if (s->n_peers >= PEERS_MAX) {
                log_warning("Refusing a connection on %s from pid %d: %d peers are connected already", s->path,
                            (int) ucred.pid, PEERS_MAX);
                close(fd);
                return 0;
        }
        r = peer_start(s, fd);
        if (r < 0)
                log_warning_errno(r, "Failed to serve a connection on %s (pid %d): %m", s->path, (int) ucred.pid);
        return 0;
}

/* A socket file is stale when nobody answers on it. */
static int refuse_if_served(const char *path, const struct sockaddr_un *sa, socklen_t salen) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r;

        if (fd < 0)
                return -errno;
        r = connect(fd, (const struct sockaddr *) sa, salen) < 0 ? -errno : 0;
        close(fd);
        if (r == 0)
                return -EADDRINUSE;
        if (r == -ECONNREFUSED || r == -ENOENT)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        return r;
}

static int listen_on(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t salen;
        mode_t old_mask;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Made 0600 from the start: no moment where others could connect. */
        old_mask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, salen) < 0 ? -errno : 0;
        if (r == -EADDRINUSE) {
                r = refuse_if_served(path, &sa, salen);
                if (r == 0)
                        r = bind(fd, (struct sockaddr *) &sa, salen) < 0 ? -errno : 0;
        }
        umask(old_mask);
        if (r == 0 && listen(fd, SOMAXCONN) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int private_server_new(Context *c, const char *path, PrivateServer **ret) {
        _cleanup_(private_server_freep) PrivateServer *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->context = c;
        s->fd = -EBADF;
        s->path = strdup(path);
        s->peers = calloc(PEERS_MAX, sizeof(Peer));
        if (!s->path || !s->peers)
                return -ENOMEM;
        s->fd = listen_on(path);
        if (s->fd < 0) {
                r = s->fd;
                s->fd = -EBADF;
                free(TAKE_PTR(s->path));        /* not ours to remove */
                return r;
        }
        r = sd_event_add_io(c->event, &s->accept_source, s->fd, EPOLLIN, on_accept, s);
        if (r >= 0)
                r = sd_event_add_post(c->event, &s->settle_source, on_settle, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->settle_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

PrivateServer *private_server_free(PrivateServer *s) {
        if (!s)
                return NULL;
        while (s->n_peers > 0)
                peer_drop(s, &s->peers[s->n_peers - 1]);
        sd_event_source_disable_unref(s->accept_source);
        sd_event_source_disable_unref(s->settle_source);
        if (s->fd >= 0) {
                close(s->fd);
                if (s->path)
                        (void) unlink(s->path);
        }
        free(s->peers);
        free(s->path);
        free(s);
        return NULL;
}

sd_bus *private_server_next_subscriber(PrivateServer *s, size_t *i) {
        for (; s && *i < s->n_peers; (*i)++)
                if (s->peers[*i].subscribed)
                        return s->peers[(*i)++].bus;
        return NULL;
}

bool private_server_has_subscribers(PrivateServer *s) {
        size_t i = 0;

        return private_server_next_subscriber(s, &i) != NULL;
}

static int set_subscribed(sd_bus_message *m, Context *c, bool on) {
        Peer *p = c->private_server ? peer_of(c->private_server, sd_bus_message_get_bus(m)) : NULL;

        if (p)
                p->subscribed = on;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (void) error;
        return set_subscribed(m, userdata, true);
}

static int method_unsubscribe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (void) error;
        return set_subscribed(m, userdata, false);
}

const sd_bus_vtable subscribe_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Subscribe", "", "", method_subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Unsubscribe", "", "", method_unsubscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
