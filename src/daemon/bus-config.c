/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-config.h"
#include "bus-creds.h"
#include "context.h"
#include "bus-util.h"
#include "config-apply.h"
#include "log.h"

static int append_changes(sd_bus_message *reply, const ConfigResult *res) {
        int r = sd_bus_message_open_container(reply, 'a', "a{sv}");

        for (size_t i = 0; r >= 0 && i < res->n_changes; i++) {
                const ConfigChange *c = &res->changes[i];

                r = sd_bus_message_append(reply, "a{sv}", 5, "action", "s", c->action, "netns", "s", c->netns,
                                          "attach_type", "s", nl_attach_type_to_string(c->type), "name", "s",
                                          c->name, "file", "s", c->file);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* Opens the {sv} entry key, with a variant of type contents. */
static int open_entry(sd_bus_message *reply, const char *key, const char *contents) {
        int r = sd_bus_message_open_container(reply, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', contents);
        return r;
}

static int close_entry(sd_bus_message *reply) {
        int r = sd_bus_message_close_container(reply);

        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int append_result(sd_bus_message *reply, const ConfigResult *res) {
        int r = sd_bus_message_open_container(reply, 'a', "{sv}");

        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "attached", "u", res->attached, "updated", "u",
                                          res->updated, "detached", "u", res->detached, "bindings_changed", "u",
                                          res->bindings_changed);
        if (r >= 0)
                r = open_entry(reply, "errors", "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, res->n_errors > 0 ? res->errors : (char *[]) { NULL });
        if (r >= 0)
                r = close_entry(reply);
        if (r >= 0)
                r = open_entry(reply, "changes", "aa{sv}");
        if (r >= 0)
                r = append_changes(reply, res);
        if (r >= 0)
                r = close_entry(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int bus_method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Context *c = userdata;
        Manager *m = c->manager;
        ConfigResult res = {};
        int dry_run = 0, r;

        r = bus_check_mutate_access(c, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "b", &dry_run);
        if (r < 0)
                return r;
        if (!m->config)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "This daemon reads no configuration");
        r = config_apply(m->config, dry_run, &res);
        if (r < 0) {
                config_result_done(&res);
                return sd_bus_error_set_errnof(error, r, "Cannot apply the configuration: %m");
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_result(reply, &res);
        config_result_done(&res);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
