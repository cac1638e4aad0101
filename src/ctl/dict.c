/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"

void json_print_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = *s;
                switch (c) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                default:
                        if (c < 0x20)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
}

static char *json_string_dup(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        json_print_string(f, s);
        fclose(f);
        return buf;
}

/* Reads the value inside a variant of contents type t. */
static int read_value(sd_bus_message *m, char type, const char *contents, char **text, char **json) {
        union {
                const char *s;
                uint64_t t;
                int64_t x;
                uint32_t u;
                int32_t i;
                uint16_t q;
                int16_t n;
                uint8_t y;
                int b;
                double d;
        } v;
        int r;

        switch (type) {
        case 's': case 'o': case 'g':
                r = sd_bus_message_read_basic(m, type, &v.s);
                if (r < 0)
                        return r;
                *text = strdup(v.s);
                *json = json_string_dup(v.s);
                break;
        case 't':
                r = sd_bus_message_read_basic(m, type, &v.t);
                if (r < 0)
                        return r;
                if (asprintf(text, "%" PRIu64, v.t) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'x':
                r = sd_bus_message_read_basic(m, type, &v.x);
                if (r < 0)
                        return r;
                if (asprintf(text, "%" PRIi64, v.x) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'u':
                r = sd_bus_message_read_basic(m, type, &v.u);
                if (r < 0)
                        return r;
                if (asprintf(text, "%" PRIu32, v.u) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'i':
                r = sd_bus_message_read_basic(m, type, &v.i);
                if (r < 0)
                        return r;
                if (asprintf(text, "%" PRIi32, v.i) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'q':
                r = sd_bus_message_read_basic(m, type, &v.q);
                if (r < 0)
                        return r;
                if (asprintf(text, "%u", v.q) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'y':
                r = sd_bus_message_read_basic(m, type, &v.y);
                if (r < 0)
                        return r;
                if (asprintf(text, "%u", v.y) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        case 'b':
                r = sd_bus_message_read_basic(m, type, &v.b);
                if (r < 0)
                        return r;
                *text = strdup(v.b ? "yes" : "no");
                *json = strdup(v.b ? "true" : "false");
                break;
        case 'd':
                r = sd_bus_message_read_basic(m, type, &v.d);
                if (r < 0)
                        return r;
                if (asprintf(text, "%g", v.d) < 0)
                        return -ENOMEM;
                *json = strdup(*text);
                break;
        default:
                /* Anything richer: skip it, but say so rather than guess. */
                r = sd_bus_message_skip(m, contents);
                if (r < 0)
                        return r;
                *text = strdup("?");
                *json = strdup("null");
        }
        return *text && *json ? 0 : -ENOMEM;
}

int dict_read(sd_bus_message *m, Dict *ret) {
        Dict d = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;
                DictEntry *e;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        goto fail;
                e = reallocarray(d.entries, d.n + 1, sizeof(DictEntry));
                if (!e) {
                        r = -ENOMEM;
                        goto fail;
                }
                d.entries = e;
                e = &d.entries[d.n];
                *e = (DictEntry) { .key = strdup(key) };
                d.n++;
                type = contents[0];
                r = read_value(m, (char) (contents[1] ? 0 : type), contents, &e->text, &e->json);
                if (r < 0 || !e->key)
                        goto fail;
                r = sd_bus_message_exit_container(m);   /* v */
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);   /* e */
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;
        *ret = d;
        return 0;
fail:
        dict_done(&d);
        return r < 0 ? r : -ENOMEM;
}

int dict_read_array(sd_bus_message *m, Dict **ret, size_t *ret_n) {
        Dict *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (;;) {
                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        goto fail;
                if (r > 0)
                        break;
                Dict *p = reallocarray(list, n + 1, sizeof(Dict));
                if (!p) {
                        r = -ENOMEM;
                        goto fail;
                }
                list = p;
                r = dict_read(m, &list[n]);
                if (r < 0)
                        goto fail;
                n++;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;
        *ret = list;
        *ret_n = n;
        return 0;
fail:
        dict_array_free(list, n);
        return r;
}

int dict_add(Dict *d, const char *key, const char *text, const char *json) {
        DictEntry *grown = reallocarray(d->entries, d->n + 1, sizeof(*grown));
        DictEntry *n;

        if (!grown)
                return -ENOMEM;
        d->entries = grown;
        n = &d->entries[d->n];
        *n = (DictEntry) { strdup(key), strdup(text), json ? strdup(json) : json_string_dup(text) };
        if (!n->key || !n->text || !n->json) {
                free(n->key);
                free(n->text);
                free(n->json);
                return -ENOMEM;
        }
        d->n++;
        return 0;
}

void dict_done(Dict *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->entries[i].key);
                free(d->entries[i].text);
                free(d->entries[i].json);
        }
        free(d->entries);
        *d = (Dict) {};
}

void dict_array_free(Dict *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                dict_done(&d[i]);
        free(d);
}

const char *dict_get(const Dict *d, const char *key) {
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->entries[i].key, key) == 0)
                        return d->entries[i].text[0] ? d->entries[i].text : "-";
        return "-";
}

void dict_print_json(const Dict *d, FILE *f, int indent, int depth) {
        fputc('{', f);
        for (size_t i = 0; i < d->n; i++) {
                if (i)
                        fputc(',', f);
                if (indent)
                        fprintf(f, "\n%*s", indent * (depth + 1), "");
                json_print_string(f, d->entries[i].key);
                fputs(indent ? ": " : ":", f);
                fputs(d->entries[i].json, f);
        }
        if (indent && d->n)
                fprintf(f, "\n%*s", indent * depth, "");
        fputc('}', f);
}
