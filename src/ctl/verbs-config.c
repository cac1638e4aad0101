/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * netnslinkctl verify [FILE...]: configuration files checked offline, by
 * the core library's parser, the one the daemon uses, so that what passes
 * here is what the daemon applies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

const char *arg_config_root = NULL;

static const Column verify_columns[] = {
        { "FILE", "file" },
        { "STATUS", "status" },
        { "TYPE", "attach_type" },
        { "NAME", "name" },
        { "PROGRAM", "program" },
        { "BINDINGS", "bindings" },
        { "NETNS", "netns" },
};

/* The [Match] names as text ("a b") and as a JSON array. */
static int add_netns(Dict *d, const NlConfigLink *l) {
        _cleanup_free_ char *text = NULL, *json = NULL;
        size_t tsize = 0, jsize = 0;
        FILE *t, *j;

        t = open_memstream(&text, &tsize);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_netns; i++)
                fprintf(t, "%s%s", i ? " " : "", l->netns[i]);
        if (fclose(t) != 0)
                return -ENOMEM;
        j = open_memstream(&json, &jsize);
        if (!j)
                return -ENOMEM;
        fputc('[', j);
        for (size_t i = 0; i < l->n_netns; i++) {
                if (i)
                        fputc(',', j);
                json_print_string(j, l->netns[i]);
        }
        fputc(']', j);
        if (fclose(j) != 0)
                return -ENOMEM;
        return dict_add(d, "netns", text, json);
}

static int describe(Dict *d, const char *path, const NlConfigLink *l, const char *status, const char *error) {
        char n[32];
        int r;

        r = dict_add(d, "file", path, NULL);
        if (r >= 0)
                r = dict_add(d, "status", status, NULL);
        if (r >= 0 && l) {
                snprintf(n, sizeof(n), "%zu", l->n_bindings);
                r = dict_add(d, "attach_type", nl_attach_type_to_string(l->type), NULL);
                if (r >= 0)
                        r = dict_add(d, "name", l->name, NULL);
                if (r >= 0)
                        r = dict_add(d, "program", l->program, NULL);
                if (r >= 0)
                        r = dict_add(d, "bindings", n, n);
                if (r >= 0)
                        r = add_netns(d, l);
        }
        if (r >= 0 && error)
                r = dict_add(d, "error", error, NULL);
        return r;
}

/* Reads one file into row; returns 1 if it was refused. */
static int verify_one(const char *path, const char *status, Dict *row) {
        _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
        NlError e = {};
        int r;

        if (status)
                return describe(row, path, NULL, status, NULL) < 0 ? -ENOMEM : 0;
        r = nl_config_parse_file(path, &l, &e);
        if (r < 0) {
                /* The message names the file and line: as a compiler
                 * would, on stderr, also when the table goes to stdout. */
                if (arg_output.json == JSON_OFF)
                        fprintf(stderr, "%s\n", e.message);
                return describe(row, path, NULL, "refused", e.message) < 0 ? -ENOMEM : 1;
        }
        return describe(row, path, l, "ok", NULL) < 0 ? -ENOMEM : 0;
}

int ctl_verify(int argc, char *argv[]) {
        _cleanup_(nl_config_files_freep) char **files = NULL, **masked = NULL;
        size_t n_files = 0, n_masked = 0, total;
        Dict *rows = NULL;
        int r = 0, refused = 0;

        if (argc == 0) {
                r = nl_config_files(arg_config_root, &files, &masked);
                if (r < 0) {
                        fprintf(stderr, "Failed to read the configuration folders: %s\n", strerror(-r));
                        return r;
                }
                while (files[n_files])
                        n_files++;
                while (masked[n_masked])
                        n_masked++;
        } else
                n_files = (size_t) argc;
        total = n_files + n_masked;
        rows = calloc(total ? total : 1, sizeof(*rows));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < total && r >= 0; i++) {
                if (i < n_files)
                        r = verify_one(argc > 0 ? argv[i] : files[i], NULL, &rows[i]);
                else
                        r = verify_one(masked[i - n_files], "masked", &rows[i]);
                if (r > 0)
                        refused++;
        }
        if (r >= 0)
                output_table(&arg_output, verify_columns, ELEMENTSOF(verify_columns), rows, total, "file(s)");
        dict_array_free(rows, total);
        if (r < 0) {
                fprintf(stderr, "Failed to verify: %s\n", strerror(-r));
                return r;
        }
        return refused ? -EINVAL : 0;
}

/* netnslinkctl reload [--dry-run]: Manager.Reload, its changes as a table
 * (or --json), refusals on stderr; exit 1 if a file was refused. */

int arg_dry_run = 0;

static const Column reload_columns[] = {
        { "ACTION", "action" },
        { "NETNS", "netns" },
        { "TYPE", "attach_type" },
        { "NAME", "name" },
        { "FILE", "file" },
};

typedef struct ReloadReply {
        uint32_t attached, updated, detached, bindings_changed;
        char **errors;
        Dict *changes;
        size_t n_changes;
} ReloadReply;

static void reload_reply_done(ReloadReply *r) {
        for (char **e = r->errors; e && *e; e++)
                free(*e);
        free(r->errors);
        dict_array_free(r->changes, r->n_changes);
}

static int read_reload_reply(sd_bus_message *m, ReloadReply *ret) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                uint32_t *u = NULL;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        break;
                if (strcmp(key, "attached") == 0)
                        u = &ret->attached;
                else if (strcmp(key, "updated") == 0)
                        u = &ret->updated;
                else if (strcmp(key, "detached") == 0)
                        u = &ret->detached;
                else if (strcmp(key, "bindings_changed") == 0)
                        u = &ret->bindings_changed;
                if (u)
                        r = sd_bus_message_read(m, "v", "u", u);
                else if (strcmp(key, "errors") == 0) {
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(m, &ret->errors);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (strcmp(key, "changes") == 0) {
                        r = sd_bus_message_enter_container(m, 'v', "aa{sv}");
                        if (r >= 0)
                                r = dict_read_array(m, &ret->changes, &ret->n_changes);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static void print_reload_json(const ReloadReply *rr) {
        bool pretty = arg_output.json == JSON_PRETTY;
        const char *nl = pretty ? "\n" : "", *in = pretty ? "  " : "";

        printf("{%s%s\"attached\":%u,%s%s\"updated\":%u,%s%s\"detached\":%u,%s%s\"bindings_changed\":%u,%s%s\"errors\":[",
               nl, in, rr->attached, nl, in, rr->updated, nl, in, rr->detached, nl, in, rr->bindings_changed, nl, in);
        for (char **e = rr->errors; e && *e; e++) {
                if (e != rr->errors)
                        fputc(',', stdout);
                json_print_string(stdout, *e);
        }
        printf("],%s%s\"changes\":[", nl, in);
        for (size_t i = 0; i < rr->n_changes; i++) {
                if (i)
                        fputc(',', stdout);
                if (pretty)
                        printf("\n    ");
                dict_print_json(&rr->changes[i], stdout, pretty ? 2 : 0, pretty ? 2 : 0);
        }
        printf("%s]%s}\n", pretty && rr->n_changes ? "\n  " : "", nl);
}

int ctl_reload(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        ReloadReply rr = {};
        size_t n_errors = 0;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, "Reload", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "b", arg_dry_run);
        if (r < 0)
                return r;
        r = ctl_call(bus, NL_BUS_MANAGER_IFACE, "Reload", "reload", req, &reply);
        if (r < 0)
                return r;
        r = read_reload_reply(reply, &rr);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the reply of Reload: %s\n", strerror(-r));
                reload_reply_done(&rr);
                return r;
        }
        for (char **e = rr.errors; e && *e; e++, n_errors++)
                fprintf(stderr, "%s\n", *e);
        if (arg_output.json != JSON_OFF)
                print_reload_json(&rr);
        else {
                output_table(&arg_output, reload_columns, ELEMENTSOF(reload_columns), rr.changes, rr.n_changes,
                             arg_dry_run ? "change(s) that would be made" : "change(s)");
                if (arg_output.legend)
                        printf("%s%u attached, %u updated, %u detached, %u with new bindings, %zu error(s).\n",
                               arg_dry_run ? "Dry run: " : "", rr.attached, rr.updated, rr.detached,
                               rr.bindings_changed, n_errors);
        }
        r = n_errors > 0 ? -EINVAL : 0;
        reload_reply_done(&rr);
        return r;
}
