/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-connect.h"
#include "bus-manager.h"
#include "bus-names.h"
#include "bus-objects.h"
#include "bus-signals.h"
#include "caps.h"
#include "context.h"
#include "config-apply.h"
#include "loader.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "netns-ref.h"
#include "nsid-watch.h"
#include "private-socket.h"
#include "system-bus.h"

/* A deleted netns is noticed within this interval (the contract asks for
 * 2 s); one get_info per link costs about 1 us. */
#define DEFUNCT_CHECK_USEC (1000 * 1000ULL)

static const char *arg_pin_root = NL_PIN_ROOT_DEFAULT;
static const char *arg_config_root = "/";
static const char *arg_private_socket = NL_PRIVATE_SOCKET_DEFAULT;
/* Two: one pod after another never waits for a load, and a pair of pods at
 * once neither; each costs its maps (about 400 KiB on a small host). */
#define STEER_SPARES_DEFAULT 2U
static unsigned arg_steer_spares = STEER_SPARES_DEFAULT;

static void help(void) {
        printf("netnslinkd [OPTIONS...]\n\n"
               "Owns the BPF programs attached to network namespaces through BPF links\n"
               "(sk_lookup, flow_dissector), pins every link in bpffs, and serves\n"
               "org.netnslink1 on the system bus and on a private socket for root.\n"
               "Runs in the foreground.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --pin-root=DIR       Pin links under DIR (default: %s)\n"
               "     --config-root=DIR    Read DIR/etc/netnslink/links.d/ and so on instead of\n"
               "                          /etc/netnslink/links.d/ ... (default: /)\n"
               "     --private-socket=PATH\n"
               "                          Serve direct D-Bus connections of root on PATH\n"
               "                          (default: %s; empty: none)\n"
               "     --steer-spares=N     Keep N builtin:steer programs loaded ahead, so that a\n"
               "                          new steer link needs no program load (default: %u;\n"
               "                          at most %u; 0: none)\n"
               "     --log-level=LEVEL    Log up to LEVEL: err, warning, notice, info, debug\n"
               "                          (default: info)\n",
               NL_PIN_ROOT_DEFAULT, NL_PRIVATE_SOCKET_DEFAULT, STEER_SPARES_DEFAULT, LOADER_SPARES_MAX);
}

static int parse_log_level(const char *s) {
        static const struct { const char *name; int level; } levels[] = {
                { "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
                { "info", LOG_INFO }, { "debug", LOG_DEBUG },
        };
        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (strcmp(levels[i].name, s) == 0)
                        return levels[i].level;
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_PIN_ROOT, ARG_LOG_LEVEL, ARG_CONFIG_ROOT, ARG_PRIVATE_SOCKET,
               ARG_STEER_SPARES };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "pin-root", required_argument, NULL, ARG_PIN_ROOT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "config-root", required_argument, NULL, ARG_CONFIG_ROOT },
                { "private-socket", required_argument, NULL, ARG_PRIVATE_SOCKET },
                { "steer-spares", required_argument, NULL, ARG_STEER_SPARES },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("netnslinkd " NETNSLINK_VERSION "\n");
                        return 0;
                case ARG_PIN_ROOT:
                        arg_pin_root = optarg;
                        break;
                case ARG_CONFIG_ROOT:
                        arg_config_root = optarg;
                        break;
                case ARG_PRIVATE_SOCKET:
                        if (*optarg && *optarg != '/') {
                                log_error("Invalid --private-socket '%s': expected an absolute path, or empty for none",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_private_socket = optarg;
                        break;
                case ARG_STEER_SPARES: {
                        char *end = NULL;
                        unsigned long n;

                        errno = 0;
                        n = strtoul(optarg, &end, 10);
                        if (!*optarg || *optarg == '-' || *end || errno || n > LOADER_SPARES_MAX) {
                                log_error("Invalid --steer-spares '%s': expected a number from 0 to %u", optarg,
                                          LOADER_SPARES_MAX);
                                return -EINVAL;
                        }
                        arg_steer_spares = (unsigned) n;
                        break;
                }
                case ARG_LOG_LEVEL:
                        level = parse_log_level(optarg);
                        if (level < 0) {
                                log_error("Invalid --log-level '%s': expected err, warning, notice, info or debug", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(level);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("netnslinkd takes no arguments, got '%s'", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void libbpf_log(int level, const char *msg) {
        log_internal(level, 0, "libbpf: %s", msg);
}

static int on_defunct_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) manager_check_defunct(m, false);
        manager_check_drift(m, false);
        (void) manager_prune(m, false);
        log_flush();
        return sd_event_source_set_time_relative(s, DEFUNCT_CHECK_USEC);
}

/* Each link holds an fd; 10,000 links need more than the default 1024. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

/* Started with stdin, stdout or stderr closed, the daemon's first fds (a
 * link, a netns, the bus) would take those numbers: log lines would go
 * into them, and the loader child, which keeps 0-2, would hold them. */
static void keep_std_fds_taken(void) {
        for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
                        (void) open("/dev/null", O_RDWR);       /* takes the lowest free number: fd */
}

/* The private socket, with its folder made when the daemon runs outside
 * its unit (which makes /run/netnslinkd as its RuntimeDirectory). */
static int private_socket_listen(Context *c, const char *path, PrivateServer **ret) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;
        int r;

        if (!dir)
                return log_error_errno(-ENOMEM, "Out of memory");
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to make %s for the private socket: %m", dir);
        }
        r = private_server_new(c, path, ret);
        if (r == -EADDRINUSE)
                return log_error_errno(r, "Refusing to start: another netnslinkd serves the private socket %s", path);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on the private socket %s: %m", path);
        c->private_server = *ret;
        return 0;
}

static int run(int argc, char *argv[]) {
        /* Freed last: the bus points at the vtables it wraps. */
        _cleanup_(metrics_freep) Metrics *metrics = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(system_bus_freep) SystemBus *system_bus = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        /* Freed after the context, which sends the last signals to it. */
        _cleanup_(private_server_freep) PrivateServer *private_server = NULL;
        _cleanup_(context_done) Context context = {};
        _cleanup_(config_apply_freep) ConfigApply *config = NULL;
        _cleanup_(nsid_watch_freep) NsidWatch *nsid_watch = NULL;
        sd_event_source *timer = NULL;
        char kept[256], features[512];
        NlError e = {};
        sigset_t mask;
        int r;

        keep_std_fds_taken();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        r = caps_drop_to_needed(kept, sizeof(kept));
        if (r < 0)
                return log_error_errno(r, "Failed to drop capabilities: %m");
        log_info("netnslinkd " NETNSLINK_VERSION " starting; capabilities kept: %s",
                 *kept ? kept : "(none: not running as root?)");
        raise_nofile();
        nl_libbpf_set_log(libbpf_log);
        /* Every netns reference comes from a caller: /proc/self would be ours. */
        nl_netns_refs_of_others(true);

        r = manager_new(arg_pin_root, &m, &e);
        if (r < 0)
                return log_error_errno(r, "%s", e.message);
        nl_kernel_features_describe(&m->kernel, features, sizeof(features));
        log_info("Kernel %s: %s", m->kernel.release, features);

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);

        /* The contract's error names with their errnos. */
        r = sd_bus_error_add_map(nl_bus_error_map);
        if (r < 0)
                return log_error_errno(r, "Failed to add the D-Bus error map: %m");
        /* The Manager's events go out as signals; every handler, on every
         * connection, gets the context. */
        context_init(&context, m, event, NULL);
        m->on_event = bus_manager_emit;
        metrics = metrics_new(&context);
        if (!metrics)
                return log_error_errno(-ENOMEM, "Out of memory");
        bus_objects_prepare(&context);
        r = system_bus_new(&context, &system_bus);
        if (r < 0) {
                if (!system_bus || !*arg_private_socket)
                        return log_error_errno(r, "Failed to connect to the system bus: %m");
                /* A node or an early boot with no dbus: root's tools still
                 * reach us on the private socket. */
                log_notice_errno(r, "No system bus (%m): serving only the private socket %s, and connecting to "
                                 "the bus when it comes", arg_private_socket);
        }

        /* Pins first, the name after: a client never sees a half-loaded list. */
        r = manager_load_pins(m, &e);
        if (r < 0)
                return log_error_errno(r, "Refusing to start: %s", e.message);

        /* The configuration files, applied before READY=1 and again at
         * SIGHUP, Reload and when a netns they name appears. The first
         * apply comes before the name, as the pins do: a client never sees
         * links half made by it. */
        r = config_apply_new(m, arg_config_root, &config);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        m->config = config;
        {
                ConfigResult res = {};
                r = config_apply(config, false, &res);
                config_result_done(&res);
                if (r < 0)
                        return log_error_errno(r, "Failed to apply the configuration: %m");
        }
        /* Served only once the pins and the configuration are in, as the
         * name below. */
        if (*arg_private_socket) {
                r = private_socket_listen(&context, arg_private_socket, &private_server);
                if (r < 0)
                        return r;
        }
        r = system_bus_serve(system_bus);
        if (r < 0)
                return r;

        /* Links whose netns died while we were down: dropped now that the
         * LinkDefunct signals can carry our well-known name. */
        r = manager_check_defunct(m, true);
        if (r > 0)
                log_notice("Dropped %d link(s) whose netns vanished while the daemon was down", r);

        r = config_apply_watch(config, event);
        if (r < 0)
                return r;
        /* Netns death as it happens; without it, the timer below sees it. */
        r = nsid_watch_start(m, event, &nsid_watch);
        if (r < 0)
                log_warning_errno(r, "Cannot watch netns ids (%m); netns death is seen by polling only");

        r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, DEFUNCT_CHECK_USEC, 100 * 1000ULL,
                                       on_defunct_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add netns watch timer: %m");
        (void) sd_event_source_set_enabled(timer, SD_EVENT_ON);

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %zu link(s)", hashmap_size(m->links));
        if (context.bus && private_server)
                log_info("Ready: %s on the system bus and on %s, pin root %s", NL_BUS_NAME, arg_private_socket,
                         arg_pin_root);
        else if (context.bus)
                log_info("Ready: %s on the system bus, pin root %s", NL_BUS_NAME, arg_pin_root);
        else
                log_info("Ready: %s on %s only (no system bus), pin root %s", NL_BUS_NAME, arg_private_socket,
                         arg_pin_root);

        /* Loaded in the background, once the daemon serves. */
        loader_set_spares(m->loader, arg_steer_spares);

        r = sd_event_loop(event);
        /* A pin removed in the last second is made again: no link goes
         * with the daemon unsaid. */
        manager_check_drift(m, true);
        (void) manager_prune(m, true);
        bus_manager_drop_waiting(m);
        context_done(&context);
        (void) sd_notify(false, "STOPPING=1");
        sd_event_source_unref(timer);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("Stopping; pinned links keep running");
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        /* One arena for the loop and a SetBindings' thread (steer-set-job.c,
         * one at a time): a thread's own arena is fresh memory that its
         * large allocations fault in again each time, and page faults
         * are dear in a VM. */
        mallopt(M_ARENA_MAX, 1);
        r = run(argc, argv);

        log_flush();
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
