/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus names of ../shared/CONTRACT.md, for the daemon and the CLI. */
#define NL_BUS_NAME "org.netnslink1"
#define NL_BUS_PATH "/org/netnslink1"
#define NL_BUS_MANAGER_IFACE "org.netnslink1.Manager"
#define NL_BUS_STEERING_IFACE "org.netnslink1.Steering"
