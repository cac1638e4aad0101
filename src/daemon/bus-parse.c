/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-creds.h"
#include "bus-parse.h"
#include "bus-util.h"
#include "names.h"

/* AttachMany/DetachMany: more than this many elements is a mistake. */
#define BATCH_MAX 65536
/* SetBindings: a bound on what is read into memory; the core refuses a set
 * its maps cannot hold long before this. */
#define SET_BINDINGS_MAX 1048576U

static const char *const manager_method_names[_MANAGER_METHOD_MAX] = {
        [MANAGER_ATTACH] = "Attach",
        [MANAGER_UPDATE] = "Update",
        [MANAGER_REPLACE] = "Replace",
        [MANAGER_DETACH] = "Detach",
        [MANAGER_GET_LINK] = "GetLink",
        [MANAGER_LIST_LINKS] = "ListLinks",
        [MANAGER_ATTACH_MANY] = "AttachMany",
        [MANAGER_DETACH_MANY] = "DetachMany",
};

static const char *const steering_method_names[_STEERING_METHOD_MAX] = {
        [STEERING_ADD_BINDING] = "AddBinding",
        [STEERING_REMOVE_BINDING] = "RemoveBinding",
        [STEERING_LIST_BINDINGS] = "ListBindings",
        [STEERING_SET_BINDINGS] = "SetBindings",
        [STEERING_REGISTER_SOCKET] = "RegisterSocket",
        [STEERING_UNREGISTER_SOCKET] = "UnregisterSocket",
        [STEERING_LIST_DESTINATIONS] = "ListDestinations",
};

static int method_from_name(const char *const *names, int n, const char *member) {
        for (int i = 0; member && i < n; i++)
                if (strcmp(names[i], member) == 0)
                        return i;
        return -EINVAL;
}

int manager_method_from_name(const char *member) {
        return method_from_name(manager_method_names, _MANAGER_METHOD_MAX, member);
}

int steering_method_from_name(const char *member) {
        return method_from_name(steering_method_names, _STEERING_METHOD_MAX, member);
}

static int read_string_value(sd_bus_message *m, const char *key, const char **ret, NlError *e) {
        int r = sd_bus_message_read(m, "v", "s", ret);

        if (r < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Program key '%s' must hold a string (s)", key);
        return 0;
}

/* The program key "bindings" (AttachBindings): its variant, read and
 * checked. x NULL: a call that takes none. */
static int read_attach_bindings(sd_bus_message *m, AttachBindings *x, NlError *e) {
        _cleanup_free_ NlSteerBinding *parsed = NULL;
        int r;

        if (!x)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Key 'bindings' is for Attach and AttachMany only");
        r = sd_bus_message_enter_container(m, 'v', "a(ssqs)");
        if (r > 0)
                r = sd_bus_message_enter_container(m, 'a', "(ssqs)");
        if (r <= 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Program key 'bindings' must hold an array of (protocol, prefix, port, label): "
                                    "a(ssqs)");
        x->n = 0;
        x->given = true;
        for (;;) {
                SteerBindingArgs a;

                r = sd_bus_message_read(m, "(ssqs)", &a.protocol, &a.prefix, &a.port, &a.label);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed binding in key 'bindings'");
                if (r == 0)
                        break;
                if (x->n >= ATTACH_BINDINGS_MAX)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -E2BIG,
                                            "At most %d bindings go with an Attach; set more with SetBindings",
                                            ATTACH_BINDINGS_MAX);
                x->b[x->n++] = a;
        }
        if (sd_bus_message_exit_container(m) < 0 || sd_bus_message_exit_container(m) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed key 'bindings'");
        /* Bad bindings are refused before any link is made for them. */
        r = steering_parse_bindings(x->b, x->n, &parsed, e);
        return r < 0 ? nl_error_prefix(e, r, "Key 'bindings'") : 0;
}

/* A program dictionary a{sv} (strings and fd stay owned by m), the
 * optional "source" the new link is to carry (*origin; NULL if none), and
 * the optional "bindings" (x; NULL for a call that takes none). */
static int read_program(sd_bus_message *m, ProgramSpec *p, const char **origin, AttachBindings *x, NlError *e) {
        const char *builtin = NULL, *path = NULL, *program = NULL;
        bool have_fd = false;
        int fd = -EBADF, r, sources;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The program must be a dictionary a{sv}");
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                char buf[64];

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");
                if (strcmp(key, "builtin") == 0)
                        r = read_string_value(m, key, &builtin, e);
                else if (strcmp(key, "object_path") == 0)
                        r = read_string_value(m, key, &path, e);
                else if (strcmp(key, "program") == 0)
                        r = read_string_value(m, key, &program, e);
                else if (strcmp(key, "source") == 0) {
                        r = read_string_value(m, key, origin, e);
                        if (r >= 0)
                                r = nl_link_origin_check(*origin, e);
                } else if (strcmp(key, "bindings") == 0)
                        r = read_attach_bindings(m, x, e);
                else if (strcmp(key, "object_fd") == 0) {
                        r = sd_bus_message_read(m, "v", "h", &fd);
                        if (r < 0)
                                r = nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                                 "Program key 'object_fd' must hold a file descriptor (h)");
                        have_fd = r >= 0;
                } else
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Unknown program key '%s' (expected builtin, object_fd, object_path, program, source, "
                                            "bindings)",
                                            nl_printable(key, buf, sizeof(buf)));
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");
        }
        if (r < 0 || sd_bus_message_exit_container(m) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Malformed program dictionary");

        sources = !!builtin + have_fd + !!path;
        if (sources != 1)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "The program needs exactly one of builtin, object_fd, object_path (got %d)",
                                    sources);
        if (x && x->given && (!builtin || strcmp(builtin, "steer") != 0))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Key 'bindings' goes with builtin:steer only");
        if (builtin) {
                if (program)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Key 'program' does not go with 'builtin'");
                *p = (ProgramSpec) { .kind = PROGRAM_BUILTIN, .builtin = builtin, .fd = -EBADF };
                return 0;
        }
        if (!program || !*program)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Key 'program' (the program's name in the object) is required");
        if (have_fd)
                *p = (ProgramSpec) { .kind = PROGRAM_FD, .fd = fd, .program = program };
        else
                *p = (ProgramSpec) { .kind = PROGRAM_PATH, .path = path, .program = program, .fd = -EBADF };
        return 0;
}


static int read_ref(sd_bus_message *msg, LinkRef *ref) {
        return sd_bus_message_read(msg, "sss", &ref->netns, &ref->type, &ref->name);
}

/* object_path names a file the daemon opens with its own rights: root only. */
static int check_program_access(Context *c, sd_bus_message *msg, const ProgramSpec *p, sd_bus_error *error) {
        if (p->kind != PROGRAM_PATH)
                return 0;
        if (bus_sender_is_root(c, msg) > 0)
                return 0;
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                "object_path is for root callers only; pass the object as object_fd");
}

/* A program dictionary, and whether this caller may name it; index
 * names the batch element in the error, if given. origin: see
 * read_program. */
static int read_checked_program(Context *c, sd_bus_message *msg, ProgramSpec *p, const char **origin,
                                AttachBindings *x, const size_t *index, sd_bus_error *error) {
        NlError e = {};
        int r;

        *origin = NULL;
        r = read_program(msg, p, origin, x, &e);
        if (r < 0) {
                if (index)
                        nl_error_prefix(&e, r, "Element %zu", *index);
                return bus_reply_nl_error(error, &e, r);
        }
        return check_program_access(c, msg, p, error);
}

/* Grows the arrays of a batch by one element. */
static int batch_grow(LinkRef **refs, ProgramSpec **progs, AttachBindings **binds, size_t n, size_t *allocated) {
        if (n < *allocated)
                return 0;
        size_t a = *allocated ? *allocated * 2 : 32;
        LinkRef *nr = reallocarray(*refs, a, sizeof(LinkRef));
        if (!nr)
                return -ENOMEM;
        *refs = nr;
        if (progs) {
                ProgramSpec *np = reallocarray(*progs, a, sizeof(ProgramSpec));
                if (!np)
                        return -ENOMEM;
                *progs = np;
                AttachBindings *nb = reallocarray(*binds, a, sizeof(AttachBindings));
                if (!nb)
                        return -ENOMEM;
                *binds = nb;
        }
        *allocated = a;
        return 0;
}

/* Reads AttachMany's a(sssa{sv}) (progs and binds given) or DetachMany's a(sss). */
static int read_batch(Context *c, sd_bus_message *msg, LinkRef **refs, ProgramSpec **progs, AttachBindings **binds,
                      size_t *ret_n, sd_bus_error *error) {
        const char *sig = progs ? "sssa{sv}" : "sss";
        size_t n = 0, allocated = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', progs ? "(sssa{sv})" : "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'r', sig)) > 0) {
                if (n >= BATCH_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "More than %d elements in one batch", BATCH_MAX);
                if (batch_grow(refs, progs, binds, n, &allocated) < 0)
                        return -ENOMEM;
                (*refs)[n] = (LinkRef) {};
                r = read_ref(msg, &(*refs)[n]);
                if (r < 0)
                        return r;
                if (progs) {
                        (*binds)[n] = (AttachBindings) {};
                        r = read_checked_program(c, msg, &(*progs)[n], &(*refs)[n].origin, &(*binds)[n], &n, error);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
                n++;
        }
        if (r < 0)
                return r;
        *ret_n = n;
        return sd_bus_message_exit_container(msg);
}

static bool manager_method_mutates(ManagerMethod method) {
        return method != MANAGER_GET_LINK && method != MANAGER_LIST_LINKS;
}

int bus_parse_manager_call(Context *c, sd_bus_message *msg, ManagerMethod method, ManagerCall *ret,
                           sd_bus_error *error) {
        int r;

        *ret = (ManagerCall) { .method = method, .prog.fd = -EBADF };
        if (manager_method_mutates(method)) {
                r = bus_check_mutate_access(c, msg, error);
                if (r < 0)
                        return r;
        }
        switch (method) {
        case MANAGER_ATTACH:
        case MANAGER_UPDATE:
        case MANAGER_REPLACE:
                r = read_ref(msg, &ret->ref);
                if (r >= 0 && method == MANAGER_REPLACE)
                        r = sd_bus_message_read(msg, "u", &ret->expected);
                if (r < 0)
                        return r;
                r = read_checked_program(c, msg, &ret->prog, &ret->ref.origin,
                                         method == MANAGER_ATTACH ? &ret->bindings : NULL, NULL, error);
                /* The source is the maker's to give, once. */
                if (r >= 0 && ret->ref.origin && method != MANAGER_ATTACH)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Key 'source' is for Attach and AttachMany only");
                return r;
        case MANAGER_DETACH:
        case MANAGER_GET_LINK:
                return read_ref(msg, &ret->ref);
        case MANAGER_LIST_LINKS:
                return sd_bus_message_read(msg, "s", &ret->netns);
        case MANAGER_ATTACH_MANY:
                return read_batch(c, msg, &ret->refs, &ret->progs, &ret->batch_bindings, &ret->n, error);
        case MANAGER_DETACH_MANY:
                return read_batch(c, msg, &ret->refs, NULL, NULL, &ret->n, error);
        default:
                return -EINVAL;
        }
}

void manager_call_done(ManagerCall *call) {
        free(call->refs);
        free(call->progs);
        free(call->batch_bindings);
        call->refs = NULL;
        call->progs = NULL;
        call->batch_bindings = NULL;
        call->n = 0;
}

static int read_binding_array(sd_bus_message *msg, SteeringCall *call, sd_bus_error *error) {
        size_t allocated = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "(ssqs)");
        if (r < 0)
                return r;
        for (;;) {
                SteerBindingArgs a;

                r = sd_bus_message_read(msg, "(ssqs)", &a.protocol, &a.prefix, &a.port, &a.label);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (call->n >= SET_BINDINGS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "More than %u bindings in one SetBindings", SET_BINDINGS_MAX);
                if (call->n == allocated) {
                        size_t n = allocated ? allocated * 2 : 64;
                        SteerBindingArgs *v = reallocarray(call->bindings, n, sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        call->bindings = v;
                        allocated = n;
                }
                call->bindings[call->n++] = a;
        }
        return sd_bus_message_exit_container(msg);
}

int bus_parse_steering_call(Context *c, sd_bus_message *msg, SteeringMethod method, SteeringCall *ret,
                            sd_bus_error *error) {
        SteerBindingArgs *b = &ret->binding;
        int r;

        *ret = (SteeringCall) {
                .method = method,
                .mutate = method != STEERING_LIST_BINDINGS && method != STEERING_LIST_DESTINATIONS,
                .fd = -EBADF,
        };
        if (ret->mutate) {
                r = bus_check_mutate_access(c, msg, error);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_read(msg, "ss", &ret->netns, &ret->link);
        if (r < 0)
                return r;
        switch (method) {
        case STEERING_ADD_BINDING:
                return sd_bus_message_read(msg, "ssqs", &b->protocol, &b->prefix, &b->port, &b->label);
        case STEERING_REMOVE_BINDING:
                return sd_bus_message_read(msg, "ssq", &b->protocol, &b->prefix, &b->port);
        case STEERING_SET_BINDINGS:
                return read_binding_array(msg, ret, error);
        case STEERING_REGISTER_SOCKET:
                return sd_bus_message_read(msg, "sh", &ret->label, &ret->fd);
        case STEERING_UNREGISTER_SOCKET:
                return sd_bus_message_read(msg, "s", &ret->label);
        case STEERING_LIST_BINDINGS:
        case STEERING_LIST_DESTINATIONS:
                return 0;
        default:
                return -EINVAL;
        }
}

void steering_call_done(SteeringCall *call) {
        free(call->bindings);
        call->bindings = NULL;
        call->n = 0;
}
