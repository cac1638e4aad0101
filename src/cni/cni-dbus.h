/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The few D-Bus messages the plugin exchanges with netnslinkd, on a direct
 * connection to its private socket, written and read here rather than with
 * sd-bus: a runtime starts the plugin once per pod and command, and
 * loading libsystemd with the eight libraries it needs cost a third of a
 * millisecond per start, a sixth of the whole ADD budget (issue 17). The
 * wire format is the D-Bus specification's ("Message Protocol"), in the
 * host's byte order (the peer is on the same host); authentication is
 * EXTERNAL with unix fd passing.
 *
 * Every function returns 0 (or a count) or a negative errno; a message
 * that breaks the format is -EBADMSG. Strings read from a reply point into
 * it and live as long as it.
 */

typedef struct CniBus CniBus;
typedef struct CniMsg CniMsg;

/* Connects to the unix socket path and authenticates. */
int cni_dbus_connect(const char *path, CniBus **ret);
CniBus *cni_dbus_close(CniBus *b);
/* A connection on fd, already authenticated (the fuzz harness's); it owns fd. */
int cni_dbus_from_fd(int fd, CniBus **ret);

/* ---- writing a call --------------------------------------------------- */

int cni_msg_new_call(const char *path, const char *iface, const char *member, CniMsg **ret);
CniMsg *cni_msg_free(CniMsg *m);
/* A string (s), or one of type 'o'. */
int cni_msg_append_str(CniMsg *m, char type, const char *s);
int cni_msg_append_u16(CniMsg *m, uint16_t v);
/* A unix fd (h): the message sends a copy of fd; the caller keeps fd. */
int cni_msg_append_fd(CniMsg *m, int fd);
/* Opens an array ('a'), struct ('r'), dict entry ('e') or variant ('v');
 * contents: the element's signature (arrays, variants). */
int cni_msg_open(CniMsg *m, char type, const char *contents);
int cni_msg_close(CniMsg *m);

/* Sends m and waits for its reply, *ret_reply (the caller frees it; the
 * reader is at its body). A D-Bus error reply is -EREMOTEIO with
 * *ret_error_name and *ret_error_message (pointing into *ret_reply) set;
 * a connection that fails, another negative errno with no reply. */
int cni_dbus_call(CniBus *b, CniMsg *m, CniMsg **ret_reply, const char **ret_error_name,
                  const char **ret_error_message);

/* ---- reading a reply --------------------------------------------------- */

/* Enters an array: *ret_end is where it ends (cni_msg_in: within it). */
int cni_msg_enter_array(CniMsg *m, char element_type, size_t *ret_end);
bool cni_msg_in(const CniMsg *m, size_t end);
int cni_msg_read_str(CniMsg *m, const char **ret);
/* A basic value of signature sig (one of "s", "q", "u", "t", "b"), into
 * *ret (a const char *, uint16_t, uint32_t, uint64_t or bool). */
int cni_msg_read_basic(CniMsg *m, char type, void *ret);
/* Skips one value of the single complete type sig. */
int cni_msg_skip(CniMsg *m, const char *sig);

/* Skips the rest of a reply's body, value by value as its signature says;
 * -EBADMSG unless that ends exactly at the body's end. */
int cni_msg_skip_body(CniMsg *m);

/* Reads one a{sv} dictionary: fn is called for each entry with its key and
 * its value's signature, and reads the value (returns 1) or leaves it to be
 * skipped (returns 0), or fails (< 0). */
typedef int (*cni_dict_fn)(CniMsg *m, const char *key, const char *sig, void *userdata);
int cni_msg_read_dict(CniMsg *m, cni_dict_fn fn, void *userdata);
