/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw D-Bus message bytes, as a client puts them on the wire, through the
 * daemon's real D-Bus layer: sd-bus parses and validates the message, then
 * dispatches it to netnslinkd's Manager vtable (bus-manager.c, with
 * bus_read_program and every method's argument readers in bus-util.c) and,
 * when it is built, the Steering vtable (bus-steering.c). The Manager
 * beneath is bus-stubs.c; Steering works on real steer maps in a private
 * bpffs.
 *
 * Each input is one connection: a socket pair, an sd-bus server on one end
 * (as on a direct connection; the bus daemon would have checked less than
 * sd-bus does here), and on the other end the harness authenticates, then
 * sends the input's bytes with 0 to 3 file descriptors attached.
 *
 * Input: one byte (bits 0-1: how many fds, bits 2-7: which kinds), then the
 * message bytes (one or more messages, little or big endian).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "builtins.h"
#include "bus-fuzz.h"
#include "bus-manager.h"
#include "bus-util.h"
#include "fuzz.h"
#include "link-ops.h"
#include "log.h"
#include "netns-ref.h"
#if NETNSLINK_FUZZ_STEERING
#include "bus-steering.h"
#endif

static Manager manager;
static bool ready;
static char auth[128];
static int listener = -EBADF;    /* a listening TCP socket, for RegisterSocket */

static int setup(void) {
        char dir[256], map_dir[4096];
        NlError e = {};
        int r, fd;

        r = fuzz_private_mount("bpf", dir, sizeof(dir));
        if (r < 0)
                return r;
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/netnslinkd");
        r = nl_pin_store_open(dir, &manager.store, &e);
        if (r < 0)
                return r;
        manager.links = hashmap_new();
        manager.netns = hashmap_new();
        if (!manager.links || !manager.netns)
                return -ENOMEM;
        r = nl_netns_ino("/proc/self/ns/net", &fuzz_netns_ino, &e);
        if (r < 0)
                return r;

        /* builtin:steer's maps for the one link Steering can reach. */
        r = manager_steer_dir(&manager, fuzz_netns_ino, FUZZ_STEER_LINK, map_dir, sizeof(map_dir));
        if (r < 0)
                return r;
        fd = nl_builtin_load_fd("steer", NL_ATTACH_SK_LOOKUP, map_dir, NL_MAPS_PIN, &e);
        if (fd >= 0) {
                uint32_t id;
                char tag[17];
                (void) nl_prog_fd_describe(fd, &id, fuzz_steer_prog_name, tag);
                close(fd);
        } else
                fprintf(stderr, "fuzz-bus-message: no builtin:steer maps (%s); Steering stops at opening them\n",
                        e.message);

        listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener >= 0) {
                struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
                if (bind(listener, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(listener, 1) < 0)
                        listener = safe_close(listener);
        }

        /* EXTERNAL auth names our uid in hex-encoded decimal. */
        char uid[16];
        int n = snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid());
        char *p = auth;
        p += sprintf(p, "%cAUTH EXTERNAL ", 0);
        for (int i = 0; i < n; i++)
                p += sprintf(p, "%02x", (unsigned char) uid[i]);
        sprintf(p, "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n");
        return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int r;

        /* The daemon's info lines for every binding made: noise here. */
        log_set_max_level(LOG_ERR);
        r = setup();

        if (r < 0)
                fuzz_skip_note("fuzz-bus-message", "cannot set up a private bpffs and pin store", -r, true);
        else
                ready = true;
        return 0;
}

static void drain(int fd) {
        char buf[65536];

        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                ;
}

/* An fd of one of four kinds, as a client might pass for object_fd or a
 * socket: a regular file with an ELF header, /dev/null, a pipe, a socket. */
static int make_fd(unsigned kind) {
        int fd, p[2];

        switch (kind & 3) {
        case 0:
                fd = memfd_create("object", MFD_CLOEXEC);
                if (fd >= 0 && write(fd, "\177ELF\2\1\1", 7) != 7)
                        fd = safe_close(fd);
                return fd;
        case 1:
                return open("/dev/null", O_RDONLY | O_CLOEXEC);
        case 2:
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno;
                close(p[1]);
                return p[0];
        default:
                return listener >= 0 ? fcntl(listener, F_DUPFD_CLOEXEC, 3) : eventfd(0, EFD_CLOEXEC);
        }
}

static int send_with_fds(int sock, const uint8_t *data, size_t size, const int *fds, unsigned n_fds) {
        union {
                struct cmsghdr cmsg;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 3)];
        } control = {};
        struct iovec iov = { (void *) data, size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                control.cmsg.cmsg_level = SOL_SOCKET;
                control.cmsg.cmsg_type = SCM_RIGHTS;
                control.cmsg.cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(&control.cmsg), fds, sizeof(int) * n_fds);
        }
        return sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t sel = fuzz_take_u8(&in);
        unsigned n_fds = sel & 3;
        int sp[2], fds[3] = { -EBADF, -EBADF, -EBADF };
        sd_bus *bus = NULL;
        sd_id128_t id = SD_ID128_MAKE(6e,65,74,6e,73,6c,69,6e,6b,66,75,7a,7a,62,75,73);
        int r;

        /* The message bytes go in one sendmsg: keep them within what a
         * socket buffer takes at once. */
        if (!ready || in.n > (size_t) 64 * 1024)
                return 0;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
                abort();
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sp[0], sp[0]) < 0 ||
            sd_bus_set_server(bus, 1, id) < 0 || sd_bus_negotiate_fds(bus, 1) < 0 ||
            sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, manager_vtable, &manager) < 0 ||
#if NETNSLINK_FUZZ_STEERING
            sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_STEERING_IFACE, steering_vtable, &manager) < 0 ||
#endif
            sd_bus_start(bus) < 0)
                abort();

        /* Authenticate (one line each way), then the input. */
        if (send_with_fds(sp[1], (const uint8_t *) auth, 1 + strlen(auth + 1), NULL, 0) < 0)
                abort();
        for (int i = 0; i < 100 && sd_bus_is_ready(bus) <= 0; i++) {
                if (sd_bus_process(bus, NULL) < 0)
                        abort();
                drain(sp[1]);
        }
        FUZZ_CHECK(sd_bus_is_ready(bus) > 0);

        for (unsigned i = 0; i < n_fds; i++)
                fds[i] = make_fd(sel >> (2 + 2 * i));
        for (unsigned i = 0; i < n_fds; i++)
                if (fds[i] < 0)
                        abort();
        if (in.n > 0 && send_with_fds(sp[1], in.p, in.n, fds, n_fds) < 0)
                abort();
        for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
        shutdown(sp[1], SHUT_WR);

        /* Until sd-bus has nothing left to do, or has given up on us. */
        for (int i = 0; i < 100000; i++) {
                r = sd_bus_process(bus, NULL);
                drain(sp[1]);
                if (r <= 0)
                        break;
        }

        sd_bus_close(bus);
        sd_bus_unref(bus);
        close(sp[1]);
        return 0;
}
