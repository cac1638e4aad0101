/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netnslink, the chained CNI plugin: the command from CNI_COMMAND, the
 * network configuration from stdin, the answer on stdout (a result, or the
 * spec's error object and a non-zero exit). */
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "cni.h"

static int print_version(const CniConfig *c) {
        json_t *versions = json_array(), *o;
        int r;

        for (size_t i = 0; versions && cni_supported_versions[i]; i++)
                json_array_append_new(versions, json_string(cni_supported_versions[i]));
        o = json_pack("{s:s, s:o}", "cniVersion", c->cni_version ? c->cni_version : CNI_VERSION_NEWEST,
                      "supportedVersions", versions);
        r = o ? json_dumpf(o, stdout, JSON_COMPACT) : -1;
        json_decref(o);
        putchar('\n');
        return r < 0 || fflush(stdout) != 0 ? -EIO : 0;
}

/* STATUS: the daemon answers on its socket. A daemon that does not
 * cannot make links: the spec's 50, "cannot service ADD requests" (the
 * links it made keep running). */
static int status(CniBus *bus, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL, *reply = NULL;
        const char *name = NULL, *message = NULL;
        int r = cni_msg_new_call(NL_BUS_PATH, "org.freedesktop.DBus.Peer", "Ping", &req);

        if (r >= 0)
                r = cni_dbus_call(bus, req, &reply, &name, &message);
        if (r < 0)
                return cni_error(e, CNI_ERR_NOT_AVAILABLE, message && *message ? message : strerror(-r),
                                 "netnslinkd does not answer: %s", message && *message ? message : strerror(-r));
        return 0;
}

static int run(const CniEnv *env, const CniConfig *c, CniError *e) {
        _cleanup_(cni_dbus_closep) CniBus *bus = NULL;
        int r;

        if (env->command == CNI_VERSION)
                return print_version(c) < 0 ? cni_error(e, CNI_ERR_IO, NULL, "Cannot write the versions") : 0;
        r = cni_bus_open(c->socket, &bus, e);
        if (r < 0) {
                if (env->command == CNI_STATUS)
                        e->code = CNI_ERR_NOT_AVAILABLE;
                return r;
        }
        switch (env->command) {
        case CNI_ADD:
                return cni_add(bus, env, c, e);
        case CNI_DEL:
                return cni_del(bus, env, c, e);
        case CNI_CHECK:
                return cni_check(bus, env, c, e);
        case CNI_STATUS:
                return status(bus, e);
        case CNI_GC:
                return cni_gc(bus, c, e);
        default:
                return cni_error(e, CNI_ERR_INVALID_ENV, NULL, "Unknown command");
        }
}

int main(int argc, char *argv[]) {
        CniConfig c = {};
        CniError e = {}, config_error = {};
        CniEnv env;
        int r;

        if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "--help") == 0)) {
                printf("netnslink %s: the netnslinkd CNI plugin, run by a container runtime "
                       "(CNI_COMMAND in the environment, the network configuration on stdin); "
                       "see netnslink-cni(8)\n", NETNSLINK_VERSION);
                return 0;
        }
        r = cni_env_read(&env, &e);
        /* The configuration is read even when the environment is wrong,
         * to answer in its version. */
        if (env.command >= 0 && cni_config_read(stdin, env.command, &c, &config_error) < 0 && r >= 0) {
                e = config_error;
                r = -1;
        }
        if (r >= 0)
                r = run(&env, &c, &e);
        if (r < 0)
                cni_error_print(&e, c.cni_version);
        cni_config_done(&c);
        return r < 0 ? 1 : 0;
}
