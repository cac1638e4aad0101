/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"
#include "steer-set-job.h"
#include "steering.h"

/*
 * The first half of every method handler: who may call, and what the
 * message says, read in the order the contract's errors are given. The
 * handlers (bus-manager.c, bus-steering.c) call these, then the core, then
 * reply; the bus fuzzer (fuzz/fuzz-bus-message.c) calls these same ones.
 * Strings and fds in a call stay owned by the message.
 *
 * Each returns 0, or a negative errno with error set where the contract
 * names the error (else sd-bus makes one of the errno).
 */

typedef enum ManagerMethod {
        MANAGER_ATTACH,
        MANAGER_UPDATE,
        MANAGER_REPLACE,
        MANAGER_DETACH,
        MANAGER_GET_LINK,
        MANAGER_LIST_LINKS,
        MANAGER_ATTACH_MANY,
        MANAGER_DETACH_MANY,
        _MANAGER_METHOD_MAX,
} ManagerMethod;

/* Attach's and AttachMany's optional program key "bindings" (a(ssqs),
 * builtin:steer only): the new link's first bindings, written in the same
 * call, so that a client (the CNI plugin) needs no SetBindings after it.
 * Parsed and checked with the rest of the call, before anything is made. */
#define ATTACH_BINDINGS_MAX STEER_SET_INLINE_MAX      /* always written on the loop */
typedef struct AttachBindings {
        SteerBindingArgs b[ATTACH_BINDINGS_MAX];
        size_t n;
        bool given;
} AttachBindings;

typedef struct ManagerCall {
        ManagerMethod method;
        LinkRef ref;            /* single-link calls */
        uint32_t expected;      /* Replace: the program id the link must run */
        ProgramSpec prog;       /* Attach, Update, Replace */
        const char *netns;      /* ListLinks: "" for all */
        LinkRef *refs;          /* AttachMany, DetachMany */
        ProgramSpec *progs;     /* AttachMany */
        size_t n;
        AttachBindings bindings;        /* Attach */
        AttachBindings *batch_bindings; /* AttachMany: one per element */
} ManagerCall;

int bus_parse_manager_call(Context *c, sd_bus_message *msg, ManagerMethod method, ManagerCall *ret,
                           sd_bus_error *error);
void manager_call_done(ManagerCall *call);

typedef enum SteeringMethod {
        STEERING_ADD_BINDING,
        STEERING_REMOVE_BINDING,
        STEERING_LIST_BINDINGS,
        STEERING_SET_BINDINGS,
        STEERING_REGISTER_SOCKET,
        STEERING_UNREGISTER_SOCKET,
        STEERING_LIST_DESTINATIONS,
        _STEERING_METHOD_MAX,
} SteeringMethod;

typedef struct SteeringCall {
        SteeringMethod method;
        bool mutate;                    /* changes the link's steering */
        const char *netns, *link;
        SteerBindingArgs binding;       /* AddBinding, RemoveBinding */
        SteerBindingArgs *bindings;     /* SetBindings */
        size_t n;
        const char *label;              /* RegisterSocket, UnregisterSocket */
        int fd;                         /* RegisterSocket */
} SteeringCall;

int bus_parse_steering_call(Context *c, sd_bus_message *msg, SteeringMethod method, SteeringCall *ret,
                            sd_bus_error *error);
void steering_call_done(SteeringCall *call);

/* The method a member name is, or -EINVAL. */
int manager_method_from_name(const char *member);
int steering_method_from_name(const char *member);
