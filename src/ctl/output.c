/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "output.h"

static int indent_of(const OutputOptions *o) {
        return o->json == JSON_PRETTY ? 2 : 0;
}

static void print_json_array(const OutputOptions *o, const Dict *rows, size_t n) {
        int indent = indent_of(o);

        fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', stdout);
                if (indent)
                        fprintf(stdout, "\n%*s", indent, "");
                dict_print_json(&rows[i], stdout, indent, indent ? 1 : 0);
        }
        if (indent && n)
                fputc('\n', stdout);
        fputs("]\n", stdout);
}

void output_table(const OutputOptions *o, const Column *cols, size_t n_cols, const Dict *rows,
                  size_t n_rows, const char *noun) {
        size_t width[32] = {};

        if (o->json != JSON_OFF) {
                print_json_array(o, rows, n_rows);
                return;
        }
        if (n_cols > 32)
                n_cols = 32;
        for (size_t c = 0; c < n_cols; c++) {
                width[c] = strlen(cols[c].header);
                for (size_t r = 0; r < n_rows; r++) {
                        size_t w = strlen(dict_get(&rows[r], cols[c].key));
                        if (w > width[c])
                                width[c] = w;
                }
        }
        if (o->legend) {
                for (size_t c = 0; c < n_cols; c++)
                        printf("%-*s%s", c + 1 < n_cols ? (int) width[c] : 0, cols[c].header,
                               c + 1 < n_cols ? " " : "\n");
        }
        for (size_t r = 0; r < n_rows; r++)
                for (size_t c = 0; c < n_cols; c++)
                        printf("%-*s%s", c + 1 < n_cols ? (int) width[c] : 0, dict_get(&rows[r], cols[c].key),
                               c + 1 < n_cols ? " " : "\n");
        if (o->legend)
                printf("\n%zu %s listed.\n", n_rows, noun);
}

void output_record(const OutputOptions *o, const Column *cols, size_t n_cols, const Dict *d) {
        size_t w = 0;

        if (o->json != JSON_OFF) {
                dict_print_json(d, stdout, indent_of(o), 0);
                fputc('\n', stdout);
                return;
        }
        for (size_t c = 0; c < n_cols; c++)
                if (strlen(cols[c].header) > w)
                        w = strlen(cols[c].header);
        for (size_t c = 0; c < n_cols; c++)
                printf("%*s: %s\n", (int) w, cols[c].header, dict_get(d, cols[c].key));
}
