/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "builtins.h"
#include "error.h"
#include "prog-loader.h"
#include "steer.h"
#include "test-util.h"

/*
 * Inside test_main()'s sandbox (tests/lib/test-util.h: private mount
 * namespace and bpffs): a private netns with lo up, and the bpffs as the
 * pin root. What a test does dies with it.
 */
typedef struct SteerEnv {
        char tmp[256];
        int netns_fd;
        uint64_t netns_ino;
        NlProgCache *cache;
} SteerEnv;

typedef struct SteerLink {
        char map_dir[512];
        NlProgram *prog;
        int link_fd;           /* -1 when only loaded */
        NlSteer *steer;
} SteerLink;

int steer_env_setup(SteerEnv *env);
void steer_env_teardown(SteerEnv *env);
/* Loads builtin:steer on <tmp>/<ino>/steer/<name>/ and attaches it if asked. */
int steer_link_open(SteerEnv *env, const char *name, bool attach, SteerLink *l);
void steer_link_close(SteerLink *l);

/* Parses and adds, failing the check on error. */
bool steer_bind(SteerLink *l, const char *proto, const char *prefix, uint16_t port, const char *label);

/* Sockets: listening TCP / bound UDP on addr (NULL: loopback of the family,
 * "::" with dual_stack for a dual-stack socket), port 0 = any. */
int steer_socket(int family, int type, const char *addr, uint16_t port, bool dual_stack);
uint64_t steer_cookie(int fd);

/* Runs the program once on (protocol, address, port) through
 * BPF_PROG_TEST_RUN and returns the chosen socket's cookie, 0 for none. */
int steer_test_run(int prog_fd, uint8_t protocol, const char *addr, uint16_t port, uint64_t *ret_cookie);

int steer_sh(const char *fmt, ...) _printf_(1, 2);
