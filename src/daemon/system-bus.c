/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "bus-objects.h"
#include "log.h"
#include "system-bus.h"

#define RETRY_USEC (2ULL * 1000 * 1000)
#define RETRY_SEC (RETRY_USEC / 1000000)

struct SystemBus {
        Context *context;
        sd_bus *bus;
        sd_event_source *retry;
        bool warned;    /* one log line for a bus that stays away, not one per try */
};

static void drop_bus(SystemBus *sb) {
        if (!sb->bus)
                return;
        (void) sd_bus_detach_event(sb->bus);
        sb->bus = sd_bus_flush_close_unref(sb->bus);
        sb->context->bus = NULL;
}

static int arm_retry(SystemBus *sb);

static int on_lost(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        SystemBus *sb = userdata;

        (void) m;
        (void) error;
        log_warning("Lost the system bus; serving the private socket only, and connecting again every %llu s",
                    RETRY_SEC);
        sb->warned = true;
        drop_bus(sb);
        (void) arm_retry(sb);
        return 0;
}

static int connect_now(SystemBus *sb) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = bus_objects_add(bus, sb->context);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_lost, sb);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return r;
        }
        sb->bus = bus;
        sb->context->bus = bus;
        return 0;
}

static int take_name(SystemBus *sb) {
        int r;

        r = sd_bus_attach_event(sb->bus, sb->context->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the system bus to the event loop: %m");
        r = sd_bus_request_name(sb->bus, NL_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name " NL_BUS_NAME ": %m");
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        SystemBus *sb = userdata;
        int r;

        (void) s;
        (void) usec;
        r = connect_now(sb);
        if (r >= 0 && take_name(sb) >= 0) {
                log_notice("Connected to the system bus: serving " NL_BUS_NAME " there too");
                sb->warned = false;
                return 0;
        }
        drop_bus(sb);
        if (!sb->warned)
                log_notice_errno(r, "The system bus is still not there (%m); trying again every %llu s",
                                 RETRY_SEC);
        sb->warned = true;
        return arm_retry(sb);
}

static int arm_retry(SystemBus *sb) {
        if (sb->retry) {
                int r = sd_event_source_set_time_relative(sb->retry, RETRY_USEC);
                return r < 0 ? r : sd_event_source_set_enabled(sb->retry, SD_EVENT_ONESHOT);
        }
        return sd_event_add_time_relative(sb->context->event, &sb->retry, CLOCK_MONOTONIC, RETRY_USEC,
                                          100 * 1000ULL, on_retry, sb);
}

int system_bus_new(Context *c, SystemBus **ret) {
        SystemBus *sb = calloc(1, sizeof(*sb));

        if (!sb)
                return -ENOMEM;
        sb->context = c;
        *ret = sb;
        return connect_now(sb);
}

int system_bus_serve(SystemBus *sb) {
        if (!sb->bus)
                return arm_retry(sb);
        return take_name(sb);
}

SystemBus *system_bus_free(SystemBus *sb) {
        if (!sb)
                return NULL;
        sd_event_source_disable_unref(sb->retry);
        drop_bus(sb);
        free(sb);
        return NULL;
}
