/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network configuration on stdin: read whole, checked whole, before
 * the daemon is asked anything. A bad key is refused with code 7 and its
 * place ("links[1].bindings[0].port"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "builtins.h"
#include "cni.h"
#include "steer.h"

/* Every sk_lookup and the flow_dissector of one netns. */
#define LINKS_MAX (NL_SK_LOOKUP_MAX + NL_FLOW_DISSECTOR_MAX)
#define BINDINGS_MAX 65536U

const char *const cni_supported_versions[] = { "1.0.0", "1.1.0", NULL };

bool cni_version_supported(const char *v) {
        for (size_t i = 0; v && cni_supported_versions[i]; i++)
                if (strcmp(v, cni_supported_versions[i]) == 0)
                        return true;
        return false;
}

static const char *const link_keys[] = { "attachType", "name", "program", "bindings", NULL };
static const char *const binding_keys[] = { "protocol", "prefix", "port", "label", NULL };

/* Refuses a key of o not in known; where names o in the message. */
static int check_keys(json_t *o, const char *const *known, const char *where, CniError *e) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v) {
                size_t i;
                for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
                        ;
                if (!known[i]) {
                        char buf[80], list[128] = "";
                        for (i = 0; known[i]; i++)
                                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                                         known[i]);
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: unknown key '%s' (expected %s)",
                                         where, nl_printable(key, buf, sizeof(buf)), list);
                }
        }
        return 0;
}

/* o[key] as a string: required, or NULL if absent. */
static int get_string(json_t *o, const char *key, bool required, const char *where, const char **ret,
                      CniError *e) {
        json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v) {
                if (required)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s%s%s: required", where,
                                         *where ? "." : "", key);
                return 0;
        }
        if (!json_is_string(v))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s%s%s: must be a string", where,
                                 *where ? "." : "", key);
        *ret = json_string_value(v);
        return 0;
}

typedef struct StringKey {
        const char *key;
        const char **ret;
} StringKey;

/* An object of keys known only, with the required string keys strings. */
static int read_object(json_t *o, const char *const *known, const StringKey *strings, size_t n, const char *where,
                       CniError *e) {
        int r;

        if (!json_is_object(o))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: must be an object", where);
        r = check_keys(o, known, where, e);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = get_string(o, strings[i].key, true, where, strings[i].ret, e);
        return r;
}

int cni_binding_canonical(const char *protocol, const char *prefix, uint16_t port, const char *label, char *buf,
                          size_t size, NlError *ne) {
        char p[INET6_ADDRSTRLEN + 8];
        NlSteerBinding b;
        int r;

        r = nl_steer_binding_parse(protocol, prefix, port, label, &b, ne);
        if (r < 0)
                return r;
        snprintf(buf, size, "%s %s %u %s", nl_steer_protocol_to_string(b.protocol),
                 nl_steer_prefix_to_string(&b, p, sizeof(p)), b.port, b.label);
        return 0;
}

static int parse_binding(json_t *o, const char *where, CniBinding *b, CniError *e) {
        json_t *port;
        NlError ne = {};
        int r;

        r = read_object(o, binding_keys,
                        (const StringKey[]) { { "protocol", &b->protocol }, { "prefix", &b->prefix },
                                              { "label", &b->label } }, 3, where, e);
        if (r < 0)
                return r;
        port = json_object_get(o, "port");
        if (!port)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s.port: required (0: every port)", where);
        if (!json_is_integer(port) || json_integer_value(port) < 0 || json_integer_value(port) > 65535)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s.port: must be an integer, 0 to 65535", where);
        b->port = (uint16_t) json_integer_value(port);
        /* The daemon's own checks, so that a bad binding fails here and
         * not after the links are made. */
        r = cni_binding_canonical(b->protocol, b->prefix, b->port, b->label, b->canonical, sizeof(b->canonical),
                                  &ne);
        if (r < 0)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: %s", where, ne.message);
        return 0;
}

/* "builtin:steer", "builtin:flow" or "/path/to/object.bpf.o:PROGNAME". */
static int parse_program(CniLink *l, const char *where, CniError *e) {
        const char *colon = strrchr(l->program, ':');
        NlAttachType type = nl_attach_type_from_string(l->attach_type);

        if (strncmp(l->program, "builtin:", STRLEN("builtin:")) == 0) {
                const char *b = l->program + STRLEN("builtin:");
                NlError ne = {};

                /* The daemon's table and rule (builtin-table.c). */
                if (nl_builtin_check(b, type, &ne) < 0)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s.program: %s", where, ne.message);
                l->kind = CNI_PROGRAM_BUILTIN;
                l->builtin = b;
                return 0;
        }
        if (l->program[0] != '/' || !colon || !colon[1])
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                 "%s.program: '%s' is none of builtin:steer, builtin:flow, /PATH/OBJECT.o:PROGRAM",
                                 where, l->program);
        l->kind = CNI_PROGRAM_OBJECT;
        l->object = strndup(l->program, (size_t) (colon - l->program));
        if (!l->object)
                return cni_error(e, CNI_ERR_IO, NULL, "Out of memory");
        l->object_program = colon + 1;
        return 0;
}

static int parse_link(json_t *o, const char *where, CniLink *l, CniError *e) {
        json_t *bindings;
        int r;

        r = read_object(o, link_keys,
                        (const StringKey[]) { { "attachType", &l->attach_type }, { "name", &l->name },
                                              { "program", &l->program } }, 3, where, e);
        if (r < 0)
                return r;
        if (nl_attach_type_from_string(l->attach_type) < 0)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                 "%s.attachType: '%s' is neither sk_lookup nor flow_dissector", where,
                                 l->attach_type);
        if (!nl_link_name_is_valid(l->name))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                 "%s.name: '%s' is not 1 to %d characters of [A-Za-z0-9_-]", where, l->name,
                                 NL_LINK_NAME_MAX);
        r = parse_program(l, where, e);
        if (r < 0)
                return r;

        bindings = json_object_get(o, "bindings");
        if (!bindings)
                return 0;
        if (!json_is_array(bindings) || json_array_size(bindings) > BINDINGS_MAX)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s.bindings: must be an array of at most %u",
                                 where, BINDINGS_MAX);
        if (json_array_size(bindings) > 0 && !(l->kind == CNI_PROGRAM_BUILTIN && strcmp(l->builtin, "steer") == 0))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s.bindings: only a builtin:steer link has bindings",
                                 where);
        l->bindings = calloc(json_array_size(bindings) + 1, sizeof(CniBinding));
        if (!l->bindings)
                return cni_error(e, CNI_ERR_IO, NULL, "Out of memory");
        for (size_t i = 0; i < json_array_size(bindings); i++) {
                char w[96];
                snprintf(w, sizeof(w), "%s.bindings[%zu]", where, i);
                r = parse_binding(json_array_get(bindings, i), w, &l->bindings[i], e);
                if (r < 0)
                        return r;
                l->n_bindings++;
        }
        return 0;
}

static int parse_links(CniConfig *c, bool required, CniError *e) {
        json_t *links = json_object_get(c->doc, "links");
        size_t flows = 0;
        int r;

        if (!links) {
                if (required)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "links: required");
                return 0;
        }
        if (!json_is_array(links) || json_array_size(links) > LINKS_MAX)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "links: must be an array of at most %d links",
                                 LINKS_MAX);
        c->links = calloc(json_array_size(links) + 1, sizeof(CniLink));
        if (!c->links)
                return cni_error(e, CNI_ERR_IO, NULL, "Out of memory");
        for (size_t i = 0; i < json_array_size(links); i++) {
                CniLink *l = &c->links[i];
                char w[32];

                snprintf(w, sizeof(w), "links[%zu]", i);
                r = parse_link(json_array_get(links, i), w, l, e);
                c->n_links++;           /* parsed or not, its object is freed */
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(c->links[k].attach_type, l->attach_type) == 0 &&
                            strcmp(c->links[k].name, l->name) == 0)
                                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                                 "%s.name: %s link '%s' is links[%zu] already", w,
                                                 l->attach_type, l->name, k);
                if (nl_attach_type_from_string(l->attach_type) == NL_ATTACH_FLOW_DISSECTOR && ++flows > 1)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                         "%s.attachType: a netns runs one flow_dissector link only", w);
        }
        return 0;
}

/* cni.dev/valid-attachments (GC): [{"containerID": s, "ifname": s}, ...]. */
static int parse_valid_attachments(CniConfig *c, CniError *e) {
        static const char key[] = "cni.dev/valid-attachments";
        json_t *v = json_object_get(c->doc, key);
        int r;

        if (!v)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: required for GC", key);
        if (!json_is_array(v))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: must be an array", key);
        c->valid = calloc(json_array_size(v) + 1, sizeof(CniAttachment));
        if (!c->valid)
                return cni_error(e, CNI_ERR_IO, NULL, "Out of memory");
        for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *a = json_array_get(v, i);
                char w[64];

                snprintf(w, sizeof(w), "%s[%zu]", key, i);
                if (!json_is_object(a))
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "%s: must be an object", w);
                r = get_string(a, "containerID", true, w, &c->valid[i].container_id, e);
                if (r >= 0)
                        r = get_string(a, "ifname", true, w, &c->valid[i].ifname, e);
                if (r < 0)
                        return r;
                c->n_valid++;
        }
        c->have_valid = true;
        return 0;
}

static int parse_version(CniConfig *c, CniCommand command, CniError *e) {
        int r = get_string(c->doc, "cniVersion", true, "", &c->cni_version, e);

        if (r < 0)
                return r;
        if (!cni_version_supported(c->cni_version)) {
                const char *v = c->cni_version;
                /* Answered in the newest version, not in one we do not speak. */
                c->cni_version = NULL;
                return cni_error(e, CNI_ERR_INCOMPATIBLE_VERSION, NULL,
                                 "cniVersion '%s' is not supported (1.0.0, 1.1.0)", v);
        }
        if ((command == CNI_STATUS || command == CNI_GC) && strcmp(c->cni_version, "1.1.0") != 0)
                return cni_error(e, CNI_ERR_INCOMPATIBLE_VERSION, NULL, "%s needs cniVersion 1.1.0, not %s",
                                 cni_command_to_string(command), c->cni_version);
        return 0;
}

int cni_config_read(FILE *f, CniCommand command, CniConfig *ret, CniError *e) {
        json_error_t je;
        int r;

        *ret = (CniConfig) {};
        ret->doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
        if (!ret->doc)
                return cni_error(e, CNI_ERR_DECODE, je.text, "Cannot decode the network configuration (line %d, "
                                 "column %d): %s", je.line, je.column, je.text);
        if (!json_is_object(ret->doc))
                return cni_error(e, CNI_ERR_DECODE, NULL, "The network configuration is not a JSON object");
        if (command == CNI_VERSION) {
                /* Only to answer in the caller's version, if it is ours. */
                json_t *v = json_object_get(ret->doc, "cniVersion");
                if (json_is_string(v) && cni_version_supported(json_string_value(v)))
                        ret->cni_version = json_string_value(v);
                return 0;
        }
        r = parse_version(ret, command, e);
        if (r < 0)
                return r;
        r = get_string(ret->doc, "socket", false, "", &ret->socket, e);
        if (r < 0)
                return r;
        if (!ret->socket)
                ret->socket = CNI_DEFAULT_SOCKET;
        else if (ret->socket[0] != '/' || strlen(ret->socket) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL,
                                 "socket: '%s' is not an absolute path of a unix socket", ret->socket);
        r = parse_links(ret, command != CNI_STATUS, e);
        if (r < 0)
                return r;

        ret->prev_result = json_object_get(ret->doc, "prevResult");
        if (ret->prev_result && !json_is_object(ret->prev_result))
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "prevResult: must be an object");
        if (command == CNI_CHECK && !ret->prev_result)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "prevResult: required for CHECK");
        if (command == CNI_GC)
                return parse_valid_attachments(ret, e);
        return 0;
}

void cni_config_done(CniConfig *c) {
        for (size_t i = 0; c->links && i < c->n_links; i++) {
                free(c->links[i].object);
                free(c->links[i].bindings);
        }
        free(c->links);
        free(c->valid);
        json_decref(c->doc);
        *c = (CniConfig) {};
}
