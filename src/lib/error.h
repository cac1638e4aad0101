/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/*
 * Every core function returns a negative errno. Where the errno alone cannot
 * tell the caller which of the contract's errors it is (ENOENT is both "no
 * such netns" and "no such link"), the function also fills an NlError with
 * the kind and a one-line message naming what was wrong. The caller decides
 * what to log or which D-Bus error to send.
 */
typedef enum NlErrorKind {
        NL_ERR_NONE = 0,
        NL_ERR_FAILED,           /* anything else: org.freedesktop.DBus.Error.Failed */
        NL_ERR_INVALID_ARGS,
        NL_ERR_NO_SUCH_NETNS,
        NL_ERR_NO_SUCH_LINK,
        NL_ERR_LINK_EXISTS,
        NL_ERR_TOO_MANY_LINKS,
        NL_ERR_PROGRAM_MISMATCH,
        NL_ERR_INVALID_PROGRAM,
        NL_ERR_ACCESS_DENIED,
        _NL_ERR_MAX,
} NlErrorKind;

#define NL_ERROR_MESSAGE_MAX 4096

typedef struct NlError {
        NlErrorKind kind;
        int error;              /* positive errno */
        char message[NL_ERROR_MESSAGE_MAX];
} NlError;

/* Records kind and message (printf-style, %m allowed for -r) in e, if e is
 * not NULL, and returns r, which must be negative. */
int nl_error_set(NlError *e, NlErrorKind kind, int r, const char *fmt, ...) _printf_(4, 5);
int nl_error_setv(NlError *e, NlErrorKind kind, int r, const char *fmt, va_list ap) _printf_(4, 0);

/* Puts "prefix: " in front of an existing message, keeping its kind. */
int nl_error_prefix(NlError *e, int r, const char *fmt, ...) _printf_(3, 4);

void nl_error_clear(NlError *e);
const char *nl_error_kind_name(NlErrorKind kind);

/* The contract's D-Bus errors with their errnos, for sd_bus_error_add_map(). */
extern const sd_bus_error_map nl_bus_error_map[];

/* The D-Bus error name of a kind, as ../shared/CONTRACT.md names them. */
const char *nl_error_kind_to_dbus(NlErrorKind kind);
NlErrorKind nl_error_kind_from_dbus(const char *name);
