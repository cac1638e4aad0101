/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Finding the socket to register for a steer label, for register-pid: the
 * sockets of a running process, taken with pidfd_getfd, and the choice of
 * the one(s) that can serve the label's bindings.
 */

/* Kinds of bindings, as a bit mask: bit (UDP ? 2 : 0) + (IPv6 ? 1 : 0). */
#define STEER_KIND_BIT(udp, v6) (1U << ((udp) ? 2 : 0) << ((v6) ? 1 : 0))
const char *steer_kind_to_string(unsigned bit_index);

typedef struct SteerSocket {
        int fd;                 /* our copy */
        int source_fd;          /* its number in the process it came from */
        int family;             /* AF_INET, AF_INET6 */
        bool udp;
        bool dual_stack;
        uint64_t cookie;
        char address[64];       /* "127.0.0.1:80", for messages */
} SteerSocket;

/* 1 if fd is a socket a label could use (TCP listening, or UDP bound and
 * unconnected, in netns netns_ino; 0 = any netns), filling s; 0 if not. */
int steer_socket_inspect(int fd, uint64_t netns_ino, SteerSocket *s);
/* The kinds a socket can serve (a dual-stack IPv6 socket serves IPv4 too). */
unsigned steer_socket_kinds(const SteerSocket *s);

/* Every usable socket of process pid in netns netns_ino, one per socket
 * (duplicates of a descriptor are dropped). Free with steer_sockets_free. */
int steer_sockets_of_pid(pid_t pid, uint64_t netns_ino, SteerSocket **ret, size_t *ret_n, char *err,
                         size_t err_size);
void steer_sockets_free(SteerSocket *s, size_t n);

/* Chooses among s[0..n) the sockets to register for a label whose bindings
 * are of the kinds in mask `kinds` (0: it has none yet, so exactly one
 * socket must be there): for each kind, the one socket of that exact family,
 * else the one dual-stack socket. Two candidates for one kind is ambiguous.
 * Fills pick[] with indexes and returns how many, or -errno with err set. */
int steer_sockets_pick(const SteerSocket *s, size_t n, unsigned kinds, size_t pick[4], char *err,
                       size_t err_size);
