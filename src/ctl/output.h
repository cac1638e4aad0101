/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "dict.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

typedef struct OutputOptions {
        JsonMode json;
        bool legend;
} OutputOptions;

/* A column of a table: its header and the dictionary key it shows. */
typedef struct Column {
        const char *header;
        const char *key;
} Column;

/* Prints dicts as a table of cols (header line, rows, a closing legend line
 * "N <noun> listed."), or as a JSON array in --json mode. */
void output_table(const OutputOptions *o, const Column *cols, size_t n_cols, const Dict *rows,
                  size_t n_rows, const char *noun);
/* Prints one dict as "Key: value" lines, or as a JSON object. */
void output_record(const OutputOptions *o, const Column *cols, size_t n_cols, const Dict *d);
