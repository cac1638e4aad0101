/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <systemd/sd-bus.h>

/*
 * A dictionary a{sv} read off a D-Bus message once, each value kept both as
 * text (for tables) and as JSON (for --json), so that both outputs are built
 * from the same data.
 */
typedef struct DictEntry {
        char *key;
        char *text;
        char *json;
} DictEntry;

typedef struct Dict {
        DictEntry *entries;
        size_t n;
} Dict;

/* Reads one a{sv} at the message's read position. */
int dict_read(sd_bus_message *m, Dict *ret);
/* Reads an aa{sv}. */
int dict_read_array(sd_bus_message *m, Dict **ret, size_t *ret_n);
/* Adds key with its text and its JSON (NULL: text as a JSON string). */
int dict_add(Dict *d, const char *key, const char *text, const char *json);
void dict_done(Dict *d);
void dict_array_free(Dict *d, size_t n);

/* The text of key, or "-" if absent or empty (a table keeps its columns). */
const char *dict_get(const Dict *d, const char *key);
/* The whole dictionary as a JSON object; pretty with indent > 0. */
void dict_print_json(const Dict *d, FILE *f, int indent, int depth);

/* JSON string escaping. */
void json_print_string(FILE *f, const char *s);
