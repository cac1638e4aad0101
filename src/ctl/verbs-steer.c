/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The steering verbs: bindings, sockets and destinations of links running
 * builtin:steer, through org.netnslink1.Steering. */
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "ctl.h"
#include "macro.h"
#include "steer-sockets.h"

/* load-bindings: a bigger file is a mistake. */
#define BINDINGS_FILE_MAX (256U * 1024 * 1024)

static const Column binding_columns[] = {
        { "PROTO", "protocol" },
        { "PREFIX", "prefix" },
        { "PORT", "port" },
        { "LABEL", "label" },
        { "HITS", "hits" },
};

static const Column destination_columns[] = {
        { "LABEL", "label" },
        { "PROTO", "protocol" },
        { "FAMILY", "family" },
        { "SOCKET", "socket_cookie" },
        { "STATE", "socket_state" },
        { "BINDINGS", "bindings" },
        { "LOOKUPS", "lookups" },
        { "MISSES", "misses" },
        { "ERRORS", "errors" },
};

static const Column changes_record[] = {
        { "Added", "added" },
        { "Removed", "removed" },
        { "Total", "total" },
};

static int parse_port(const char *s, uint16_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || end == s || s[0] == '-' || s[0] == '+' || v > 65535) {
                fprintf(stderr, "Invalid port '%s': expected 0 (every port) to 65535\n", s);
                return -EINVAL;
        }
        *ret = (uint16_t) v;
        return 0;
}

/* A Steering call whose first arguments are NETNS LINK. */
static int steer_call_new(sd_bus *bus, const char *method, const char *netns, const char *link,
                          sd_bus_message **ret) {
        int r = ctl_new_call(bus, NL_BUS_STEERING_IFACE, method, ret);

        if (r >= 0)
                r = sd_bus_message_append(*ret, "ss", netns, link);
        return r;
}

static int steer_call(sd_bus *bus, const char *method, const char *what, sd_bus_message *req,
                      sd_bus_message **reply) {
        return ctl_call(bus, NL_BUS_STEERING_IFACE, method, what, req, reply);
}

/* AddBinding or RemoveBinding of NETNS LINK PROTO PREFIX PORT, with label
 * (AddBinding) or without (NULL). */
static int binding_call(sd_bus *bus, const char *method, const char *what, char *argv[], const char *label) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        uint16_t port;
        int r;

        r = parse_port(argv[5], &port);
        if (r < 0)
                return r;
        r = steer_call_new(bus, method, argv[1], argv[2], &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "ssq", argv[3], argv[4], port);
        if (r >= 0 && label)
                r = sd_bus_message_append(req, "s", label);
        if (r < 0)
                return r;
        return steer_call(bus, method, what, req, &reply);
}

static int verb_bind(sd_bus *bus, int argc, char *argv[]) {
        return binding_call(bus, "AddBinding", "bind", argv, argv[6]);
}

static int verb_unbind(sd_bus *bus, int argc, char *argv[]) {
        return binding_call(bus, "RemoveBinding", "unbind", argv, NULL);
}

/* Calls a List method and reads its aa{sv}. */
static int steer_list(sd_bus *bus, const char *method, const char *what, const char *netns, const char *link,
                      Dict **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        int r;

        r = steer_call_new(bus, method, netns, link, &req);
        if (r < 0)
                return r;
        r = steer_call(bus, method, what, req, &reply);
        if (r < 0)
                return r;
        r = dict_read_array(reply, ret, ret_n);
        if (r < 0)
                fprintf(stderr, "Failed to parse the reply of %s: %s\n", method, strerror(-r));
        return r;
}

/* The verbs that list: method's rows for NETNS LINK as a table of cols,
 * edited by fix first if there is one. */
static int steer_list_table(sd_bus *bus, char *argv[], const char *method, const char *what, const Column *cols,
                            size_t n_cols, const char *noun, void (*fix)(Dict *rows, size_t n)) {
        Dict *rows = NULL;
        size_t n;
        int r;

        r = steer_list(bus, method, what, argv[1], argv[2], &rows, &n);
        if (r < 0)
                return r;
        if (fix)
                fix(rows, n);
        output_table(&arg_output, cols, n_cols, rows, n, noun);
        dict_array_free(rows, n);
        return 0;
}

static int verb_bindings(sd_bus *bus, int argc, char *argv[]) {
        return steer_list_table(bus, argv, "ListBindings", "list bindings", binding_columns,
                                ELEMENTSOF(binding_columns), "bindings", NULL);
}

/* A destination without a socket shows "-", not a cookie of 0 and an
 * empty state. */
static void dash_no_socket(Dict *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < rows[i].n; j++) {
                        char **text = &rows[i].entries[j].text;

                        if ((strcmp(rows[i].entries[j].key, "socket_cookie") == 0 && strcmp(*text, "0") == 0) ||
                            (strcmp(rows[i].entries[j].key, "socket_state") == 0 && !**text)) {
                                char *dash = strdup("-");
                                if (dash) {
                                        free(*text);
                                        *text = dash;
                                }
                        }
                }
}

static int verb_destinations(sd_bus *bus, int argc, char *argv[]) {
        return steer_list_table(bus, argv, "ListDestinations", "list destinations", destination_columns,
                                ELEMENTSOF(destination_columns), "destinations", dash_no_socket);
}

static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = -errno;
                fprintf(stderr, "Cannot open %s: %s\n", path, strerror(-r));
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                fprintf(stderr, "Cannot read %s: it is a directory\n", path);
                return -EISDIR;
        }
        for (;;) {
                ssize_t k;

                if (size == allocated) {
                        size_t a = allocated ? allocated * 2 : 65536;
                        char *nb = a > BINDINGS_FILE_MAX + 1 ? NULL : realloc(buf, a);
                        if (!nb) {
                                fprintf(stderr, "%s is larger than %u bytes\n", path, BINDINGS_FILE_MAX);
                                return -EFBIG;
                        }
                        buf = nb;
                        allocated = a;
                }
                k = read(fd, buf + size, allocated - size);
                if (k < 0) {
                        int r = -errno;
                        fprintf(stderr, "Cannot read %s: %s\n", path, strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static const char *json_kind(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a number";
        case JSON_TRUE: case JSON_FALSE: return "a boolean";
        default: return "null";
        }
}

/* One element of a bindings file: {"protocol", "prefix", "port", "label"},
 * nothing more, nothing less; the daemon checks the values themselves. */
static int append_binding_element(sd_bus_message *req, const char *path, size_t index, const json_t *o) {
        static const char *const keys[] = { "protocol", "prefix", "port", "label" };
        const json_t *v[ELEMENTSOF(keys)];
        const char *key;
        json_t *value;

        if (!json_is_object(o)) {
                fprintf(stderr, "%s: binding %zu must be an object, got %s\n", path, index, json_kind(o));
                return -EINVAL;
        }
        json_object_foreach((json_t *) o, key, value) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        known |= strcmp(key, keys[k]) == 0;
                if (!known) {
                        fprintf(stderr, "%s: binding %zu has unknown key \"%s\" (expected protocol, prefix, port, label)\n",
                                path, index, key);
                        return -EINVAL;
                }
        }
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                bool number = k == 2;

                v[k] = json_object_get(o, keys[k]);
                if (!v[k]) {
                        fprintf(stderr, "%s: binding %zu lacks key \"%s\"\n", path, index, keys[k]);
                        return -EINVAL;
                }
                if (number ? !json_is_number(v[k]) : !json_is_string(v[k])) {
                        fprintf(stderr, "%s: binding %zu: \"%s\" must be %s, got %s\n", path, index, keys[k],
                                number ? "a number" : "a string", json_kind(v[k]));
                        return -EINVAL;
                }
        }
        if (!json_is_integer(v[2]) || json_integer_value(v[2]) < 0 || json_integer_value(v[2]) > 65535) {
                fprintf(stderr, "%s: binding %zu: \"port\" must be an integer from 0 (every port) to 65535\n",
                        path, index);
                return -EINVAL;
        }
        return sd_bus_message_append(req, "(ssqs)", json_string_value(v[0]), json_string_value(v[1]),
                                     (uint16_t) json_integer_value(v[2]), json_string_value(v[3]));
}

static int verb_load_bindings(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        json_auto_t *doc = NULL;       /* jansson's own cleanup attribute */
        _cleanup_free_ char *text = NULL;
        const char *path = argv[3];
        json_error_t err;
        size_t size = 0, i;
        json_t *item;
        int r;

        r = read_file(path, &text, &size);
        if (r < 0)
                return r;
        /* Strict: one document, no duplicate keys, no NUL inside strings. */
        doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
        if (!doc) {
                fprintf(stderr, "%s: invalid JSON: line %d, column %d: %s\n", path, err.line, err.column, err.text);
                return -EINVAL;
        }
        if (!json_is_array(doc)) {
                fprintf(stderr, "%s: expected an array of bindings, got %s\n", path, json_kind(doc));
                return -EINVAL;
        }
        r = steer_call_new(bus, "SetBindings", argv[1], argv[2], &req);
        if (r >= 0)
                r = sd_bus_message_open_container(req, 'a', "(ssqs)");
        json_array_foreach(doc, i, item) {
                if (r < 0)
                        break;
                r = append_binding_element(req, path, i, item);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(req);
        if (r < 0)
                return r;
        r = steer_call(bus, "SetBindings", "load bindings", req, &reply);
        if (r < 0)
                return r;
        return ctl_print_record_reply(reply, changes_record, ELEMENTSOF(changes_record), "the reply of SetBindings");
}

static int register_fd(sd_bus *bus, const char *netns, const char *link, const char *label, int fd) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        char what[64];
        int r;

        r = steer_call_new(bus, "RegisterSocket", netns, link, &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "sh", label, fd);
        if (r < 0) {
                if (r == -EBADF)
                        fprintf(stderr, "Failed to register: %d is not an open file descriptor\n", fd);
                return r;
        }
        snprintf(what, sizeof(what), "register fd %d", fd);
        return steer_call(bus, "RegisterSocket", what, req, &reply);
}

static int verb_register(sd_bus *bus, int argc, char *argv[]) {
        int n, r;

        if (arg_fd >= 0)
                return register_fd(bus, argv[1], argv[2], argv[3], arg_fd);

        /* No --fd: the sockets systemd passed us (socket activation). */
        n = sd_listen_fds(true);
        if (n < 0) {
                fprintf(stderr, "Failed to read LISTEN_FDS: %s\n", strerror(-n));
                return n;
        }
        if (n == 0) {
                fprintf(stderr, "register needs --fd=N or sockets passed by socket activation (LISTEN_FDS)\n");
                return -EINVAL;
        }
        for (int i = 0; i < n; i++) {
                r = register_fd(bus, argv[1], argv[2], argv[3], SD_LISTEN_FDS_START + i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The kinds of the label's bindings (STEER_KIND_BIT). */
static int label_kinds(sd_bus *bus, const char *netns, const char *link, const char *label, unsigned *ret) {
        Dict *rows = NULL;
        size_t n;
        int r;

        r = steer_list(bus, "ListBindings", "list bindings", netns, link, &rows, &n);
        if (r < 0)
                return r;
        *ret = 0;
        for (size_t i = 0; i < n; i++)
                if (strcmp(dict_get(&rows[i], "label"), label) == 0)
                        *ret |= STEER_KIND_BIT(strcmp(dict_get(&rows[i], "protocol"), "udp") == 0,
                                               strcmp(dict_get(&rows[i], "family"), "ipv6") == 0);
        dict_array_free(rows, n);
        return 0;
}

static int link_netns_ino(sd_bus *bus, const char *netns, const char *link, uint64_t *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        Dict d;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, "GetLink", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "sss", netns, "sk_lookup", link);
        if (r < 0)
                return r;
        r = ctl_call(bus, NL_BUS_MANAGER_IFACE, "GetLink", "find the link", req, &reply);
        if (r < 0)
                return r;
        r = dict_read(reply, &d);
        if (r < 0)
                return r;
        *ret = strtoull(dict_get(&d, "netns_ino"), NULL, 10);
        dict_done(&d);
        return 0;
}

static int verb_register_pid(sd_bus *bus, int argc, char *argv[]) {
        SteerSocket *socks = NULL;
        size_t n = 0, pick[4];
        uint64_t ino;
        unsigned kinds;
        char err[1024], *end;
        long pid;
        int np, r;

        errno = 0;
        pid = strtol(argv[4], &end, 10);
        if (errno || *end || end == argv[4] || pid <= 0 || pid > INT32_MAX) {
                fprintf(stderr, "Invalid PID '%s'\n", argv[4]);
                return -EINVAL;
        }
        r = link_netns_ino(bus, argv[1], argv[2], &ino);
        if (r < 0)
                return r;
        r = label_kinds(bus, argv[1], argv[2], argv[3], &kinds);
        if (r < 0)
                return r;
        r = steer_sockets_of_pid((pid_t) pid, ino, &socks, &n, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "Failed to register-pid: %s\n", err);
                return r;
        }
        np = steer_sockets_pick(socks, n, kinds, pick, err, sizeof(err));
        if (np < 0) {
                fprintf(stderr, "Failed to register-pid: process %ld: %s\n", pid, err);
                steer_sockets_free(socks, n);
                return np;
        }
        for (int i = 0; i < np; i++) {
                const SteerSocket *s = &socks[pick[i]];

                r = register_fd(bus, argv[1], argv[2], argv[3], s->fd);
                if (r < 0)
                        break;
                if (arg_output.legend && arg_output.json == JSON_OFF)
                        printf("Registered fd %d of process %ld (%s %s) for label %s\n", s->source_fd, pid,
                               s->udp ? "udp" : "tcp", s->address, argv[3]);
        }
        steer_sockets_free(socks, n);
        return r < 0 ? r : 0;
}

static int verb_unregister(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        int r;

        r = steer_call_new(bus, "UnregisterSocket", argv[1], argv[2], &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "s", argv[3]);
        if (r < 0)
                return r;
        return steer_call(bus, "UnregisterSocket", "unregister", req, &reply);
}

/* NETNS first in each: netnslinkctl.c translates it. */
const Verb steer_verbs[] = {
        { "bind", 6, 6, verb_bind },
        { "unbind", 5, 5, verb_unbind },
        { "bindings", 2, 2, verb_bindings },
        { "load-bindings", 3, 3, verb_load_bindings },
        { "register", 3, 3, verb_register },
        { "register-pid", 4, 4, verb_register_pid },
        { "unregister", 3, 3, verb_unregister },
        { "destinations", 2, 2, verb_destinations },
};
const size_t n_steer_verbs = ELEMENTSOF(steer_verbs);
