/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-creds.h"
#include "bus-signals.h"
#include "context.h"
#include "steer-set-job.h"

void context_init(Context *c, Manager *m, sd_event *event, sd_bus *bus) {
        *c = (Context) { .manager = m, .event = event, .bus = bus };
        m->userdata = c;
}

void context_done(Context *c) {
        bus_signals_flush(c);
        bus_creds_forget(c);
        steer_set_job_drop(&c->steering);
        steering_done(&c->steering);
        if (c->manager && c->manager->userdata == c)
                c->manager->userdata = NULL;
}
