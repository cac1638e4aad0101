/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-connect.h"
#include "ctl.h"
#include "netns-arg.h"
#include "macro.h"

OutputOptions arg_output = { .json = JSON_OFF, .legend = true };
int arg_expect_set = 0;
uint32_t arg_expect = 0;
int arg_fd = -1;

static const Column link_columns[] = {
        { "NETNS", "netns" },
        { "TYPE", "attach_type" },
        { "NAME", "name" },
        { "ORDER", "order" },
        { "LINK", "link_id" },
        { "PROG", "prog_id" },
        { "PROG-NAME", "prog_name" },
        { "SOURCE", "source" },
        { "DRIFT", "drift" },
};

static const Column link_record[] = {
        { "Netns", "netns" },
        { "Netns inode", "netns_ino" },
        { "Type", "attach_type" },
        { "Name", "name" },
        { "Run order", "order" },
        { "Link ID", "link_id" },
        { "Program ID", "prog_id" },
        { "Program", "prog_name" },
        { "Tag", "prog_tag" },
        { "Source", "source" },
        { "Pin", "pin_path" },
        { "Defunct", "defunct" },
        { "Drift", "drift" },
};

int ctl_log_bus_error(const char *what, const sd_bus_error *error, int r) {
        if (error && sd_bus_error_is_set(error))
                fprintf(stderr, "Failed to %s: %s (%s)\n", what, error->message ? error->message : "",
                        error->name);
        else
                fprintf(stderr, "Failed to %s: %s\n", what, strerror(r < 0 ? -r : EIO));
        return r < 0 ? r : -EIO;
}

/* Where the verbs' calls go (bus-connect.h picks it), and why it could not
 * be reached (0 if it was). The verb runs anyway, so that its own checks
 * of its arguments speak first; its first bus call reports this instead. */
static NlBusTarget bus_target;
static int bus_connect_error;

static int bus_unreachable(void) {
        if (bus_target.kind == NL_BUS_SYSTEM)
                fprintf(stderr, "Failed to connect to the system bus (%s): %s; is dbus running?\n",
                        bus_target.address, strerror(-bus_connect_error));
        else
                fprintf(stderr, "Failed to connect to netnslinkd directly (%s): %s; is netnslinkd running?\n",
                        bus_target.address, strerror(-bus_connect_error));
        return bus_connect_error;
}

static int open_daemon_bus(sd_bus **ret) {
        int r = nl_bus_open_daemon(&bus_target, ret);

        if (!*ret)
                return r;
        bus_connect_error = r < 0 ? r : 0;
        return 0;
}

bool ctl_bus_is_direct(void) {
        return bus_target.kind == NL_BUS_DIRECT;
}

int ctl_new_call(sd_bus *bus, const char *iface, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, NL_BUS_NAME, NL_BUS_PATH, iface, method);
}

int ctl_call(sd_bus *bus, const char *iface, const char *method, const char *what, sd_bus_message *req,
             sd_bus_message **reply) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        (void) iface;
        (void) method;
        if (bus_connect_error < 0)
                return bus_unreachable();
        /* Batches of hundreds of links can take a while: allow 5 minutes. */
        r = sd_bus_call(bus, req, 300ULL * 1000 * 1000, &error, reply);
        if (r < 0)
                r = ctl_log_bus_error(what, &error, r);
        sd_bus_error_free(&error);
        return r;
}

int ctl_call_no_args(sd_bus *bus, const char *iface, const char *method, const char *what, sd_bus_message **reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        r = ctl_new_call(bus, iface, method, &req);
        if (r < 0)
                return r;
        return ctl_call(bus, iface, method, what, req, reply);
}

/* PROGRAM: builtin:NAME or FILE:PROGNAME (the last ':' splits). The CLI
 * opens FILE itself and passes the descriptor: the daemon never needs to
 * read the caller's files with its own rights. */
static int append_program(sd_bus_message *m, const char *arg) {
        _cleanup_free_ char *file = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *colon;
        int r;

        if (strncmp(arg, "builtin:", 8) == 0)
                return sd_bus_message_append(m, "a{sv}", 1, "builtin", "s", arg + 8);

        colon = strrchr(arg, ':');
        if (!colon || colon == arg || !colon[1]) {
                fprintf(stderr, "Invalid program '%s': expected builtin:steer, builtin:flow or FILE:PROGNAME\n", arg);
                return -EINVAL;
        }
        file = strndup(arg, colon - arg);
        if (!file)
                return -ENOMEM;
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                fprintf(stderr, "Cannot open BPF object %s: %s\n", file, strerror(-r));
                return r;
        }
        return sd_bus_message_append(m, "a{sv}", 2, "object_fd", "h", fd, "program", "s", colon + 1);
}

static int print_link_reply(sd_bus_message *reply) {
        return ctl_print_record_reply(reply, link_record, ELEMENTSOF(link_record), "reply");
}

static int verb_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        Dict *links = NULL;
        size_t n;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, "ListLinks", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "s", argc > 1 ? argv[1] : "");
        if (r < 0)
                return r;
        r = ctl_call(bus, NL_BUS_MANAGER_IFACE, "ListLinks", "list links", req, &reply);
        if (r < 0)
                return r;
        r = dict_read_array(reply, &links, &n);
        if (r < 0)
                return r;
        output_table(&arg_output, link_columns, ELEMENTSOF(link_columns), links, n, "links");
        fflush(stdout);
        ctl_warn_foreign_first(bus, links, n);
        dict_array_free(links, n);
        return 0;
}

static int call_link_method(sd_bus *bus, const char *method, const char *what, char *argv[],
                            bool with_expect, const char *program) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, method, &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "sss", argv[1], argv[2], argv[3]);
        if (r >= 0 && with_expect)
                r = sd_bus_message_append(req, "u", arg_expect);
        if (r >= 0 && program)
                r = append_program(req, program);
        if (r < 0)
                return r;
        r = ctl_call(bus, NL_BUS_MANAGER_IFACE, method, what, req, &reply);
        if (r < 0)
                return r;
        if (sd_bus_message_is_empty(reply))
                return 0;
        return print_link_reply(reply);
}

static int verb_show(sd_bus *bus, int argc, char *argv[]) {
        return call_link_method(bus, "GetLink", "show link", argv, false, NULL);
}

static int verb_attach(sd_bus *bus, int argc, char *argv[]) {
        return call_link_method(bus, "Attach", "attach", argv, false, argv[4]);
}

static int verb_update(sd_bus *bus, int argc, char *argv[]) {
        return call_link_method(bus, "Update", "update", argv, false, argv[4]);
}

static int verb_replace(sd_bus *bus, int argc, char *argv[]) {
        if (!arg_expect_set) {
                fprintf(stderr, "replace needs --expect=PROG_ID (the program id the link must be running)\n");
                return -EINVAL;
        }
        return call_link_method(bus, "Replace", "replace", argv, true, argv[4]);
}

static int verb_detach(sd_bus *bus, int argc, char *argv[]) {
        return call_link_method(bus, "Detach", "detach", argv, false, NULL);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m);
        Dict d;

        if (dict_read(m, &d) < 0)
                return 0;
        if (arg_output.json != JSON_OFF) {
                fputs("{\"signal\":", stdout);
                json_print_string(stdout, member);
                fputs(",\"link\":", stdout);
                dict_print_json(&d, stdout, 0, 0);
                fputs("}\n", stdout);
        } else if (strcmp(member, "LinkDrifted") == 0)
                printf("%-13s netns=%s type=%s name=%s link=%s drift=%s repaired=%s\n", member,
                       dict_get(&d, "netns"), dict_get(&d, "attach_type"), dict_get(&d, "name"),
                       dict_get(&d, "link_id"), dict_get(&d, "drift"), dict_get(&d, "repaired"));
        else
                printf("%-13s netns=%s type=%s name=%s link=%s prog=%s (%s)\n", member, dict_get(&d, "netns"),
                       dict_get(&d, "attach_type"), dict_get(&d, "name"), dict_get(&d, "link_id"),
                       dict_get(&d, "prog_id"), dict_get(&d, "prog_name"));
        fflush(stdout);
        dict_done(&d);
        return 0;
}

static int verb_monitor(sd_bus *bus, int argc, char *argv[]) {
        int r;

        if (bus_connect_error < 0)
                return bus_unreachable();
        /* No sender in the match: with one, signals sent by a daemon that
         * starts after us would not match until sd-bus learnt the owner. */
        r = sd_bus_match_signal(bus, NULL, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, NULL, on_signal, NULL);
        if (r < 0) {
                fprintf(stderr, "Failed to subscribe to signals: %s\n", strerror(-r));
                return r;
        }
        /* A direct peer gets the daemon's signals only once it asks. */
        if (ctl_bus_is_direct()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = ctl_call_no_args(bus, NL_BUS_MANAGER_IFACE, "Subscribe", "subscribe to signals", &reply);
                if (r < 0)
                        return r;
        }
        if (arg_output.json == JSON_OFF && arg_output.legend)
                fprintf(stderr, "Monitoring link changes; press Ctrl-C to stop.\n");
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "Lost the bus: %s\n", strerror(-r));
                        return r;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* Every command that takes arguments takes NETNS first (main translates
 * it, netns-arg.h); so do the Steering commands (verbs-steer.c). */
static const Verb verbs[] = {
        { "list", 0, 1, verb_list },
        { "show", 3, 3, verb_show },
        { "attach", 4, 4, verb_attach },
        { "update", 4, 4, verb_update },
        { "replace", 4, 4, verb_replace },
        { "detach", 3, 3, verb_detach },
        { "monitor", 0, 0, verb_monitor },
        { "reload", 0, 0, ctl_reload },
        { "metrics", 0, 0, verb_metrics },
};

static void help(void) {
        printf("netnslinkctl [OPTIONS...] COMMAND ...\n\n"
               "Manage the BPF links of network namespaces through netnslinkd.\n\n"
               "Link commands:\n"
               "  list [NETNS]                      List links (of one netns, or all)\n"
               "  show NETNS TYPE NAME              Show one link\n"
               "  attach NETNS TYPE NAME PROGRAM    Attach a program as a new link\n"
               "  update NETNS TYPE NAME PROGRAM    Swap a link's program atomically\n"
               "  replace NETNS TYPE NAME --expect=PROG_ID PROGRAM\n"
               "                                    Swap only if the link runs PROG_ID\n"
               "  detach NETNS TYPE NAME            Detach a link and remove its pin\n"
               "  monitor                           Print link changes as they happen\n"
               "  query NETNS                       List every program at the netns's hooks in run\n"
               "                                    order, the daemon's or not\n"
               "  explain NETNS PROTO SRC DST       Show where a PROTO (tcp, udp) connection from\n"
               "                                    SRC to DST (ADDR:PORT, [IPV6]:PORT) would go\n"
               "  metrics                           Print metrics (Prometheus text format)\n\n"
               "Steering commands (links running builtin:steer):\n"
               "  bind NETNS LINK PROTO PREFIX PORT LABEL\n"
               "                                    Send PROTO traffic to PREFIX:PORT to LABEL\n"
               "  unbind NETNS LINK PROTO PREFIX PORT\n"
               "                                    Remove a binding\n"
               "  bindings NETNS LINK               List bindings\n"
               "  load-bindings NETNS LINK FILE     Replace all bindings with a JSON file's\n"
               "  register NETNS LINK LABEL [--fd=N]\n"
               "                                    Register a socket for LABEL (fd N, or the\n"
               "                                    sockets passed by systemd socket activation)\n"
               "  register-pid NETNS LINK LABEL PID Register the matching socket(s) of process PID\n"
               "  unregister NETNS LINK LABEL       Remove LABEL's socket\n"
               "  destinations NETNS LINK           List labels, sockets and counters\n\n"
               "Configuration commands:\n"
               "  reload [--dry-run]                Apply the daemon's configuration files now\n"
               "                                    and list what changed (or would)\n"
               "  verify [FILE...]                  Check configuration files offline (default:\n"
               "                                    every file of the search path)\n\n"
               "NETNS is /path/to/netns, a name in /run/netns, pid:PID or ino:INODE (a netns\n"
               "the daemon holds links in; not for attach). /proc/self/ns/net is the netns\n"
               "netnslinkctl runs in: it is sent as pid:PID, since the daemon resolves NETNS.\n"
               "TYPE is sk_lookup or flow_dissector. PROGRAM is builtin:steer, builtin:flow\n"
               "or FILE:PROGNAME (a BPF ELF object and the name of a program in it).\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --json=MODE          Output as JSON: short or pretty\n"
               "     --no-legend          Do not print the header and footer of tables\n"
               "     --expect=PROG_ID     For replace: the program id the link must run\n"
               "     --fd=N               For register: the socket's file descriptor\n"
               "     --dry-run            For reload: say what would change, change nothing\n"
               "     --config-root=DIR    For verify: read DIR/etc/netnslink/links.d/ and so on\n"
               "     --http               For metrics: answer one HTTP request on stdin (GET /metrics)\n\n"
               "As root, netnslinkctl talks to the daemon on its private socket\n"
               "/run/netnslinkd/private when it exists, else on the system bus; other users use\n"
               "the bus. NETNSLINK_ADDRESS (a D-Bus address of the daemon itself) overrides both.\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_LEGEND, ARG_EXPECT, ARG_FD, ARG_CONFIG_ROOT, ARG_DRY_RUN, ARG_HTTP };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "expect", required_argument, NULL, ARG_EXPECT },
                { "fd", required_argument, NULL, ARG_FD },
                { "config-root", required_argument, NULL, ARG_CONFIG_ROOT },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "http", no_argument, NULL, ARG_HTTP },
                {}
        };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("netnslinkctl " NETNSLINK_VERSION "\n");
                        return 0;
                case ARG_JSON:
                        if (strcmp(optarg, "short") == 0)
                                arg_output.json = JSON_SHORT;
                        else if (strcmp(optarg, "pretty") == 0)
                                arg_output.json = JSON_PRETTY;
                        else {
                                fprintf(stderr, "Invalid --json= mode '%s': expected short or pretty\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_NO_LEGEND:
                        arg_output.legend = false;
                        break;
                case ARG_EXPECT: {
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || v > UINT32_MAX || optarg[0] == '-') {
                                fprintf(stderr, "Invalid --expect= '%s': expected a program id\n", optarg);
                                return -EINVAL;
                        }
                        arg_expect = v;
                        arg_expect_set = 1;
                        break;
                }
                case ARG_FD: {
                        errno = 0;
                        long v = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || v < 0 || v > INT32_MAX) {
                                fprintf(stderr, "Invalid --fd= '%s': expected a file descriptor number\n", optarg);
                                return -EINVAL;
                        }
                        arg_fd = (int) v;
                        break;
                }
                case ARG_CONFIG_ROOT:
                        arg_config_root = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = 1;
                        break;
                case ARG_HTTP:
                        arg_http = 1;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        for (size_t i = 0; i < n_steer_verbs; i++)
                if (strcmp(steer_verbs[i].name, name) == 0)
                        return &steer_verbs[i];
        for (size_t i = 0; i < n_observe_verbs; i++)
                if (strcmp(observe_verbs[i].name, name) == 0)
                        return &observe_verbs[i];
        return NULL;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb;
        char netns[4096];
        int r, nargs;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        argc -= optind;
        argv += optind;
        /* Offline commands: no bus, no NETNS first. */
        if (argc > 0 && strcmp(argv[0], "verify") == 0)
                return ctl_verify(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        verb = find_verb(argc > 0 ? argv[0] : "list");
        if (!verb) {
                fprintf(stderr, "Unknown command '%s'; see netnslinkctl --help\n", argv[0]);
                return EXIT_FAILURE;
        }
        nargs = argc > 0 ? argc - 1 : 0;
        if (nargs < verb->min_args || nargs > verb->max_args) {
                if (verb->min_args == verb->max_args)
                        fprintf(stderr, "Command '%s' takes %d argument%s, got %d; see netnslinkctl --help\n",
                                verb->name, verb->max_args, verb->max_args == 1 ? "" : "s", nargs);
                else
                        fprintf(stderr, "Command '%s' takes %d to %d arguments, got %d; see netnslinkctl --help\n",
                                verb->name, verb->min_args, verb->max_args, nargs);
                return EXIT_FAILURE;
        }

        if (nargs >= 1)
                argv[1] = (char *) ctl_netns_arg(argv[1], netns, sizeof(netns));

        r = open_daemon_bus(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to set up a bus connection: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = verb->fn(bus, argc > 0 ? argc : 1, argc > 0 ? argv : (char *[]) { (char *) "list", NULL });
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
