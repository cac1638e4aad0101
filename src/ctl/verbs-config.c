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
