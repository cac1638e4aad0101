/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"

/* query and explain: what runs at a netns's hooks, and where a lookup
 * would go (QueryNetns, Explain). */

static const Column hook_columns[] = {
        { "TYPE", "attach_type" },
        { "ORDER", "order" },
        { "PROG", "prog_id" },
        { "PROG-NAME", "prog_name" },
        { "TAG", "prog_tag" },
        { "OWNED", "owned" },
        { "NAME", "name" },
        { "LINK", "link_id" },
};

static const Column step_columns[] = {
        { "STEP", "step" },
        { "PROG", "prog_id" },
        { "NAME", "name" },
        { "VERDICT", "verdict" },
        { "SOCKET", "socket_selected" },
        { "BINDING", "binding" },
        { "LABEL", "label" },
};

static const Column explain_record[] = {
        { "Result", "result" },
        { "Label", "label" },
};

static int query_netns(sd_bus *bus, const char *netns, bool quiet, Dict **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, "QueryNetns", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "s", netns);
        if (r < 0)
                return r;
        if (!quiet)
                r = ctl_call(bus, NL_BUS_MANAGER_IFACE, "QueryNetns", "query netns", req, &reply);
        else
                r = sd_bus_call(bus, req, 0, &error, &reply);
        sd_bus_error_free(&error);
        if (r < 0)
                return r;
        return dict_read_array(reply, ret, ret_n);
}

static int verb_query(sd_bus *bus, int argc, char *argv[]) {
        Dict *rows = NULL;
        size_t n;
        int r;

        r = query_netns(bus, argv[1], false, &rows, &n);
        if (r < 0)
                return r;
        output_table(&arg_output, hook_columns, ELEMENTSOF(hook_columns), rows, n, "programs");
        dict_array_free(rows, n);
        return 0;
}

/* The first program not the daemon's that runs before one of its links,
 * as "PROG (NAME) before link LINK"; NULL if none. */
static char *foreign_first(const Dict *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (strcmp(dict_get(&rows[i], "owned"), "no") != 0)
                        continue;
                for (size_t j = 0; j < n; j++) {
                        char *s;

                        if (strcmp(dict_get(&rows[j], "owned"), "yes") != 0 ||
                            strcmp(dict_get(&rows[j], "attach_type"), dict_get(&rows[i], "attach_type")) != 0 ||
                            strtoul(dict_get(&rows[j], "order"), NULL, 10) <= strtoul(dict_get(&rows[i], "order"), NULL, 10))
                                continue;
                        if (asprintf(&s, "program %s (%s) runs before link %s (%s)", dict_get(&rows[i], "prog_id"),
                                     dict_get(&rows[i], "prog_name"), dict_get(&rows[j], "name"),
                                     dict_get(&rows[j], "attach_type")) < 0)
                                return NULL;
                        return s;
                }
        }
        return NULL;
}

void ctl_warn_foreign_first(sd_bus *bus, const Dict *links, size_t n) {
        /* One line at most, on stderr: list's stdout is parsed by scripts.
         * A daemon without QueryNetns, or a netns gone meanwhile, says
         * nothing. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *what = NULL;
                const char *ino = dict_get(&links[i], "netns_ino");
                char ref[64];
                Dict *rows = NULL;
                size_t k;
                bool seen = false;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = strcmp(dict_get(&links[j], "netns_ino"), ino) == 0;
                if (seen || strcmp(dict_get(&links[i], "defunct"), "yes") == 0)
                        continue;
                snprintf(ref, sizeof(ref), "ino:%s", ino);
                if (query_netns(bus, ref, true, &rows, &k) < 0)
                        continue;
                what = foreign_first(rows, k);
                dict_array_free(rows, k);
                if (what) {
                        fprintf(stderr, "Warning: in netns %s a program netnslinkd does not own, %s; "
                                "see netnslinkctl query %s\n", dict_get(&links[i], "netns"), what, ref);
                        return;
                }
        }
}

/* The steps of an Explain reply, from its "steps" entry. */
static int read_steps(sd_bus_message *reply, Dict **ret, size_t *ret_n) {
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "steps") == 0) {
                        r = sd_bus_message_enter_container(reply, 'v', "aa{sv}");
                        if (r < 0)
                                return r;
                        return dict_read_array(reply, ret, ret_n);
                }
                r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        *ret = NULL;
        *ret_n = 0;
        return r;
}

static char *steps_json(const Dict *steps, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', f);
                dict_print_json(&steps[i], f, 0, 0);
        }
        fputc(']', f);
        fclose(f);
        return buf;
}

static int verb_explain(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        Dict *steps = NULL, top = {};
        size_t n = 0;
        int r;

        r = ctl_new_call(bus, NL_BUS_MANAGER_IFACE, "Explain", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "ssss", argv[1], argv[2], argv[3], argv[4]);
        if (r < 0)
                return r;
        r = ctl_call(bus, NL_BUS_MANAGER_IFACE, "Explain", "explain", req, &reply);
        if (r < 0)
                return r;
        r = dict_read(reply, &top);
        if (r >= 0)
                r = read_steps(reply, &steps, &n);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the explanation: %s\n", strerror(-r));
                dict_done(&top);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                char num[16];

                snprintf(num, sizeof(num), "%zu", i + 1);
                r = dict_add(&steps[i], "step", num, num);
                if (r < 0)
                        goto out;
        }
        if (arg_output.json != JSON_OFF) {
                /* One object: the steps as an array inside it. */
                for (size_t i = 0; i < top.n; i++)
                        if (strcmp(top.entries[i].key, "steps") == 0) {
                                char *json = steps_json(steps, n);
                                if (!json) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                free(top.entries[i].json);
                                top.entries[i].json = json;
                        }
                output_record(&arg_output, explain_record, ELEMENTSOF(explain_record), &top);
        } else {
                OutputOptions o = arg_output;

                o.legend = false;
                if (arg_output.legend)
                        printf("%s %s %s -> %s, through the sk_lookup programs of the netns in run order:\n",
                               argv[2], argv[1], argv[3], argv[4]);
                output_table(&arg_output, step_columns, ELEMENTSOF(step_columns), steps, n, "steps");
                if (arg_output.legend)
                        fputc('\n', stdout);
                output_record(&o, explain_record, ELEMENTSOF(explain_record), &top);
        }
        r = 0;
out:
        dict_array_free(steps, n);
        dict_done(&top);
        return r;
}

const Verb observe_verbs[] = {
        { "query", 1, 1, verb_query },
        { "explain", 4, 4, verb_explain },
};
const size_t n_observe_verbs = ELEMENTSOF(observe_verbs);
