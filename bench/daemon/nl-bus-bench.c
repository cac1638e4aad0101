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
 *                            DetachMany through the daemon, side by side
 *   fill NETNS_FILE OBJ      PER links in each netns through AttachMany
 *   restart -- DAEMON ARGS   start the daemon and time its first full
 *                            ListLinks answer; prints its pid and RSS
 *   latency NETNS NAME       GetLink of sk_lookup link NAME, every 2 ms, for as
 *                            long as --while-pid=PID runs (another client's
 *                            call); its p50, p99 and max, judged against
 *                            --max-p99-ms
 *   floor-server             answer Attach, Detach, AttachMany and DetachMany
 *                            with the daemon's message shapes and signals,
 *                            doing nothing: the bus's share (bench --floor=PID)
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "../common/bench-util.h"

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

static int do_ping(sd_bus *bus) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Peer", "Ping", &e, NULL, "");

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

static int do_detach_many(sd_bus *bus, char **netns, unsigned n, unsigned per) {
        return do_detach_many_to(bus, DEST, netns, n, per);
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

typedef struct Row {
        const char *name;
        double round[16];
        double daemon_cpu[16], bus_cpu[16];     /* us per op, -1 if unknown */
} Row;

/* CPU time a process spent, in ns (/proc/PID/schedstat, first field), or
 * -1: which share of a call is the daemon's own work, which the bus's. */
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

typedef struct Span {
        double wall, daemon, bus;
} Span;

/* The server whose CPU the next spans count: the daemon, or the no-op
 * floor server for its rows. */
static pid_t span_server;

/* Waits until the servers and the bus are idle: what the previous phase
 * left to do after its replies (signals go out after the reply) is not
 * charged to the next one. */
static void settle(void) {
        double d = cpu_ns(arg_daemon_pid), f = cpu_ns(arg_floor_pid), b = cpu_ns(arg_bus_pid);

        for (int i = 0; d >= 0 || f >= 0 || b >= 0; i++) {
                if (i == 200) {
                        fprintf(stderr, "warning: the servers or the bus still busy after 1 s; measuring anyway\n");
                        break;
                }
                usleep(5000);
                double d2 = cpu_ns(arg_daemon_pid), f2 = cpu_ns(arg_floor_pid), b2 = cpu_ns(arg_bus_pid);
                if (d2 == d && f2 == f && b2 == b)
                        break;
                d = d2, f = f2, b = b2;
        }
        /* And 20 ms for the kernel's deferred work of the last phase (links
         * and programs freed after an RCU grace period), so that it lands
         * before, not in, the next one. */
        usleep(20000);
}

static Span span_start(void) {
        settle();
        return (Span) { bench_now_us(), cpu_ns(span_server), cpu_ns(arg_bus_pid) };
}

/* Ends a span of n operations into row r's round. */
static void span_end(const Span *s, unsigned n, Row *r, unsigned round) {
        double d = cpu_ns(span_server), b = cpu_ns(arg_bus_pid);

        r->round[round] = (bench_now_us() - s->wall) / n;
        r->daemon_cpu[round] = d >= 0 && s->daemon >= 0 ? (d - s->daemon) / 1000 / n : -1;
        r->bus_cpu[round] = b >= 0 && s->bus >= 0 ? (b - s->bus) / 1000 / n : -1;
}

enum {
        R_DIRECT_ATTACH, R_DIRECT_DETACH, R_PING, R_FLOOR_ATTACH, R_FLOOR_DETACH, R_FLOOR_ATTACH_MANY,
        R_FLOOR_DETACH_MANY, R_ATTACH, R_ATTACH_FD, R_DETACH, R_ATTACH_MANY, R_DETACH_MANY, _R_MAX
};
static bool arg_floor;

static int direct_attach(char **netns, unsigned n, int prog_fd, double *ret) {
        double t0 = bench_now_us();

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
        *ret = (bench_now_us() - t0) / n;
        return 0;
}

static int direct_detach(unsigned n, double *ret) {
        double t0 = bench_now_us();

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
        *ret = (bench_now_us() - t0) / n;
        return 0;
}

static int verb_bench(int argc, char **argv) {
        Row rows[_R_MAX] = {
                [R_DIRECT_ATTACH] = { .name = "direct libbpf: open netns + link_create + pin + close" },
                [R_DIRECT_DETACH] = { .name = "direct libbpf: obj_get + link_detach + close + unlink" },
                [R_PING] = { .name = "Peer.Ping round trip to the daemon" },
                [R_FLOOR_ATTACH] = { .name = "Attach to a no-op server (same messages and signal)" },
                [R_FLOOR_DETACH] = { .name = "Detach to a no-op server (same messages and signal)" },
                [R_FLOOR_ATTACH_MANY] = { .name = "AttachMany to a no-op server, per link" },
                [R_FLOOR_DETACH_MANY] = { .name = "DetachMany to a no-op server, per link" },
                [R_ATTACH] = { .name = "Attach over the bus (object_path)" },
                [R_ATTACH_FD] = { .name = "Attach over the bus (object_fd)" },
                [R_DETACH] = { .name = "Detach over the bus" },
                [R_ATTACH_MANY] = { .name = "AttachMany of all in one call, per link" },
                [R_DETACH_MANY] = { .name = "DetachMany of all in one call, per link" },
        };
        struct bpf_object *obj;
        struct bpf_program *prog;
        unsigned n;
        char **netns = argc == 3 ? read_lines(argv[1], &n) : NULL;
        Prog by_path, by_fd;
        double med[_R_MAX];
        sd_bus *bus;
        int obj_fd, r;

        if (!netns || !arg_pin_dir)
                return fprintf(stderr, "bench --pin-dir=DIR NETNS_FILE OBJ\n"), 2;
        obj = bpf_object__open_file(argv[2], NULL);
        if (!obj || bpf_object__load(obj) < 0)
                return fprintf(stderr, "Cannot load %s\n", argv[2]), 1;
        prog = bpf_object__find_program_by_name(obj, PROG1);
        obj_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (!prog || obj_fd < 0)
                return fprintf(stderr, "No program " PROG1 " in %s\n", argv[2]), 1;
        by_path = (Prog) { .fd = -1, .path = argv[2], .program = PROG1 };
        by_fd = (Prog) { .fd = obj_fd, .program = PROG1 };
        bus = bus_open();

        span_server = arg_daemon_pid;
        /* Warm-up: the daemon loads and caches the program once. */
        if (do_attach(bus, "Attach", netns[0], "b0", &by_path, false) < 0 || do_detach(bus, netns[0], "b0") < 0)
                return 1;

        for (unsigned round = 0; round < arg_rounds; round++) {
                Span sp;

                for (int i = 0; i < _R_MAX; i++)
                        rows[i].daemon_cpu[round] = rows[i].bus_cpu[round] = -1;
                /* The direct loops too start once the previous round's
                 * signals are routed: they would slow the loop down and so
                 * flatter every ratio. */
                settle();
                if (direct_attach(netns, n, bpf_program__fd(prog), &rows[R_DIRECT_ATTACH].round[round]) < 0)
                        return 1;
                settle();
                if (direct_detach(n, &rows[R_DIRECT_DETACH].round[round]) < 0)
                        return 1;

                sp = span_start();
                for (unsigned i = 0; i < n; i++)
                        if (do_ping(bus) < 0)
                                return 1;
                span_end(&sp, n, &rows[R_PING], round);

                if (arg_floor) {
                        span_server = arg_floor_pid;
                        sp = span_start();
                        for (unsigned i = 0; i < n; i++)
                                if (do_attach_to(bus, FLOOR_NAME, "Attach", netns[i], "b0", &by_path, false) < 0)
                                        return 1;
                        span_end(&sp, n, &rows[R_FLOOR_ATTACH], round);
                        sp = span_start();
                        for (unsigned i = 0; i < n; i++)
                                if (do_detach_to(bus, FLOOR_NAME, netns[i], "b0") < 0)
                                        return 1;
                        span_end(&sp, n, &rows[R_FLOOR_DETACH], round);
                        sp = span_start();
                        if (do_attach_many_to(bus, FLOOR_NAME, netns, n, 1, &by_path) < 0)
                                return 1;
                        span_end(&sp, n, &rows[R_FLOOR_ATTACH_MANY], round);
                        sp = span_start();
                        if (do_detach_many_to(bus, FLOOR_NAME, netns, n, 1) < 0)
                                return 1;
                        span_end(&sp, n, &rows[R_FLOOR_DETACH_MANY], round);
                        span_server = arg_daemon_pid;
                }

                for (int fd_round = 0; fd_round < 2; fd_round++) {
                        Row discard = {};

                        sp = span_start();
                        for (unsigned i = 0; i < n; i++)
                                if (do_attach(bus, "Attach", netns[i], "b0", fd_round ? &by_fd : &by_path, false) < 0)
                                        return 1;
                        span_end(&sp, n, &rows[fd_round ? R_ATTACH_FD : R_ATTACH], round);
                        sp = span_start();
                        for (unsigned i = 0; i < n; i++)
                                if (do_detach(bus, netns[i], "b0") < 0)
                                        return 1;
                        span_end(&sp, n, fd_round == 0 ? &rows[R_DETACH] : &discard, round);
                }

                /* object_path: a message carries at most 253 fds (SCM_MAX_FD),
                 * so an object_fd per element cannot batch 300. */
                sp = span_start();
                if (do_attach_many(bus, netns, n, 1, &by_path) < 0)
                        return 1;
                span_end(&sp, n, &rows[R_ATTACH_MANY], round);
                sp = span_start();
                if (do_detach_many(bus, netns, n, 1) < 0)
                        return 1;
                span_end(&sp, n, &rows[R_DETACH_MANY], round);
        }

        printf("%u netns, %u rounds, median of the rounds' means, us per op%s:\n", n, arg_rounds,
               arg_daemon_pid ? " (wall; CPU of the server (netnslinkd or the no-op one), of dbus-daemon)" : "");
        for (int i = 0; i < _R_MAX; i++) {
                med[i] = bench_median(rows[i].round, arg_rounds);
                if (!arg_floor && (i == R_FLOOR_ATTACH || i == R_FLOOR_DETACH || i == R_FLOOR_ATTACH_MANY ||
                                   i == R_FLOOR_DETACH_MANY))
                        continue;
                printf("  %-56s %9.1f", rows[i].name, med[i]);
                /* Both CPU columns or neither: one missing is "-", so that
                 * a figure never slides under the other's heading. */
                if (rows[i].daemon_cpu[0] >= 0 || rows[i].bus_cpu[0] >= 0)
                        for (int k = 0; k < 2; k++) {
                                double *v = k == 0 ? rows[i].daemon_cpu : rows[i].bus_cpu;
                                if (v[0] >= 0)
                                        printf("  %7.1f", bench_median(v, arg_rounds));
                                else
                                        printf("  %7s", "-");
                        }
                printf("\n");
        }
        double floor_a = med[R_DIRECT_ATTACH] + med[R_PING], floor_d = med[R_DIRECT_DETACH] + med[R_PING];
        printf("ratios (target):\n");
        printf("  Attach / (direct attach + Ping)        %5.2fx  (<= 1.5x) %s\n", med[R_ATTACH] / floor_a,
               med[R_ATTACH] / floor_a <= 1.5 ? "ok" : "MISSED");
        printf("  Attach(fd) / (direct attach + Ping)    %5.2fx  (<= 1.5x) %s\n", med[R_ATTACH_FD] / floor_a,
               med[R_ATTACH_FD] / floor_a <= 1.5 ? "ok" : "MISSED");
        printf("  Detach / (direct detach + Ping)        %5.2fx  (<= 1.5x) %s\n", med[R_DETACH] / floor_d,
               med[R_DETACH] / floor_d <= 1.5 ? "ok" : "MISSED");
        printf("  AttachMany / direct attach loop        %5.2fx  (<= 2x)   %s\n", med[R_ATTACH_MANY] / med[R_DIRECT_ATTACH],
               med[R_ATTACH_MANY] / med[R_DIRECT_ATTACH] <= 2 ? "ok" : "MISSED");
        printf("  DetachMany / direct detach loop        %5.2fx  (<= 2x)   %s\n", med[R_DETACH_MANY] / med[R_DIRECT_DETACH],
               med[R_DETACH_MANY] / med[R_DIRECT_DETACH] <= 2 ? "ok" : "MISSED");
        if (arg_floor) {
                /* What the bus alone costs for these messages, and so what
                 * is left for the daemon within the target. */
                printf("the bus's share (a no-op server with the same messages and signals):\n");
                printf("  (Attach-shaped call to it + direct attach) / (direct attach + Ping) %5.2fx; the daemon's own work "
                       "in an Attach: %.1f us, %.1f us within 1.5x\n",
                       (med[R_FLOOR_ATTACH] + med[R_DIRECT_ATTACH]) / floor_a, med[R_ATTACH] - med[R_FLOOR_ATTACH],
                       1.5 * floor_a - med[R_FLOOR_ATTACH]);
                printf("  (Detach-shaped call to it + direct detach) / (direct detach + Ping) %5.2fx; the daemon's own work "
                       "in a Detach: %.1f us, %.1f us within 1.5x\n",
                       (med[R_FLOOR_DETACH] + med[R_DIRECT_DETACH]) / floor_d, med[R_DETACH] - med[R_FLOOR_DETACH],
                       1.5 * floor_d - med[R_FLOOR_DETACH]);
                printf("  (AttachMany-shaped call to it + direct loop) / direct loop %5.2fx; the daemon's own work "
                       "per link: %.1f us, %.1f us within 2x\n",
                       (med[R_FLOOR_ATTACH_MANY] + med[R_DIRECT_ATTACH]) / med[R_DIRECT_ATTACH],
                       med[R_ATTACH_MANY] - med[R_FLOOR_ATTACH_MANY],
                       2 * med[R_DIRECT_ATTACH] - med[R_FLOOR_ATTACH_MANY]);
                printf("  (DetachMany-shaped call to it + direct loop) / direct loop %5.2fx; the daemon's own work "
                       "per link: %.1f us, %.1f us within 2x\n",
                       (med[R_FLOOR_DETACH_MANY] + med[R_DIRECT_DETACH]) / med[R_DIRECT_DETACH],
                       med[R_DETACH_MANY] - med[R_FLOOR_DETACH_MANY],
                       2 * med[R_DIRECT_DETACH] - med[R_FLOOR_DETACH_MANY]);
        }
        r = 0;
        sd_bus_flush_close_unref(bus);
        bpf_object__close(obj);
        lines_free(netns, n);
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

static int floor_send_signal(sd_bus *bus, const char *member, const char *netns, const char *name) {
        sd_bus_message *sig = NULL;
        int r = sd_bus_message_new_signal(bus, &sig, PATH, IFACE, member);

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
        if (n > 0) {
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

/* Serves until killed. The bus must let it own FLOOR_NAME (run.sh adds
 * that rule to the bench's bus). */
static int verb_floor_server(int argc, char **argv) {
        sd_bus *bus = bus_open();
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, floor_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, FLOOR_NAME, 0);
        if (r < 0)
                return fprintf(stderr, "floor-server: %s\n", strerror(-r)), 1;
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r == 0 && floor_pending.n > 0)
                        r = floor_flush_chunk(bus);
                else if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 1;
                if (r < 0)
                        return fprintf(stderr, "floor-server: %s\n", strerror(-r)), 1;
        }
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

int main(int argc, char **argv) {
        enum { ARG_CLIENTS = 0x100, ARG_OPS, ARG_DAEMON_PID, ARG_BUS_PID, ARG_FLOOR, ARG_MAX_RSS, ARG_ROUNDS, ARG_PER, ARG_PIN_DIR, ARG_P99, ARG_WHILE_PID };
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
                case ARG_FLOOR: {
                        char *end = NULL;
                        long pid = strtol(optarg, &end, 10);
                        char proc[64];

                        snprintf(proc, sizeof(proc), "/proc/%ld", pid);
                        if (!end || *end || pid <= 0 || access(proc, F_OK) < 0)
                                return fprintf(stderr, "--floor=%s: not the pid of a running floor-server\n", optarg), 2;
                        arg_floor = true;
                        arg_floor_pid = (pid_t) pid;
                        break;
                }
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
