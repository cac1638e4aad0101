/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nl-bus-bench: a fast sd-bus client of netnslinkd for the load test and
 * the daemon benchmark (bench/daemon/run.sh, tests/load). Verbs:
 *
 *   mknetns PREFIX N         make netns /run/netns/PREFIX-0..N-1 (unshare and
 *                            a bind mount each: far cheaper than ip netns add)
 *   load NETNS_FILE OBJ      CLIENTS processes x OPS operations (attach,
 *                            update, detach cycles over the netns), while
 *                            GetLink latency is sampled; the daemon's fd count
 *                            and RSS before and after
 *   bench NETNS_FILE OBJ     direct libbpf attach+pin / detach+unpin per netns
 *                            against Peer.Ping, Attach, Detach, AttachMany,
 *                            DetachMany and SetBindings through the daemon
 *                            and against a no-op server, side by side in one
 *                            run, over up to three transports: the system bus
 *                            (dbus-daemon), dbus-broker (--broker=ADDRESS, a
 *                            second daemon on it) and the daemon's private
 *                            socket (--private=PATH, --private-floor=PATH)
 *   fill NETNS_FILE OBJ      PER links in each netns through AttachMany
 *   restart -- DAEMON ARGS   start the daemon and time its first full
 *                            ListLinks answer; prints its pid and RSS
 *   latency NETNS NAME       GetLink of sk_lookup link NAME, every 2 ms, for as
 *                            long as --while-pid=PID runs (another client's
 *                            call); its p50, p99 and max, judged against
 *                            --max-p99-ms
 *   floor-server             answer Attach, Detach, AttachMany and DetachMany
 *                            with the daemon's message shapes and signals,
 *                            doing nothing: the bus's share (bench --floor=PID);
 *                            on the bus at --address=ADDRESS, or with
 *                            --listen=PATH on a direct socket, as the daemon's
 *                            private socket (no signals there: the daemon
 *                            signals only peers that called Subscribe)
 *
 * NETNS_FILE names one netns per line. OBJ is the BPF object holding
 * bench_daemon and bench_daemon2 (sk_lookup).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <time.h>
#include <unistd.h>

#include "../common/bench-bindings.h"
#include "../common/bench-util.h"
#include "bus-connect.h"
#include "macro.h"

#define DEST "org.netnslink1"
#define PATH "/org/netnslink1"
#define IFACE "org.netnslink1.Manager"
#define PROG1 "bench_daemon"
#define PROG2 "bench_daemon2"
#define TIMEOUT_US (120ULL * 1000 * 1000)
#define FLOOR_NAME "org.netnslink1.BenchFloor"     /* bench --floor, floor-server */

static unsigned arg_clients = 8, arg_ops = 300, arg_rounds = 3, arg_per = 4;
static pid_t arg_daemon_pid, arg_bus_pid, arg_floor_pid, arg_while_pid;
static long arg_max_rss_growth_kib = -1;
static double arg_max_p99_ms = 0;         /* 0: printed, not judged */
static const char *arg_pin_dir;

static char **read_lines(const char *file, unsigned *ret_n) {
        char **v = NULL, *line = NULL;
        size_t cap = 0;
        unsigned n = 0;
        FILE *f = fopen(file, "re");

        if (!f)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (!*line)
                        continue;
                v = realloc(v, (n + 1) * sizeof(char *));
                v[n++] = strdup(line);
        }
        free(line);
        fclose(f);
        *ret_n = n;
        return v;
}

static void lines_free(char **v, unsigned n) {
        for (unsigned i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* ---- the daemon's footprint ---- */

static long proc_status_kib(pid_t pid, const char *key) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
                        v = strtol(line + strlen(key) + 1, NULL, 10);
        fclose(f);
        return v;
}

static int count_fds(pid_t pid) {
        char path[64];
        struct dirent *de;
        int n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* ---- calls ---- */

typedef struct Prog {
        const char *builtin;    /* or */
        int fd;                 /* object fd, or -1 for object_path */
        const char *path;
        const char *program;
} Prog;

static int append_prog(sd_bus_message *m, const Prog *p) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (p->builtin)
                r = sd_bus_message_append(m, "{sv}", "builtin", "s", p->builtin);
        else if (p->fd >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "object_fd", "h", p->fd, "program", "s", p->program);
        else
                r = sd_bus_message_append(m, "{sv}{sv}", "object_path", "s", p->path, "program", "s", p->program);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static void report(const char *what, int r, const sd_bus_error *e) {
        fprintf(stderr, "%s: %s: %s\n", what, e && e->name ? e->name : strerror(-r),
                e && e->message ? e->message : "");
}

static int call(sd_bus *bus, sd_bus_message *m, sd_bus_error *e, sd_bus_message **reply) {
        return sd_bus_call(bus, m, TIMEOUT_US, e, reply);
}

/* method is Attach or Update; dest the daemon, or the floor server */
static int do_attach_to(sd_bus *bus, const char *dest, const char *method, const char *netns, const char *name,
                        const Prog *p, bool quiet) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, PATH, IFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", netns, "sk_lookup", name);
        if (r >= 0)
                r = append_prog(m, p);
        if (r >= 0)
                r = call(bus, m, &e, &reply);
        if (r < 0 && !quiet)
                report(method, r, &e);
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return r;
}

static int do_attach(sd_bus *bus, const char *method, const char *netns, const char *name, const Prog *p,
                     bool quiet) {
        return do_attach_to(bus, DEST, method, netns, name, p, quiet);
}

static int do_detach_to(sd_bus *bus, const char *dest, const char *netns, const char *name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, dest, PATH, IFACE, "Detach", &e, NULL, "sss", netns, "sk_lookup", name);

        if (r < 0)
                report("Detach", r, &e);
        sd_bus_error_free(&e);
        return r;
}

static int do_detach(sd_bus *bus, const char *netns, const char *name) {
        return do_detach_to(bus, DEST, netns, name);
}

static int do_get(sd_bus *bus, const char *netns, const char *name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, DEST, PATH, IFACE, "GetLink", &e, &reply, "sss", netns, "sk_lookup", name);

        if (r < 0)
                report("GetLink", r, &e);
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        return r;
}

static int do_ping_to(sd_bus *bus, const char *dest) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, dest, PATH, "org.freedesktop.DBus.Peer", "Ping", &e, NULL, "");

        if (r < 0)
                report("Ping", r, &e);
        sd_bus_error_free(&e);
        return r;
}

static int do_attach_many_to(sd_bus *bus, const char *dest, char **netns, unsigned n, unsigned per,
                             const Prog *p) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        char name[32];
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, PATH, IFACE, "AttachMany");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sssa{sv})");
        for (unsigned i = 0; r >= 0 && i < n; i++)
                for (unsigned k = 0; r >= 0 && k < per; k++) {
                        snprintf(name, sizeof(name), "b%u", k);
                        r = sd_bus_message_open_container(m, 'r', "sssa{sv}");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "sss", netns[i], "sk_lookup", name);
                        if (r >= 0)
                                r = append_prog(m, p);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = call(bus, m, &e, &reply);
        if (r < 0)
                report("AttachMany", r, &e);
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return r;
}

static int do_attach_many(sd_bus *bus, char **netns, unsigned n, unsigned per, const Prog *p) {
        return do_attach_many_to(bus, DEST, netns, n, per, p);
}

static int do_detach_many_to(sd_bus *bus, const char *dest, char **netns, unsigned n, unsigned per) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        char name[32];
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, PATH, IFACE, "DetachMany");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sss)");
        for (unsigned i = 0; r >= 0 && i < n; i++)
                for (unsigned k = 0; r >= 0 && k < per; k++) {
                        snprintf(name, sizeof(name), "b%u", k);
                        r = sd_bus_message_append(m, "(sss)", netns[i], "sk_lookup", name);
                }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = call(bus, m, &e, NULL);
        if (r < 0)
                report("DetachMany", r, &e);
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        return r;
}

/* ListLinks(""): the number of links, or a negative errno. */
static int do_list(sd_bus *bus, bool quiet) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r, n = 0;

        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "ListLinks", &e, &reply, "s", "");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        while (r >= 0 && (r = sd_bus_message_skip(reply, "a{sv}")) > 0)
                n++;
        if (r < 0 && !quiet)
                report("ListLinks", r, &e);
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        return r < 0 ? r : n;
}

static sd_bus *bus_open(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);

        if (r < 0) {
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        return bus;
}

/* ---- mknetns ---- */

static int verb_mknetns(int argc, char **argv) {
        int orig;
        unsigned n;

        if (argc != 3)
                return fprintf(stderr, "mknetns PREFIX N\n"), 2;
        n = strtoul(argv[2], NULL, 10);
        orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0)
                return perror("open netns"), 1;
        mkdir("/run/netns", 0755);
        for (unsigned i = 0; i < n; i++) {
                char path[256];
                int fd;

                snprintf(path, sizeof(path), "/run/netns/%s-%u", argv[1], i);
                if (unshare(CLONE_NEWNET) < 0)
                        return perror("unshare"), 1;
                fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
                if (fd < 0)
                        return perror(path), 1;
                close(fd);
                if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                        return perror("mount"), 1;
                printf("%s-%u\n", argv[1], i);
        }
        if (setns(orig, CLONE_NEWNET) < 0)
                return perror("setns"), 1;
        return 0;
}

/* ---- load ---- */

static int load_client(unsigned k, char **netns, unsigned n_netns, int obj_fd) {
        sd_bus *bus = bus_open();
        Prog steer = { .builtin = "steer", .fd = -1 };
        Prog p1 = { .fd = obj_fd, .program = PROG1 }, p2 = { .fd = obj_fd, .program = PROG2 };
        unsigned ops = 0, errors = 0;
        char name[32];

        snprintf(name, sizeof(name), "load-c%u", k);
        for (unsigned j = 0; ops < arg_ops; j++) {
                const char *ns = netns[(k + j) % n_netns];
                /* a third of the cycles go through builtin:steer (per-link maps) */
                const Prog *a = j % 3 == 0 ? &steer : &p1, *u = j % 3 == 1 ? &steer : &p2;

                errors += do_attach(bus, "Attach", ns, name, a, false) < 0;
                if (++ops < arg_ops) {
                        errors += do_attach(bus, "Update", ns, name, u, false) < 0;
                        ops++;
                }
                errors += do_detach(bus, ns, name) < 0;
                ops++;
        }
        sd_bus_flush_close_unref(bus);
        printf("client %u: %u operations, %u errors\n", k, ops, errors);
        fflush(stdout);
        return errors ? 1 : 0;
}

static int verb_load(int argc, char **argv) {
        unsigned n_netns, n_lat = 0, cap_lat = 1 << 16;
        char **netns = argc == 3 ? read_lines(argv[1], &n_netns) : NULL;
        double *lat = calloc(cap_lat, sizeof(double)), t0, elapsed;
        pid_t *kids = calloc(arg_clients, sizeof(pid_t));
        Prog p1;
        int obj_fd, failed = 0, running;
        long rss0, rss1;
        int fd0, fd1;
        sd_bus *bus;

        if (!netns || n_netns == 0 || !arg_daemon_pid)
                return fprintf(stderr, "load --daemon-pid=PID NETNS_FILE OBJ\n"), 2;
        obj_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (obj_fd < 0)
                return perror(argv[2]), 1;
        p1 = (Prog) { .fd = obj_fd, .program = PROG1 };
        bus = bus_open();

        /* The sampled link, and a warm-up so that the before figures include
         * the program cache and the allocator's first growth. */
        if (do_attach(bus, "Attach", netns[0], "load-probe", &p1, false) < 0)
                return 1;
        for (unsigned i = 0; i < 20; i++) {
                Prog steer = { .builtin = "steer", .fd = -1 };
                Prog p2 = { .fd = obj_fd, .program = PROG2 };
                const char *ns = netns[i % n_netns];
                if (do_attach(bus, "Attach", ns, "load-warm", i % 2 ? &steer : &p1, false) < 0 ||
                    do_attach(bus, "Update", ns, "load-warm", i % 2 ? &p2 : &steer, false) < 0 ||
                    do_detach(bus, ns, "load-warm") < 0)
                        return 1;
        }
        fd0 = count_fds(arg_daemon_pid);
        rss0 = proc_status_kib(arg_daemon_pid, "VmRSS");
        printf("daemon before: %d fds, RSS %ld KiB\n", fd0, rss0);
        fflush(stdout);

        t0 = bench_now_us();
        for (unsigned k = 0; k < arg_clients; k++) {
                kids[k] = fork();
                if (kids[k] < 0)
                        return perror("fork"), 1;
                if (kids[k] == 0)
                        _exit(load_client(k, netns, n_netns, obj_fd));
        }
        running = (int) arg_clients;
        while (running > 0) {
                double t = bench_now_us();
                int status;
                pid_t p;

                if (do_get(bus, netns[0], "load-probe") < 0)
                        failed = 1;
                if (n_lat < cap_lat)
                        lat[n_lat++] = (bench_now_us() - t) / 1000;
                usleep(2000);
                while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                        running--;
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                failed = 1;
                }
        }
        elapsed = bench_now_us() - t0;
        if (do_detach(bus, netns[0], "load-probe") < 0)
                failed = 1;

        fd1 = count_fds(arg_daemon_pid);
        rss1 = proc_status_kib(arg_daemon_pid, "VmRSS");
        qsort(lat, n_lat, sizeof(double), bench_cmp_double);
        double p50 = lat[n_lat / 2], p99 = lat[(size_t) ((n_lat - 1) * 0.99)], max = lat[n_lat - 1];
        printf("operations: %u clients x %u = %u in %.2f s (%.0f ops/s)\n", arg_clients, arg_ops,
               arg_clients * arg_ops, elapsed / 1e6, arg_clients * arg_ops / (elapsed / 1e6));
        printf("GetLink latency meanwhile (%u samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               n_lat, p50, p99, max);
        if (arg_max_p99_ms > 0)
                printf("  target p99 < %.0f ms\n", arg_max_p99_ms);
        printf("daemon after:  %d fds, RSS %ld KiB (fds %+d, RSS %+ld KiB)\n", fd1, rss1, fd1 - fd0, rss1 - rss0);
        if (arg_max_p99_ms > 0 && p99 >= arg_max_p99_ms) {
                printf("FAIL: GetLink p99 %.2f ms >= %.0f ms\n", p99, arg_max_p99_ms);
                failed = 1;
        }
        if (fd1 > fd0) {
                printf("FAIL: the daemon's fd count grew from %d to %d\n", fd0, fd1);
                failed = 1;
        }
        if (arg_max_rss_growth_kib >= 0 && rss1 - rss0 > arg_max_rss_growth_kib) {
                printf("FAIL: the daemon's RSS grew by %ld KiB (> %ld KiB)\n", rss1 - rss0, arg_max_rss_growth_kib);
                failed = 1;
        }
        sd_bus_flush_close_unref(bus);
        lines_free(netns, n_netns);
        free(lat);
        free(kids);
        close(obj_fd);
        return failed;
}

/* ---- bench ---- */

/* One way to reach a server: a connection, the name to send to (NULL on a
 * direct connection, where the server is the peer) and the server's pid,
 * for its CPU time. */
typedef struct Endpoint {
        sd_bus *bus;
        const char *dest;
        pid_t pid;
} Endpoint;

/* A transport: netnslinkd and the no-op server, reached the same way. */
typedef struct Transport {
        const char *label;
        bool used;
        pid_t bus_pid;          /* the bus daemon; 0 on a direct socket */
        Endpoint daemon, floor;
        const char *setb_link;  /* a builtin:steer link of the daemon's, for SetBindings */
} Transport;

enum { T_DBUS_DAEMON, T_BROKER, T_PRIVATE, _T_MAX };

static const char *arg_broker, *arg_private, *arg_private_floor;
static pid_t arg_broker_pid, arg_broker_daemon_pid, arg_broker_floor_pid, arg_private_floor_pid;
static unsigned arg_set_bindings = 100000;
static const char *arg_transports = "dbus-daemon,dbus-broker,private";  /* --transports=, to profile one */

static bool transport_wanted(const char *name) {
        size_t n = strlen(name);

        for (const char *p = arg_transports; (p = strstr(p, name)); p += n)
                if ((p == arg_transports || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
                        return true;
        return false;
}

/* CPU time a process spent, in ns (/proc/PID/schedstat, first field), or
 * -1: which share of a call is the server's own work, which the bus's. */
static double cpu_ns(pid_t pid) {
        char path[64];
        double v = -1;
        FILE *f;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (fscanf(f, "%lf", &v) != 1)
                v = -1;
        fclose(f);
        return v;
}

/* Every server and bus daemon of the run, for settle(). */
static pid_t watched[3 * _T_MAX];
static unsigned n_watched;

static void watch_pid(pid_t pid) {
        for (unsigned i = 0; i < n_watched; i++)
                if (watched[i] == pid)
                        return;
        if (pid > 0 && n_watched < 3 * _T_MAX)
                watched[n_watched++] = pid;
}

/* Waits until the servers and the buses are idle: what the previous phase
 * left to do after its replies (signals go out after the reply) is not
 * charged to the next one. */
static void settle(void) {
        double before[3 * _T_MAX], now;

        for (unsigned k = 0; k < n_watched; k++)
                before[k] = cpu_ns(watched[k]);
        for (int i = 0; n_watched > 0; i++) {
                bool idle = true;

                if (i == 200) {
                        fprintf(stderr, "warning: the servers or the buses still busy after 1 s; measuring anyway\n");
                        break;
                }
                usleep(5000);
                for (unsigned k = 0; k < n_watched; k++) {
                        now = cpu_ns(watched[k]);
                        idle = idle && now == before[k];
                        before[k] = now;
                }
                if (idle)
                        break;
        }
        /* And 20 ms for the kernel's deferred work of the last phase (links
         * and programs freed after an RCU grace period), so that it lands
         * before, not in, the next one. */
        usleep(20000);
}

/* One cell of the table: per round, wall time and the CPU time of the
 * server and of the bus daemon, us per operation (-1: unknown). */
typedef struct Cell {
        double wall[16], server[16], bus[16], client[16];
} Cell;

/* This process's CPU time, in us: with the server's and the bus's, what a
 * call costs on an idle machine, whatever the load of this one. */
static double self_cpu_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* Client + server + bus CPU of a cell's round, us per op. */
static double cell_cpu(const Cell *c, unsigned round) {
        return c->client[round] + (c->server[round] > 0 ? c->server[round] : 0) +
               (c->bus[round] > 0 ? c->bus[round] : 0);
}

typedef struct Span {
        double wall, server, bus, client;
        pid_t server_pid, bus_pid;
} Span;

static Span span_start(const Endpoint *e, const Transport *t) {
        settle();
        return (Span) { bench_now_us(), cpu_ns(e->pid), cpu_ns(t->bus_pid), self_cpu_us(), e->pid, t->bus_pid };
}

/* Ends a span of n operations into the cell's round. */
static void span_end(const Span *s, unsigned n, Cell *c, unsigned round) {
        double d = cpu_ns(s->server_pid), b = cpu_ns(s->bus_pid);

        c->wall[round] = (bench_now_us() - s->wall) / n;
        c->client[round] = (self_cpu_us() - s->client) / n;
        c->server[round] = d >= 0 && s->server >= 0 ? (d - s->server) / 1000 / n : -1;
        c->bus[round] = b >= 0 && s->bus >= 0 ? (b - s->bus) / 1000 / n : -1;
}

/* Rows measured per transport. */
enum {
        R_PING, R_FLOOR_ATTACH, R_FLOOR_DETACH, R_FLOOR_ATTACH_MANY, R_FLOOR_DETACH_MANY, R_ATTACH, R_ATTACH_FD,
        R_DETACH, R_ATTACH_MANY, R_DETACH_MANY, R_SETB_NEW, R_SETB_OTHER, _R_MAX
};

static const char *const row_names[_R_MAX] = {
        [R_PING] = "Peer.Ping to netnslinkd",
        [R_FLOOR_ATTACH] = "no-op server: Attach-shaped call",
        [R_FLOOR_DETACH] = "no-op server: Detach-shaped call",
        [R_FLOOR_ATTACH_MANY] = "no-op server: AttachMany-shaped, per link",
        [R_FLOOR_DETACH_MANY] = "no-op server: DetachMany-shaped, per link",
        [R_ATTACH] = "Attach (object_path)",
        [R_ATTACH_FD] = "Attach (object_fd)",
        [R_DETACH] = "Detach",
        [R_ATTACH_MANY] = "AttachMany of all in one call, per link",
        [R_DETACH_MANY] = "DetachMany of all in one call, per link",
        [R_SETB_NEW] = "SetBindings of N into an empty link, ms",
        [R_SETB_OTHER] = "SetBindings of N replacing N others, ms",
};

static int direct_attach(char **netns, unsigned n, int prog_fd, Cell *ret, unsigned round) {
        double t0 = bench_now_us(), c0 = self_cpu_us();

        for (unsigned i = 0; i < n; i++) {
                char path[4096];
                int ns, link;

                snprintf(path, sizeof(path), "/run/netns/%s", netns[i]);
                ns = open(path, O_RDONLY | O_CLOEXEC);
                if (ns < 0)
                        return perror(path), -errno;
                link = bpf_link_create(prog_fd, ns, BPF_SK_LOOKUP, NULL);
                close(ns);
                if (link < 0)
                        return fprintf(stderr, "bpf_link_create: %s\n", strerror(-link)), link;
                snprintf(path, sizeof(path), "%s/direct-%u", arg_pin_dir, i);
                if (bpf_obj_pin(link, path) < 0) {
                        close(link);
                        return perror("bpf_obj_pin"), -errno;
                }
                close(link);
        }
        ret->wall[round] = (bench_now_us() - t0) / n;
        ret->client[round] = (self_cpu_us() - c0) / n;
        return 0;
}

static int direct_detach(unsigned n, Cell *ret, unsigned round) {
        double t0 = bench_now_us(), c0 = self_cpu_us();

        for (unsigned i = 0; i < n; i++) {
                char path[4096];
                int link;

                snprintf(path, sizeof(path), "%s/direct-%u", arg_pin_dir, i);
                link = bpf_obj_get(path);
                if (link < 0)
                        return perror("bpf_obj_get"), -errno;
                (void) bpf_link_detach(link);
                close(link);
                unlink(path);
        }
        ret->wall[round] = (bench_now_us() - t0) / n;
        ret->client[round] = (self_cpu_us() - c0) / n;
        return 0;
}

static int set_bindings_call(const Endpoint *e, const char *netns, const char *link, const BenchBinding *b,
                             size_t n, Cell *c, const Transport *t, unsigned round) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        Span sp;
        int r;

        r = bench_set_bindings_message(e->bus, e->dest, netns, link, b, n, &m);
        if (r < 0)
                return r;
        if (c)
                sp = span_start(e, t);
        r = sd_bus_call(e->bus, m, 600ULL * 1000 * 1000, &err, NULL);
        if (c && r >= 0)
                span_end(&sp, 1, c, round);
        if (r < 0)
                report("SetBindings", r, &err);
        sd_bus_error_free(&err);
        sd_bus_message_unref(m);
        return r;
}

typedef struct BenchRun {
        char **netns;
        unsigned n;
        Prog by_path, by_fd;
        BenchBinding *set_a, *set_b;
} BenchRun;

/* AttachMany of every netns, then DetachMany of them, to e. object_path:
 * a message carries at most 253 fds (SCM_MAX_FD), so an object_fd per
 * element cannot batch 300. */
static int bench_many(const BenchRun *b, const Endpoint *e, const Transport *t, Cell *attach, Cell *detach,
                      unsigned round) {
        Span sp;

        sp = span_start(e, t);
        if (do_attach_many_to(e->bus, e->dest, b->netns, b->n, 1, &b->by_path) < 0)
                return -EIO;
        span_end(&sp, b->n, attach, round);
        sp = span_start(e, t);
        if (do_detach_many_to(e->bus, e->dest, b->netns, b->n, 1) < 0)
                return -EIO;
        span_end(&sp, b->n, detach, round);
        return 0;
}

/* One round of every row of transport t. */
static int bench_transport(const BenchRun *b, Transport *t, Cell cells[_R_MAX], unsigned round) {
        const Endpoint *d = &t->daemon, *f = &t->floor;
        char **netns = b->netns;
        unsigned n = b->n;
        Span sp;

        sp = span_start(d, t);
        for (unsigned i = 0; i < n; i++)
                if (do_ping_to(d->bus, d->dest) < 0)
                        return -EIO;
        span_end(&sp, n, &cells[R_PING], round);

        sp = span_start(f, t);
        for (unsigned i = 0; i < n; i++)
                if (do_attach_to(f->bus, f->dest, "Attach", netns[i], "b0", &b->by_path, false) < 0)
                        return -EIO;
        span_end(&sp, n, &cells[R_FLOOR_ATTACH], round);
        sp = span_start(f, t);
        for (unsigned i = 0; i < n; i++)
                if (do_detach_to(f->bus, f->dest, netns[i], "b0") < 0)
                        return -EIO;
        span_end(&sp, n, &cells[R_FLOOR_DETACH], round);
        if (bench_many(b, f, t, &cells[R_FLOOR_ATTACH_MANY], &cells[R_FLOOR_DETACH_MANY], round) < 0)
                return -EIO;

        for (int fd_round = 0; fd_round < 2; fd_round++) {
                Cell discard;

                sp = span_start(d, t);
                for (unsigned i = 0; i < n; i++)
                        if (do_attach_to(d->bus, d->dest, "Attach", netns[i], "b0",
                                         fd_round ? &b->by_fd : &b->by_path, false) < 0)
                                return -EIO;
                span_end(&sp, n, &cells[fd_round ? R_ATTACH_FD : R_ATTACH], round);
                sp = span_start(d, t);
                for (unsigned i = 0; i < n; i++)
                        if (do_detach_to(d->bus, d->dest, netns[i], "b0") < 0)
                                return -EIO;
                span_end(&sp, n, fd_round == 0 ? &cells[R_DETACH] : &discard, round);
        }

        if (bench_many(b, d, t, &cells[R_ATTACH_MANY], &cells[R_DETACH_MANY], round) < 0)
                return -EIO;

        if (arg_set_bindings == 0)
                return 0;
        /* Emptied first (not timed), so that the first set is a new one. */
        if (set_bindings_call(d, netns[0], t->setb_link, NULL, 0, NULL, t, round) < 0 ||
            set_bindings_call(d, netns[0], t->setb_link, b->set_a, arg_set_bindings, &cells[R_SETB_NEW], t,
                              round) < 0 ||
            set_bindings_call(d, netns[0], t->setb_link, b->set_b, arg_set_bindings, &cells[R_SETB_OTHER], t,
                              round) < 0)
                return -EIO;
        return 0;
}

static int transports_open(Transport t[_T_MAX]) {
        int r;

        t[T_DBUS_DAEMON] = (Transport) {
                .label = "dbus-daemon", .used = transport_wanted("dbus-daemon"), .bus_pid = arg_bus_pid, .setb_link = "setb-bus",
                .daemon = { .dest = DEST, .pid = arg_daemon_pid },
                .floor = { .dest = FLOOR_NAME, .pid = arg_floor_pid },
        };
        r = sd_bus_open_system(&t[T_DBUS_DAEMON].daemon.bus);
        if (r < 0)
                return fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r)), r;
        t[T_DBUS_DAEMON].floor.bus = sd_bus_ref(t[T_DBUS_DAEMON].daemon.bus);

        t[T_BROKER] = (Transport) {
                .label = "dbus-broker", .used = arg_broker && transport_wanted("dbus-broker"), .bus_pid = arg_broker_pid, .setb_link = "setb-broker",
                .daemon = { .dest = DEST, .pid = arg_broker_daemon_pid },
                .floor = { .dest = FLOOR_NAME, .pid = arg_broker_floor_pid },
        };
        if (t[T_BROKER].used) {
                NlBusTarget target = { .kind = NL_BUS_SYSTEM };

                snprintf(target.address, sizeof(target.address), "%s", arg_broker);
                r = nl_bus_open_target(&target, &t[T_BROKER].daemon.bus);
                if (r < 0)
                        return fprintf(stderr, "Cannot connect to dbus-broker at %s: %s\n", arg_broker,
                                       strerror(-r)), r;
                t[T_BROKER].floor.bus = sd_bus_ref(t[T_BROKER].daemon.bus);
        }

        /* The same daemon as on dbus-daemon, through its private socket. */
        t[T_PRIVATE] = (Transport) {
                .label = "private socket", .used = arg_private && transport_wanted("private"), .setb_link = "setb-private",
                .daemon = { .pid = arg_daemon_pid },
                .floor = { .pid = arg_private_floor_pid },
        };
        if (t[T_PRIVATE].used) {
                r = nl_bus_open_direct(arg_private, &t[T_PRIVATE].daemon.bus);
                if (r < 0)
                        return fprintf(stderr, "Cannot connect to %s: %s\n", arg_private, strerror(-r)), r;
                r = nl_bus_open_direct(arg_private_floor, &t[T_PRIVATE].floor.bus);
                if (r < 0)
                        return fprintf(stderr, "Cannot connect to the no-op server at %s: %s\n", arg_private_floor,
                                       strerror(-r)), r;
        }
        for (int i = 0; i < _T_MAX; i++)
                if (t[i].used) {
                        watch_pid(t[i].daemon.pid);
                        watch_pid(t[i].floor.pid);
                        watch_pid(t[i].bus_pid);
                }
        return 0;
}

static void transports_close(Transport t[_T_MAX]) {
        for (int i = 0; i < _T_MAX; i++) {
                if (t[i].daemon.bus)
                        sd_bus_flush_close_unref(t[i].daemon.bus);
                if (t[i].floor.bus)
                        sd_bus_flush_close_unref(t[i].floor.bus);
        }
}

/* The daemon loads and caches the program once, and makes the link that
 * SetBindings fills. */
static int transport_prepare(const BenchRun *b, const Transport *t, bool undo) {
        const Endpoint *d = &t->daemon;
        Prog steer = { .builtin = "steer", .fd = -1 };

        if (undo)
                return arg_set_bindings ? do_detach_to(d->bus, d->dest, b->netns[0], t->setb_link) : 0;
        if (do_attach_to(d->bus, d->dest, "Attach", b->netns[0], "b0", &b->by_path, false) < 0 ||
            do_detach_to(d->bus, d->dest, b->netns[0], "b0") < 0)
                return -EIO;
        if (arg_set_bindings && do_attach_to(d->bus, d->dest, "Attach", b->netns[0], t->setb_link, &steer, false) < 0)
                return -EIO;
        return 0;
}

/* The figures, as ratios taken within each round and their median: the
 * rounds' loads differ, a ratio within one round does not. */
typedef struct Target {
        const char *name;
        int row, floor_row;     /* floor_row: the no-op server's row of the same shape */
        bool per_call;          /* floor: direct + Ping; otherwise the direct loop */
        bool attach;
        double max;
} Target;

static const Target targets[] = {
        { "Attach / (direct attach + Ping)", R_ATTACH, R_FLOOR_ATTACH, true, true, 1.5 },
        { "Attach(fd) / (direct attach + Ping)", R_ATTACH_FD, R_FLOOR_ATTACH, true, true, 1.5 },
        { "Detach / (direct detach + Ping)", R_DETACH, R_FLOOR_DETACH, true, false, 1.5 },
        { "AttachMany / direct attach loop", R_ATTACH_MANY, R_FLOOR_ATTACH_MANY, false, true, 1.5 },
        { "DetachMany / direct detach loop", R_DETACH_MANY, R_FLOOR_DETACH_MANY, false, false, 1.5 },
};

static double target_ratio(const Target *g, const Cell *cells, const Cell *da, const Cell *dd, unsigned round,
                           bool floor, bool cpu) {
        const Cell *d = g->attach ? da : dd;
        double direct = cpu ? d->client[round] : d->wall[round];
        double ping = cpu ? cell_cpu(&cells[R_PING], round) : cells[R_PING].wall[round];
        double base = g->per_call ? direct + ping : direct;
        const Cell *c = &cells[floor ? g->floor_row : g->row];
        double v = cpu ? cell_cpu(c, round) : c->wall[round];

        /* The no-op server's call stands for the daemon's call with nothing
         * done: direct work + it is what the daemon could reach at best. */
        return (floor ? v + direct : v) / base;
}

/* The median of n values of v, which stays as it was. */
static double median_of(const double *v, unsigned n) {
        double copy[16];

        memcpy(copy, v, n * sizeof(double));
        return bench_median(copy, n);
}

static void print_header(const Transport *t, const char *title, const char *last) {
        printf("  %-48s", title);
        for (int i = 0; i < _T_MAX; i++)
                printf(" %15s", t[i].label);
        printf("%s\n", last);
}

/* One ratio row per target (and one for its floor), wall or CPU; the
 * verdict for the private socket, which the targets are for. */
static void print_ratios(const Transport *t, Cell cells[_T_MAX][_R_MAX], const Cell *da, const Cell *dd, bool cpu) {
        double v[16];

        for (size_t k = 0; k < ELEMENTSOF(targets); k++)
                for (int floor = 0; floor < 2; floor++) {
                        const Target *g = &targets[k];
                        double med[_T_MAX] = {};

                        if (floor && g->row == R_ATTACH_FD)
                                continue;
                        printf("  %-48s", floor ? "  floor: no-op server's call + direct" : g->name);
                        for (int i = 0; i < _T_MAX; i++) {
                                if (!t[i].used) {
                                        printf(" %15s", "-");
                                        continue;
                                }
                                for (unsigned round = 0; round < arg_rounds; round++)
                                        v[round] = target_ratio(g, cells[i], da, dd, round, floor, cpu);
                                med[i] = bench_median(v, arg_rounds);
                                printf(" %14.2fx", med[i]);
                        }
                        if (!floor && t[T_PRIVATE].used)
                                printf("  <= %.1fx %s", g->max, med[T_PRIVATE] <= g->max ? "PASS" : "MISS");
                        printf("\n");
                }
}

static void print_set_bindings(const Transport *t, Cell cells[_T_MAX][_R_MAX], int row, const char *name) {
        printf("  %-48s", name);
        for (int i = 0; i < _T_MAX; i++)
                if (t[i].used)
                        printf(" %14.3fs", median_of(cells[i][row].wall, arg_rounds) / 1e6);
                else
                        printf(" %15s", "-");
        if (t[T_PRIVATE].used) {
                double sec = median_of(cells[T_PRIVATE][row].wall, arg_rounds) / 1e6;
                printf("  <= 1 s   %s", sec <= 1 ? "PASS" : "MISS");
        }
        printf("\n");
}

static void print_table(const BenchRun *b, Transport *t, Cell cells[_T_MAX][_R_MAX], const Cell *da, const Cell *dd) {
        printf("%u netns, %u rounds (transports in turn, the first rotating); median of the rounds, us per op:\n",
               b->n, arg_rounds);
        printf("  %-48s %9s %9s\n", "", "wall", "CPU");
        printf("  %-48s %9.1f %9.1f\n", "direct libbpf: open netns + link_create + pin + close",
               median_of(da->wall, arg_rounds), median_of(da->client, arg_rounds));
        printf("  %-48s %9.1f %9.1f\n", "direct libbpf: obj_get + link_detach + close + unlink",
               median_of(dd->wall, arg_rounds), median_of(dd->client, arg_rounds));
        for (int cpu = 0; cpu < 2; cpu++) {
                print_header(t, cpu ? "CPU: client+server+bus daemon" : "wall", "");
                for (int r = 0; r < _R_MAX; r++) {
                        bool ms = r == R_SETB_NEW || r == R_SETB_OTHER;
                        double scale = ms ? 1000 : 1;
                        char name[64];

                        if (ms && arg_set_bindings == 0)
                                continue;
                        snprintf(name, sizeof(name), "%s", row_names[r]);
                        if (ms)
                                snprintf(name, sizeof(name), "SetBindings of %u %s, ms", arg_set_bindings,
                                         r == R_SETB_NEW ? "into an empty link" : "replacing as many");
                        printf("  %-48s", name);
                        for (int i = 0; i < _T_MAX; i++) {
                                const Cell *c = &cells[i][r];
                                char f[48] = "-";

                                if (t[i].used && !cpu)
                                        snprintf(f, sizeof(f), "%.1f", median_of(c->wall, arg_rounds) / scale);
                                else if (t[i].used)
                                        snprintf(f, sizeof(f), "%.0f+%.0f+%.0f", median_of(c->client, arg_rounds) / scale,
                                                 c->server[0] >= 0 ? median_of(c->server, arg_rounds) / scale : 0,
                                                 c->bus[0] >= 0 ? median_of(c->bus, arg_rounds) / scale : 0);
                                printf(" %15s", f);
                        }
                        printf("\n");
                }
        }
        print_header(t, "ratios, wall (median of the rounds' ratios)", "  target (private socket)");
        print_ratios(t, cells, da, dd, false);
        if (arg_set_bindings) {
                print_set_bindings(t, cells, R_SETB_NEW, "SetBindings into an empty link, s");
                print_set_bindings(t, cells, R_SETB_OTHER, "SetBindings replacing as many, s");
        }
        /* A loaded machine stretches wall times by its run queue, not by
         * the work: the sum of the CPU times is what an idle one would
         * show, and the same ratios of it say whether the work fits. */
        print_header(t, "ratios, CPU (client+server+bus; idle estimate)", "");
        print_ratios(t, cells, da, dd, true);
}

static int verb_bench(int argc, char **argv) {
        static Cell cells[_T_MAX][_R_MAX];
        Transport t[_T_MAX] = {};
        Cell da = {}, dd = {};
        struct bpf_object *obj;
        struct bpf_program *prog;
        BenchRun b = {};
        int obj_fd, r = 1;

        b.netns = argc == 3 ? read_lines(argv[1], &b.n) : NULL;
        if (!b.netns || b.n == 0 || !arg_pin_dir || (arg_private && !arg_private_floor))
                return fprintf(stderr, "bench --pin-dir=DIR [--private=PATH --private-floor=PATH] "
                                       "[--broker=ADDRESS] NETNS_FILE OBJ\n"), 2;
        obj = bpf_object__open_file(argv[2], NULL);
        if (!obj || bpf_object__load(obj) < 0)
                return fprintf(stderr, "Cannot load %s\n", argv[2]), 1;
        prog = bpf_object__find_program_by_name(obj, PROG1);
        obj_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (!prog || obj_fd < 0)
                return fprintf(stderr, "No program " PROG1 " in %s\n", argv[2]), 1;
        b.by_path = (Prog) { .fd = -1, .path = argv[2], .program = PROG1 };
        b.by_fd = (Prog) { .fd = obj_fd, .program = PROG1 };
        if (arg_set_bindings) {
                b.set_a = calloc(arg_set_bindings, sizeof(BenchBinding));
                b.set_b = calloc(arg_set_bindings, sizeof(BenchBinding));
                if (!b.set_a || !b.set_b)
                        return fprintf(stderr, "out of memory\n"), 1;
                bench_make_bindings(b.set_a, arg_set_bindings, 0x5bd1e995);
                bench_make_bindings(b.set_b, arg_set_bindings, 0x1b873593);
        }
        if (transports_open(t) < 0)
                goto out;
        for (int i = 0; i < _T_MAX; i++)
                if (t[i].used && transport_prepare(&b, &t[i], false) < 0)
                        goto out;

        for (unsigned round = 0; round < arg_rounds; round++) {
                /* The direct loops too start once the previous phase's
                 * signals are routed: they would slow the loop down and so
                 * flatter every ratio. */
                settle();
                if (direct_attach(b.netns, b.n, bpf_program__fd(prog), &da, round) < 0)
                        goto out;
                settle();
                if (direct_detach(b.n, &dd, round) < 0)
                        goto out;
                for (int k = 0; k < _T_MAX; k++) {
                        int i = (int) ((k + round) % _T_MAX);

                        for (int c = 0; c < _R_MAX; c++)
                                cells[i][c].server[round] = cells[i][c].bus[round] = -1;
                        if (t[i].used && bench_transport(&b, &t[i], cells[i], round) < 0)
                                goto out;
                }
        }
        print_table(&b, t, cells, &da, &dd);
        r = 0;
        for (int i = 0; i < _T_MAX; i++)
                if (t[i].used && transport_prepare(&b, &t[i], true) < 0)
                        r = 1;
out:
        transports_close(t);
        bpf_object__close(obj);
        lines_free(b.netns, b.n);
        free(b.set_a);
        free(b.set_b);
        close(obj_fd);
        return r;
}

/* ---- floor-server ---- */

/* The floor: a server on the same bus that answers Attach with a link
 * dictionary like netnslinkd's (same keys, same sizes) and Detach with
 * nothing, each followed by its signal (the Many calls likewise per
 * element), and does no work at all. What a
 * call to it costs is the bus's share of a call to the daemon: the
 * marshalling and routing of these message shapes. */
static int floor_dict(sd_bus_message *m, const char *netns, const char *name) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                                          "netns", "s", netns, "netns_ino", "t", (uint64_t) 4026532248ULL,
                                          "attach_type", "s", "sk_lookup", "name", "s", name,
                                          "link_id", "u", 123456, "prog_id", "u", 654321,
                                          "prog_name", "s", PROG1, "prog_tag", "s", "0123456789abcdef",
                                          "pin_path", "s", "/sys/fs/bpf/netnslinkd/4026532248/sk_lookup/b0",
                                          "defunct", "b", 0, "order", "u", 0,
                                          "source", "s", "sha256:2c40a27e23602c40a27e23602c40a27e23602c40a27e"
                                                         "23602c40a27e2360abcd:" PROG1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* A floor must be a lower bound, so its signals go the cheapest way
 * measured here: a single call's right behind its reply (one sent a loop
 * iteration later, as the daemon does, cost more), a batch's after the
 * reply, FLOOR_CHUNK at a time whenever no call waits (all at once, they
 * slowed the reply's way to the client). */
#define FLOOR_CHUNK 32

/* A batch's signals still to send: the names point into its request,
 * which is kept until the last one is out. */
static struct {
        sd_bus_message *call;
        const char *member;
        const char **names;     /* netns, name, netns, name, ... */
        size_t n, head;
} floor_pending;

/* On a direct socket the daemon signals only peers that called Subscribe,
 * which the bench does not: there the floor sends none either. */
static bool floor_signals = true;

static int floor_send_signal(sd_bus *bus, const char *member, const char *netns, const char *name) {
        sd_bus_message *sig = NULL;
        int r;

        if (!floor_signals)
                return 0;
        r = sd_bus_message_new_signal(bus, &sig, PATH, IFACE, member);

        if (r >= 0)
                r = floor_dict(sig, netns, name);
        if (r >= 0)
                r = sd_bus_send(bus, sig, NULL);
        sd_bus_message_unref(sig);
        return r;
}

static int floor_flush_chunk(sd_bus *bus) {
        size_t end = floor_pending.n - floor_pending.head > FLOOR_CHUNK ? floor_pending.head + FLOOR_CHUNK
                                                                         : floor_pending.n;
        int r = 0;

        for (size_t i = floor_pending.head; r >= 0 && i < end; i++)
                r = floor_send_signal(bus, floor_pending.member, floor_pending.names[2 * i],
                                      floor_pending.names[2 * i + 1]);
        floor_pending.head = end;
        if (r < 0 || end == floor_pending.n) {
                sd_bus_message_unref(floor_pending.call);
                free(floor_pending.names);
                floor_pending.call = NULL;
                floor_pending.names = NULL;
                floor_pending.n = floor_pending.head = 0;
        }
        return r;
}

static int floor_attach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        const char *netns, *type, *name;
        int r = sd_bus_message_read(m, "sss", &netns, &type, &name);

        if (r >= 0)
                r = sd_bus_message_skip(m, "a{sv}");
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = floor_dict(reply, netns, name);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r < 0 ? r : floor_send_signal(sd_bus_message_get_bus(m), "LinkAttached", netns, name);
}

static int floor_detach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *netns, *type, *name;
        int r = sd_bus_message_read(m, "sss", &netns, &type, &name);

        if (r >= 0)
                r = sd_bus_reply_method_return(m, NULL);
        return r < 0 ? r : floor_send_signal(sd_bus_message_get_bus(m), "LinkDetached", netns, name);
}

/* AttachMany and DetachMany: every element read, one dictionary per element
 * in the reply (AttachMany), then one signal per element. */
static int floor_many(sd_bus_message *m, bool attach) {
        sd_bus_message *reply = NULL;
        const char *netns, *type, *name;
        char **names = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', attach ? "(sssa{sv})" : "(sss)");
        if (r >= 0 && attach)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', attach ? "sssa{sv}" : "sss")) > 0) {
                char **v = reallocarray(names, 2 * (n + 1), sizeof(char *));
                if (!v) {
                        r = -ENOMEM;
                        break;
                }
                names = v;
                r = sd_bus_message_read(m, "sss", &netns, &type, &name);
                if (r >= 0 && attach)
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0 && attach)
                        r = floor_dict(reply, netns, name);
                if (r >= 0) {
                        names[2 * n] = (char *) netns;
                        names[2 * n + 1] = (char *) name;
                        n++;
                }
        }
        if (r >= 0 && attach)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        if (r < 0) {
                free(names);
                return r;
        }
        /* One batch at a time: what a previous one left goes out first.
         * The reply is out: a failure here must not make sd-bus send an
         * error reply to the same call. */
        while (floor_pending.n > 0)
                if (floor_flush_chunk(sd_bus_message_get_bus(m)) < 0)
                        fprintf(stderr, "floor-server: cannot send a signal\n");
        if (n > 0 && floor_signals) {
                floor_pending.call = sd_bus_message_ref(m);
                floor_pending.member = attach ? "LinkAttached" : "LinkDetached";
                floor_pending.names = (const char **) names;
                floor_pending.n = n;
                names = NULL;
        }
        free(names);
        return r;
}

static int floor_attach_many(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return floor_many(m, true);
}

static int floor_detach_many(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return floor_many(m, false);
}

static const sd_bus_vtable floor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Attach", "sssa{sv}", "a{sv}", floor_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Detach", "sss", "", floor_detach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("AttachMany", "a(sssa{sv})", "aa{sv}", floor_attach_many, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("DetachMany", "a(sss)", "", floor_detach_many, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static const char *arg_listen, *arg_address;

/* Serves one connection until it ends (the server's loop on a bus or on a
 * direct socket). */
static int floor_serve(sd_bus *bus) {
        int r;

        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r == 0 && floor_pending.n > 0)
                        r = floor_flush_chunk(bus);
                else if (r == 0 && sd_bus_is_open(bus) <= 0)
                        return 0;
                else if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return -EIO;
                if (r == -ECONNRESET || r == -ENOTCONN)
                        return 0;
                if (r < 0)
                        return r;
        }
}

/* A socket at path, made under another name and renamed once it listens:
 * whoever sees path can connect. */
static int floor_listen(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char tmp[sizeof(sa.sun_path)];
        int fd;

        if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, tmp);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(tmp);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 || rename(tmp, path) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* --listen=PATH: the same answers on a direct socket, a server bus per
 * connection as netnslinkd's private socket has, one connection at a time. */
static int floor_server_listen(void) {
        int fd = floor_listen(arg_listen), r;

        floor_signals = false;
        if (fd < 0)
                return fprintf(stderr, "floor-server: %s: %s\n", arg_listen, strerror(-fd)), 1;
        for (;;) {
                sd_bus *bus = NULL;
                sd_id128_t id;
                int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (c < 0)
                        return perror("accept"), 1;
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_fd(bus, c, c);
                if (r >= 0)
                        r = sd_id128_randomize(&id);
                if (r >= 0)
                        r = sd_bus_set_server(bus, true, id);
                if (r >= 0)
                        r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, floor_vtable, NULL);
                if (r >= 0)
                        r = sd_bus_start(bus);
                if (r >= 0)
                        r = floor_serve(bus);
                if (r < 0)
                        fprintf(stderr, "floor-server: a connection: %s\n", strerror(-r));
                if (bus)
                        sd_bus_flush_close_unref(bus);
                else
                        close(c);
        }
}

/* Serves until killed. The bus must let it own FLOOR_NAME (run.sh adds
 * that rule to the bench's bus). --address=ADDRESS: that bus instead of the
 * system bus (dbus-broker's, in the bench). */
static int verb_floor_server(int argc, char **argv) {
        sd_bus *bus = NULL;
        int r;

        if (arg_listen)
                return floor_server_listen();
        if (arg_address) {
                NlBusTarget target = { .kind = NL_BUS_SYSTEM };

                snprintf(target.address, sizeof(target.address), "%s", arg_address);
                r = nl_bus_open_target(&target, &bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, floor_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, FLOOR_NAME, 0);
        if (r >= 0)
                r = floor_serve(bus);
        if (r < 0)
                return fprintf(stderr, "floor-server: %s\n", strerror(-r)), 1;
        return 0;
}

/* ---- fill and restart ---- */

static int verb_fill(int argc, char **argv) {
        unsigned n, chunk;
        char **netns = argc == 3 ? read_lines(argv[1], &n) : NULL;
        Prog by_path = { .fd = -1, .path = argv[2], .program = PROG1 };
        double t0 = bench_now_us();
        sd_bus *bus;

        if (!netns)
                return fprintf(stderr, "fill [--per=N] NETNS_FILE OBJ\n"), 2;
        bus = bus_open();
        chunk = 2000 / arg_per;
        for (unsigned i = 0; i < n; i += chunk)
                if (do_attach_many(bus, netns + i, n - i < chunk ? n - i : chunk, arg_per, &by_path) < 0)
                        return 1;
        printf("attached %u links (%u netns x %u) through AttachMany in %.2f s\n", n * arg_per, n, arg_per,
               (bench_now_us() - t0) / 1e6);
        sd_bus_flush_close_unref(bus);
        lines_free(netns, n);
        return 0;
}

static int verb_restart(int argc, char **argv) {
        double t0, t_name = 0;
        sd_bus *bus;
        pid_t pid;
        int n = -1;

        if (argc < 2)
                return fprintf(stderr, "restart -- DAEMON ARGS...\n"), 2;
        bus = bus_open();
        t0 = bench_now_us();
        pid = fork();
        if (pid < 0)
                return perror("fork"), 1;
        if (pid == 0) {
                execv(argv[1], argv + 1);
                _exit(127);
        }
        /* Poll: until the daemon owns its name the bus says ServiceUnknown. */
        for (;;) {
                n = do_list(bus, true);
                if (n >= 0)
                        break;
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return fprintf(stderr, "the daemon died\n"), 1;
                if (bench_now_us() - t0 > 60e6)
                        return fprintf(stderr, "no answer within 60 s\n"), 1;
                usleep(500);
        }
        t_name = bench_now_us() - t0;
        printf("pid %d\n", pid);
        printf("restart to a full ListLinks answer: %.1f ms, %d links (target < 1000 ms)\n", t_name / 1000, n);
        t0 = bench_now_us();
        n = do_list(bus, false);
        printf("a second ListLinks of %d links: %.1f ms\n", n, (bench_now_us() - t0) / 1000);
        printf("daemon RSS %ld KiB (target < 32768 KiB), %d fds\n", proc_status_kib(pid, "VmRSS"), count_fds(pid));
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* GetLink latency while another client's call runs (tests/daemon/test-loop-latency.sh). */
static int verb_latency(int argc, char **argv) {
        size_t n = 0, cap = 1 << 16;
        double *lat = calloc(cap, sizeof(double));
        int failed = 0;
        sd_bus *bus;

        if (argc != 3 || arg_while_pid <= 0 || !lat)
                return fprintf(stderr, "latency --while-pid=PID [--max-p99-ms=MS] NETNS NAME\n"), 2;
        bus = bus_open();
        while (kill(arg_while_pid, 0) == 0 || errno == EPERM) {
                double t = bench_now_us();

                if (do_get(bus, argv[1], argv[2]) < 0)
                        failed = 1;
                if (n < cap)
                        lat[n++] = (bench_now_us() - t) / 1000;
                usleep(2000);
        }
        sd_bus_flush_close_unref(bus);
        if (n == 0) {
                free(lat);
                return fprintf(stderr, "no GetLink sample: pid %d was gone already\n", (int) arg_while_pid), 1;
        }
        qsort(lat, n, sizeof(double), bench_cmp_double);
        /* Nearest rank: of a few samples, the worst counts. */
        double p99 = lat[(n * 99 + 99) / 100 - 1];
        printf("GetLink latency (%zu samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", n, lat[n / 2], p99,
               lat[n - 1]);
        if (arg_max_p99_ms > 0 && p99 >= arg_max_p99_ms) {
                printf("FAIL: GetLink p99 %.2f ms >= %.0f ms\n", p99, arg_max_p99_ms);
                failed = 1;
        }
        free(lat);
        return failed;
}

/* The pid in text, if a process of that pid runs; else 0. */
static pid_t running_pid(const char *text) {
        char *end = NULL, proc[64];
        long pid = strtol(text, &end, 10);

        snprintf(proc, sizeof(proc), "/proc/%ld", pid);
        return end && !*end && pid > 0 && access(proc, F_OK) == 0 ? (pid_t) pid : 0;
}

int main(int argc, char **argv) {
        enum {
                ARG_CLIENTS = 0x100, ARG_OPS, ARG_DAEMON_PID, ARG_BUS_PID, ARG_FLOOR, ARG_MAX_RSS, ARG_ROUNDS, ARG_PER,
                ARG_PIN_DIR, ARG_P99, ARG_WHILE_PID, ARG_BROKER, ARG_BROKER_PID, ARG_BROKER_DAEMON_PID,
                ARG_BROKER_FLOOR, ARG_PRIVATE, ARG_PRIVATE_FLOOR, ARG_PRIVATE_FLOOR_PID, ARG_SET_BINDINGS,
                ARG_LISTEN, ARG_ADDRESS, ARG_TRANSPORTS,
        };
        static const struct option options[] = {
                { "clients", required_argument, NULL, ARG_CLIENTS },
                { "ops", required_argument, NULL, ARG_OPS },
                { "daemon-pid", required_argument, NULL, ARG_DAEMON_PID },
                { "bus-pid", required_argument, NULL, ARG_BUS_PID },
                { "floor", required_argument, NULL, ARG_FLOOR },
                { "max-rss-growth-kib", required_argument, NULL, ARG_MAX_RSS },
                { "max-p99-ms", required_argument, NULL, ARG_P99 },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "per", required_argument, NULL, ARG_PER },
                { "pin-dir", required_argument, NULL, ARG_PIN_DIR },
                { "while-pid", required_argument, NULL, ARG_WHILE_PID },
                { "broker", required_argument, NULL, ARG_BROKER },
                { "broker-pid", required_argument, NULL, ARG_BROKER_PID },
                { "broker-daemon-pid", required_argument, NULL, ARG_BROKER_DAEMON_PID },
                { "broker-floor", required_argument, NULL, ARG_BROKER_FLOOR },
                { "private", required_argument, NULL, ARG_PRIVATE },
                { "private-floor", required_argument, NULL, ARG_PRIVATE_FLOOR },
                { "private-floor-pid", required_argument, NULL, ARG_PRIVATE_FLOOR_PID },
                { "set-bindings", required_argument, NULL, ARG_SET_BINDINGS },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "transports", required_argument, NULL, ARG_TRANSPORTS },
                {}
        };
        const char *verb;
        int c;

        if (argc < 2)
                return fprintf(stderr, "nl-bus-bench mknetns|load|bench|fill|restart|latency|floor-server ...\n"), 2;
        verb = argv[1];
        argv++, argc--;
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case ARG_CLIENTS: arg_clients = strtoul(optarg, NULL, 10); break;
                case ARG_OPS: arg_ops = strtoul(optarg, NULL, 10); break;
                case ARG_DAEMON_PID: arg_daemon_pid = (pid_t) strtol(optarg, NULL, 10); break;
                case ARG_BUS_PID: arg_bus_pid = (pid_t) strtol(optarg, NULL, 10); break;
                case ARG_FLOOR:
                case ARG_BROKER_FLOOR:
                case ARG_PRIVATE_FLOOR_PID: {
                        pid_t pid = running_pid(optarg);

                        if (pid <= 0)
                                return fprintf(stderr, "%s: not the pid of a running floor-server\n", optarg), 2;
                        *(c == ARG_FLOOR ? &arg_floor_pid : c == ARG_BROKER_FLOOR ? &arg_broker_floor_pid
                                                                                   : &arg_private_floor_pid) = pid;
                        break;
                }
                case ARG_BROKER: arg_broker = optarg; break;
                case ARG_BROKER_PID: arg_broker_pid = (pid_t) strtol(optarg, NULL, 10); break;
                case ARG_BROKER_DAEMON_PID: arg_broker_daemon_pid = (pid_t) strtol(optarg, NULL, 10); break;
                case ARG_PRIVATE: arg_private = optarg; break;
                case ARG_PRIVATE_FLOOR: arg_private_floor = optarg; break;
                case ARG_SET_BINDINGS: arg_set_bindings = strtoul(optarg, NULL, 10); break;
                case ARG_LISTEN: arg_listen = optarg; break;
                case ARG_ADDRESS: arg_address = optarg; break;
                case ARG_TRANSPORTS: arg_transports = optarg; break;
                case ARG_MAX_RSS: arg_max_rss_growth_kib = strtol(optarg, NULL, 10); break;
                case ARG_P99: arg_max_p99_ms = strtod(optarg, NULL); break;
                case ARG_ROUNDS: arg_rounds = strtoul(optarg, NULL, 10); break;
                case ARG_PER: arg_per = strtoul(optarg, NULL, 10); break;
                case ARG_PIN_DIR: arg_pin_dir = optarg; break;
                case ARG_WHILE_PID: arg_while_pid = (pid_t) strtol(optarg, NULL, 10); break;
                default: return 2;
                }
        if (arg_rounds < 1 || arg_rounds > 16 || arg_per < 1 || arg_clients < 1)
                return fprintf(stderr, "bad options\n"), 2;
        argc -= optind - 1;
        argv += optind - 1;
        if (strcmp(verb, "mknetns") == 0)
                return verb_mknetns(argc, argv);
        if (strcmp(verb, "load") == 0)
                return verb_load(argc, argv);
        if (strcmp(verb, "bench") == 0)
                return verb_bench(argc, argv);
        if (strcmp(verb, "fill") == 0)
                return verb_fill(argc, argv);
        if (strcmp(verb, "restart") == 0)
                return verb_restart(argc, argv);
        if (strcmp(verb, "latency") == 0)
                return verb_latency(argc, argv);
        if (strcmp(verb, "floor-server") == 0)
                return verb_floor_server(argc, argv);
        return fprintf(stderr, "Unknown verb %s\n", verb), 2;
}
