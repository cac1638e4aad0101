/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus-connect.h"        /* NL_PRIVATE_SOCKET_DEFAULT only: no sd-bus is linked */
#include "bus-names.h"
#include "cni-dbus.h"
#include "macro.h"
#include "names.h"

/*
 * netnslink, the chained CNI plugin (../shared/CONTRACT.md, "CNI plugin";
 * netnslink-cni(8)). The runtime runs it once per command with the
 * command and the attachment in CNI_* variables and the network
 * configuration on stdin; it speaks to netnslinkd on its private socket and
 * answers on stdout: a result, or the spec's error object.
 */

#define CNI_DEFAULT_SOCKET NL_PRIVATE_SOCKET_DEFAULT
#define CNI_VERSION_NEWEST "1.1.0"

/* The spec's error codes (CNI 1.1.0, "Error"), and ours from 100. */
typedef enum CniCode {
        CNI_OK = 0,
        CNI_ERR_INCOMPATIBLE_VERSION = 1,
        CNI_ERR_INVALID_ENV = 4,
        CNI_ERR_IO = 5,
        CNI_ERR_DECODE = 6,
        CNI_ERR_INVALID_CONFIG = 7,
        CNI_ERR_TRY_AGAIN_LATER = 11,
        CNI_ERR_NOT_AVAILABLE = 50,             /* STATUS: ADD cannot be served */
        CNI_ERR_DAEMON_REFUSED = 100,           /* details: the D-Bus error name and message */
        CNI_ERR_LINK_MISSING = 101,             /* CHECK */
        CNI_ERR_LINK_PROGRAM = 102,             /* CHECK: runs another program */
        CNI_ERR_LINK_NOT_OURS = 103,            /* CHECK: made by someone else */
        CNI_ERR_LINK_BINDINGS = 104,            /* CHECK: other bindings */
} CniCode;

typedef struct CniError {
        CniCode code;
        char msg[512];
        char details[2048];
} CniError;

/* Fills e (the first error wins) and returns -code. */
int cni_error(CniError *e, CniCode code, const char *details, const char *fmt, ...) _printf_(4, 5);
/* A failed call to the daemon (cni_dbus_call's r, and the error's name and
 * message for -EREMOTEIO): try again later if it could not be reached,
 * else what it said. */
int cni_error_bus(CniError *e, const char *method, const char *name, const char *message, int r);
/* Prints e as the spec's error object. */
void cni_error_print(const CniError *e, const char *cni_version);

typedef enum CniCommand {
        CNI_ADD,
        CNI_DEL,
        CNI_CHECK,
        CNI_STATUS,
        CNI_GC,
        CNI_VERSION,
        _CNI_COMMAND_MAX,
        _CNI_COMMAND_INVALID = -EINVAL,
} CniCommand;

/* The CNI_* variables (cni-env.c). */
typedef struct CniEnv {
        CniCommand command;
        const char *container_id;
        const char *netns;              /* NULL if not given (DEL may go without) */
        const char *ifname;
        char origin[NL_LINK_ORIGIN_MAX];        /* cni:<container id>/<ifname> */
} CniEnv;

int cni_env_read(CniEnv *ret, CniError *e);
const char *cni_command_to_string(CniCommand c);

/* One element of "links", checked (cni-config.c). */
typedef struct CniBinding {
        const char *protocol, *prefix, *label;
        uint16_t port;
        char canonical[160];            /* "tcp 10.0.0.0/8 0 www", as cni_binding_canonical makes it */
} CniBinding;

typedef enum CniProgramKind {
        CNI_PROGRAM_BUILTIN,
        CNI_PROGRAM_OBJECT,
} CniProgramKind;

typedef struct CniLink {
        const char *attach_type;
        const char *name;
        const char *program;            /* as written */
        CniProgramKind kind;
        const char *builtin;            /* "steer" or "flow" */
        char *object;                   /* the object's path (malloc'd) */
        const char *object_program;     /* the program's name in it */
        CniBinding *bindings;
        size_t n_bindings;
} CniLink;

typedef struct CniAttachment {
        const char *container_id;
        const char *ifname;
} CniAttachment;

/* The network configuration on stdin; its strings point into doc. */
typedef struct CniConfig {
        json_t *doc;
        const char *cni_version;
        const char *socket;
        CniLink *links;
        size_t n_links;
        json_t *prev_result;            /* borrowed from doc; NULL if none */
        CniAttachment *valid;           /* GC: cni.dev/valid-attachments */
        size_t n_valid;
        bool have_valid;
} CniConfig;

/* Reads and checks the whole configuration from f for command. */
int cni_config_read(FILE *f, CniCommand command, CniConfig *ret, CniError *e);
void cni_config_done(CniConfig *c);
/* Whether the spec's version v is one this plugin speaks. */
bool cni_version_supported(const char *v);
extern const char *const cni_supported_versions[];
/* "tcp 10.0.0.0/8 0 www": the form CHECK compares, from the daemon's
 * strings or the configuration's. */
int cni_binding_canonical(const char *protocol, const char *prefix, uint16_t port, const char *label, char *buf,
                          size_t size, NlError *ne);

/* The daemon, over its private socket (cni-bus.c, cni-dbus.c). */
int cni_bus_open(const char *socket, CniBus **ret, CniError *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(CniBus *, cni_dbus_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(CniMsg *, cni_msg_free);
int cni_bus_new_call(const char *iface, const char *method, CniMsg **ret);
/* A Manager or Steering call: *reply (NULL: not wanted); on failure e says
 * what the daemon said. r: how building req went. */
int cni_bus_call(CniBus *bus, const char *method, CniMsg *req, int r, CniMsg **reply, CniError *e);
/* cni_bus_call of a method that answers aa{sv}: *end is where the array
 * ends (the reply's reader is at its first element). */
int cni_bus_call_dicts(CniBus *bus, const char *method, CniMsg *req, int r, CniMsg **reply, size_t *end,
                       CniError *e);

/* A link as ListLinks and GetLink give it: what the plugin needs. */
typedef struct CniLinkInfo {
        const char *netns;
        uint64_t netns_ino;
        const char *attach_type;
        const char *name;
        const char *source;
        const char *program_source;     /* NULL from a daemon that does not say */
        bool defunct;
} CniLinkInfo;

/* Reads one a{sv} link dictionary of reply (strings stay owned by it). */
int cni_read_link(CniMsg *reply, CniLinkInfo *ret);
/* Every link of the daemon whose source is origin, or (origin NULL) made
 * by this plugin for an attachment keep() refuses. ret_n links into *ret,
 * owned by *ret_reply. */
typedef bool (*cni_link_filter_fn)(const CniLinkInfo *l, void *userdata);
int cni_list_links(CniBus *bus, cni_link_filter_fn keep, void *userdata, CniMsg **ret_reply, CniLinkInfo **ret,
                   size_t *ret_n, CniError *e);
/* DetachMany of links (by netns inode: the netns may have no path now). */
int cni_detach_links(CniBus *bus, const CniLinkInfo *links, size_t n, CniError *e);

/* The commands (cni-add.c, cni-del.c, cni-check.c, cni-gc.c). Each prints
 * its result on success. */
int cni_add(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e);
int cni_del(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e);
int cni_check(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e);
int cni_gc(CniBus *bus, const CniConfig *c, CniError *e);
