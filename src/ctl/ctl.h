/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "output.h"

/* Options every verb sees. */
extern OutputOptions arg_output;
extern int arg_expect_set;
extern uint32_t arg_expect;
extern int arg_fd;

typedef int (*verb_fn)(sd_bus *bus, int argc, char *argv[]);

typedef struct Verb {
        const char *name;
        int min_args, max_args;     /* not counting the verb */
        verb_fn fn;
} Verb;

/* Prints "Failed to <what>: <message> (<error name>)" and returns -errno. */
int ctl_log_bus_error(const char *what, const sd_bus_error *error, int r);

/* Calls a method of the Manager or Steering interface. */
/* ctl_new_call and ctl_call for a method that takes no arguments. */
int ctl_call_no_args(sd_bus *bus, const char *iface, const char *method, const char *what, sd_bus_message **reply);
/* Whether the connection is direct (the private socket or NETNSLINK_ADDRESS). */
bool ctl_bus_is_direct(void);
int ctl_call(sd_bus *bus, const char *iface, const char *method, const char *what, sd_bus_message *req,
             sd_bus_message **reply);
int ctl_new_call(sd_bus *bus, const char *iface, const char *method, sd_bus_message **ret);

/* Prints the a{sv} of reply as a record of cols (arg_output); what names
 * the reply in "Failed to parse <what>: ...". */
int ctl_print_record_reply(sd_bus_message *reply, const Column *cols, size_t n_cols, const char *what);

/* Steering verbs (verbs-steer.c). */
extern const Verb steer_verbs[];
extern const size_t n_steer_verbs;

/* query and explain (verbs-observe.c). */
extern const Verb observe_verbs[];
extern const size_t n_observe_verbs;
/* For list: one line on stderr when a program netnslinkd does not own runs
 * before one of the links listed. */
void ctl_warn_foreign_first(sd_bus *bus, const Dict *links, size_t n);

/* netnslinkctl verify (verbs-config.c): offline, no bus. */
extern const char *arg_config_root;
int ctl_verify(int argc, char *argv[]);

/* netnslinkctl reload [--dry-run] (verbs-config.c): Manager.Reload. */
extern int arg_dry_run;
int ctl_reload(sd_bus *bus, int argc, char *argv[]);
/* netnslinkctl metrics [--http] (verbs-metrics.c). */
extern int arg_http;
int verb_metrics(sd_bus *bus, int argc, char *argv[]);
