/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw D-Bus message bytes, as a client puts them on the wire, through the
 * daemon's real D-Bus layer: sd-bus parses and validates the message, then
 * dispatches it by netnslinkd's own vtables, with a Context as in the
 * daemon.
 *
 * Steering (bus-steering.c) runs whole: its handlers, the Steering core
 * and a real Manager, which holds one real link, FUZZ_STEER_LINK, running
 * builtin:steer in a private netns of the fuzzer's own, pinned in a
 * private bpffs ("/proc/self/ns/net" names that netns here).
 *
 * The Manager methods run their handlers' first half, the real parse and
 * authorization (bus-parse.c), and nothing more: a fuzzed reference may
 * name any netns of the host, and the second half would attach there. The
 * vtable is netnslinkd's manager_vtable with each method's handler swapped
 * for one that parses and then answers with the real link's dictionary
 * (bus-util.c), so the reply path runs too.
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
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-manager.h"
#include "bus-parse.h"
#include "bus-steering.h"
#include "bus-util.h"
#include "context.h"
#include "fuzz.h"
#include "link-view.h"
#include "log.h"

/* The one link of the Manager, running builtin:steer. */
#define FUZZ_STEER_LINK "s1"

static Manager *manager;
static Context context;
static Link *steer_link;
static sd_bus_vtable parse_vtable[64];
static bool ready;
static char auth[128];
static int listener = -EBADF;    /* a listening TCP socket, for RegisterSocket */
static int dev_null = -EBADF;

/* A fuzzed absolute netns reference is opened as the daemon would open
 * it: here no device file is there to be opened. */
static int hide_devices(void) {
        dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (dev_null < 0)
                return -errno;
        if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
                return -errno;
        return 0;
}

/* The Manager methods: the real parse, then a reply made of the real link. */
static int method_parse_only(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int method = manager_method_from_name(sd_bus_message_get_member(msg));
        LinkView v;
        int r;

        FUZZ_CHECK(method >= 0);        /* the vtable routes only its own methods here */
        r = bus_parse_manager_call(userdata, msg, method, &call, error);
        if (r < 0)
                return r;
        if (method == MANAGER_DETACH || method == MANAGER_DETACH_MANY)
                return sd_bus_reply_method_return(msg, NULL);
        link_view_init(&v, manager, steer_link);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0 && (method == MANAGER_LIST_LINKS || method == MANAGER_ATTACH_MANY)) {
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
                /* One dictionary per element, at most a few. */
                for (size_t i = 0; r >= 0 && i < (call.n ? call.n : 1) && i < 4; i++)
                        r = bus_append_link(reply, &v);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        } else if (r >= 0)
                r = bus_append_link(reply, &v);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* manager_vtable, each method's handler swapped for method_parse_only. */
static int make_parse_vtable(void) {
        size_t i = 0;

        do {
                if (i >= ELEMENTSOF(parse_vtable))
                        return -E2BIG;
                parse_vtable[i] = manager_vtable[i];
                /* A method with no parse half of its own (Reload: the fuzzed
                 * daemon reads no configuration, so it only refuses) runs
                 * whole; the others stop after parsing. */
                if (parse_vtable[i].type == _SD_BUS_VTABLE_METHOD &&
                    manager_method_from_name(parse_vtable[i].x.method.member) >= 0)
                        parse_vtable[i].x.method.handler = method_parse_only;
        } while (manager_vtable[i++].type != _SD_BUS_VTABLE_END);
        return 0;
}

static int setup(void) {
        char dir[256];
        NlError e = {};
        LinkRef ref = { .netns = "/proc/self/ns/net", .type = "sk_lookup", .name = FUZZ_STEER_LINK };
        ProgramSpec steer = { .kind = PROGRAM_BUILTIN, .builtin = "steer", .fd = -EBADF };
        int r;

        r = make_parse_vtable();
        if (r < 0) {
                fprintf(stderr, "fuzz-bus-message: cannot make the vtable of parse halves\n");
                return r;
        }
        r = fuzz_private_mount("bpf", dir, sizeof(dir));
        if (r < 0)
                return r;
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        r = hide_devices();
        if (r < 0)
                return r;
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/netnslinkd");
        r = manager_new(dir, &manager, &e);
        if (r < 0) {
                fprintf(stderr, "fuzz-bus-message: %s\n", e.message);
                return r;
        }
        r = manager_load_pins(manager, &e);
        if (r < 0) {
                fprintf(stderr, "fuzz-bus-message: %s\n", e.message);
                return r;
        }
        context_init(&context, manager, NULL, NULL);

        r = manager_attach(manager, &ref, &steer, NULL, &steer_link, &e);
        if (r < 0) {
                fprintf(stderr, "fuzz-bus-message: cannot attach builtin:steer: %s\n", e.message);
                return r;
        }

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

        /* Only a lack of privileges is a reason to skip; a set-up that
         * breaks otherwise is a finding, or the replay would pass unrun. */
        if (r < 0 && r != -EPERM && r != -EACCES) {
                fprintf(stderr, "fuzz-bus-message: set-up failed: %s\n", strerror(-r));
                abort();
        }
        if (r < 0)
                fuzz_skip_note("fuzz-bus-message", "cannot set up a private bpffs, netns and Manager", -r, true);
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
                return fcntl(dev_null, F_DUPFD_CLOEXEC, 3);
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
            sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, parse_vtable, &context) < 0 ||
            sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_STEERING_IFACE, steering_vtable, &context) < 0 ||
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
