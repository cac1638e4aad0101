/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "names.h"
#include "steer.h"

/*
 * Declarative configuration (../shared/CONTRACT.md, "Declarative
 * configuration"): one file describes one link, made in every netns its
 * [Match] names. Parsing and the search path live here, in the core
 * library, so that the daemon and `netnslinkctl verify` refuse exactly the
 * same files with exactly the same messages, through the validators the
 * D-Bus API uses.
 */

/* Below the config root ("" or "/" for the real one), by priority. */
#define NL_CONFIG_DIRS { "/etc/netnslink/links.d", "/run/netnslink/links.d", "/usr/lib/netnslink/links.d" }
#define NL_CONFIG_SUFFIX ".conf"

typedef struct NlConfigLink {
        char *path;                     /* the file it was read from */
        char **netns;                   /* [Match] Netns=: globs of names in /run/netns, or absolute paths */
        size_t n_netns;
        NlAttachType type;
        char name[NL_LINK_NAME_MAX + 1];
        char *program;                  /* Program= as written */
        char *builtin;                  /* "steer", "flow"; or NULL */
        char *object_path;              /* absolute path of a BPF ELF object; or NULL */
        char *object_program;           /* the program's name in it */
        NlSteerBinding *bindings;       /* [Binding] sections, in file order */
        size_t n_bindings;
} NlConfigLink;

/* Reads one file. A refusal fills e (NL_ERR_INVALID_ARGS) with a message
 * naming the file, the line and the key: "PATH:LINE: Key=: what is wrong". */
int nl_config_parse_file(const char *path, NlConfigLink **ret, NlError *e);
/* The same from an open stream; path is only used in messages. */
int nl_config_parse_stream(FILE *f, const char *path, NlConfigLink **ret, NlError *e);

NlConfigLink *nl_config_link_free(NlConfigLink *l);
static inline void nl_config_link_freep(NlConfigLink **l) { nl_config_link_free(*l); }

/* Does the link's [Match] name this netns? name: its name in /run/netns
 * (NULL if it has none); path: the netns file. */
bool nl_config_matches(const NlConfigLink *l, const char *name, const char *path);

/* The files of the search path under root (NULL or "" for /), as systemd
 * reads drop-in folders: a name in an earlier folder hides the same name in
 * a later one, and a name that is a symlink to /dev/null (or empty, or
 * /dev/null itself) is masked. Returns the paths of the files to read,
 * sorted by file name, NULL-terminated, in *ret (free with
 * nl_config_files_free); a folder that does not exist is skipped. With
 * ret_masked, also the masked names. */
int nl_config_files(const char *root, char ***ret, char ***ret_masked);
char **nl_config_files_free(char **files);
static inline void nl_config_files_freep(char ***f) { nl_config_files_free(*f); }
