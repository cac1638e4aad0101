/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Manager.Reload(b dry_run) -> a{sv}: applies the configuration files
 * (config-apply.h) and says what changed, or would. */
int bus_method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error);
