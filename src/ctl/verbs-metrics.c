/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * netnslinkctl metrics [--http]: the daemon's Prometheus text exposition
 * (Manager.Metrics), to stdout; with --http, as the answer to one HTTP
 * request read on stdin, for netnslink-metrics@.service (a socket-activated
 * connection on stdin and stdout, Accept=yes). Only GET and HEAD of
 * /metrics are served: anything else is 404 or 405, without asking the
 * daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "macro.h"

int arg_http = 0;

#define REQUEST_MAX 8192

static int fetch(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = ctl_call_no_args(bus, NL_BUS_MANAGER_IFACE, "Metrics", "get metrics", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return r;
        *ret = strdup(text);
        return *ret ? 0 : -ENOMEM;
}

/* The request's head, up to the empty line (or what came before EOF). */
static ssize_t read_head(char *buf, size_t size) {
        size_t n = 0;

        while (n < size - 1) {
                ssize_t k = read(STDIN_FILENO, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t) k;
                buf[n] = 0;
                if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
                        break;
        }
        buf[n] = 0;
        return (ssize_t) n;
}

static void answer(int status, const char *reason, const char *extra, const char *body, bool with_body) {
        printf("HTTP/1.1 %d %s\r\n"
               "Content-Type: %s\r\n"
               "Content-Length: %zu\r\n"
               "%s"
               "Connection: close\r\n\r\n",
               status, reason, status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
               strlen(body), extra);
        if (with_body)
                fputs(body, stdout);
        fflush(stdout);
}

/* A request answered, even with 4xx, is a success: the instance of
 * netnslink-metrics@.service fails only when the daemon cannot answer. */
static int serve_http(sd_bus *bus) {
        char buf[REQUEST_MAX], method[16], target[1024];
        _cleanup_free_ char *text = NULL;
        size_t path_len;
        bool head;
        int r;

        if (read_head(buf, sizeof(buf)) < 0 || sscanf(buf, "%15s %1023s HTTP/1.%*1[01]", method, target) != 2) {
                answer(400, "Bad Request", "", "Bad request\n", true);
                return 0;
        }
        head = strcmp(method, "HEAD") == 0;
        if (strcmp(method, "GET") != 0 && !head) {
                answer(405, "Method Not Allowed", "Allow: GET, HEAD\r\n", "Only GET and HEAD\n", true);
                return 0;
        }
        path_len = strcspn(target, "?");
        if (path_len != STRLEN("/metrics") || strncmp(target, "/metrics", path_len) != 0) {
                answer(404, "Not Found", "", "Only /metrics is served here\n", !head);
                return 0;
        }
        r = fetch(bus, &text);
        if (r < 0) {
                answer(503, "Service Unavailable", "", "netnslinkd did not answer\n", !head);
                return r;
        }
        answer(200, "OK", "", text, !head);
        return 0;
}

int verb_metrics(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_free_ char *text = NULL;
        int r;

        (void) argc;
        (void) argv;
        if (arg_http)
                return serve_http(bus);
        r = fetch(bus, &text);
        if (r < 0)
                return r;
        fputs(text, stdout);
        return 0;
}
