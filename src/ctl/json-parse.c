/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-parse.h"
#include "macro.h"

/* Deeper nesting than this is refused, so hostile input cannot exhaust the
 * stack. */
#define JSON_DEPTH_MAX 64

typedef struct Parser {
        const char *p, *end;
        unsigned line, column;
        char *err;
        size_t err_size;
        int depth;
} Parser;

static int fail(Parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Parser *ps, const char *fmt, ...) {
        va_list ap;
        int n;

        n = snprintf(ps->err, ps->err_size, "line %u, column %u: ", ps->line, ps->column);
        if (n >= 0 && (size_t) n < ps->err_size) {
                va_start(ap, fmt);
                vsnprintf(ps->err + n, ps->err_size - n, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static int fail_oom(Parser *ps) {
        snprintf(ps->err, ps->err_size, "out of memory");
        return -ENOMEM;
}

static void advance(Parser *ps) {
        if (*ps->p == '\n') {
                ps->line++;
                ps->column = 1;
        } else if (((unsigned char) *ps->p & 0xc0) != 0x80)
                ps->column++;   /* columns count characters, not UTF-8 continuation bytes */
        ps->p++;
}

static void skip_space(Parser *ps) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
                advance(ps);
}

/* What is at the current position, for messages. */
static const char *describe(Parser *ps, char *buf, size_t size) {
        unsigned char c;

        if (ps->p >= ps->end)
                return "the end of the file";
        c = (unsigned char) *ps->p;
        if (c >= 0x20 && c < 0x7f)
                snprintf(buf, size, "'%c'", c);
        else
                snprintf(buf, size, "byte 0x%02x", c);
        return buf;
}

static int expect_literal(Parser *ps, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
                return fail(ps, "unknown literal (expected %s)", word);
        for (size_t i = 0; i < n; i++)
                advance(ps);
        return 0;
}

static int hex4(Parser *ps, unsigned *ret) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                int c = ps->p < ps->end ? (unsigned char) *ps->p : 0;
                int d = c >= '0' && c <= '9' ? c - '0' :
                        c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0)
                        return fail(ps, "\\u needs four hex digits");
                v = v * 16 + (unsigned) d;
                advance(ps);
        }
        *ret = v;
        return 0;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
        if (cp < 0x80)
                out[(*n)++] = (char) cp;
        else if (cp < 0x800) {
                out[(*n)++] = (char) (0xc0 | cp >> 6);
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                out[(*n)++] = (char) (0xe0 | cp >> 12);
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        } else {
                out[(*n)++] = (char) (0xf0 | cp >> 18);
                out[(*n)++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        }
}

/* Length of a valid UTF-8 sequence starting at p, 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
        unsigned cp;
        size_t n;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, cp = p[0] & 0x07;
        else
                return 0;
        if ((size_t) (end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static int parse_string(Parser *ps, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        advance(ps);    /* the opening quote */
        /* The decoded string is never longer than its source. */
        out = malloc((size_t) (ps->end - ps->p) + 1);
        if (!out)
                return fail_oom(ps);
        for (;;) {
                unsigned char c;

                if (ps->p >= ps->end)
                        return fail(ps, "unterminated string");
                c = (unsigned char) *ps->p;
                if (c == '"') {
                        advance(ps);
                        break;
                }
                if (c < 0x20)
                        return fail(ps, "control character 0x%02x in a string (escape it)", c);
                if (c == '\\') {
                        unsigned cp, lo;
                        int r;

                        advance(ps);
                        if (ps->p >= ps->end)
                                return fail(ps, "unterminated string");
                        c = (unsigned char) *ps->p;
                        advance(ps);
                        switch (c) {
                        case '"': case '\\': case '/': out[n++] = (char) c; break;
                        case 'b': out[n++] = '\b'; break;
                        case 'f': out[n++] = '\f'; break;
                        case 'n': out[n++] = '\n'; break;
                        case 'r': out[n++] = '\r'; break;
                        case 't': out[n++] = '\t'; break;
                        case 'u':
                                r = hex4(ps, &cp);
                                if (r < 0)
                                        return r;
                                if (cp >= 0xdc00 && cp <= 0xdfff)
                                        return fail(ps, "lone low surrogate \\u%04x", cp);
                                if (cp >= 0xd800 && cp <= 0xdbff) {
                                        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                                                return fail(ps, "high surrogate \\u%04x without its low half", cp);
                                        advance(ps);
                                        advance(ps);
                                        r = hex4(ps, &lo);
                                        if (r < 0)
                                                return r;
                                        if (lo < 0xdc00 || lo > 0xdfff)
                                                return fail(ps, "high surrogate \\u%04x followed by \\u%04x", cp, lo);
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                if (cp == 0)
                                        return fail(ps, "\\u0000 is not allowed in a string here");
                                put_utf8(out, &n, cp);
                                break;
                        default:
                                return fail(ps, "unknown escape \\%c", c >= 0x20 && c < 0x7f ? c : '?');
                        }
                        continue;
                }
                size_t l = utf8_len((const unsigned char *) ps->p, (const unsigned char *) ps->end);
                if (l == 0)
                        return fail(ps, "invalid UTF-8 in a string");
                for (size_t i = 0; i < l; i++) {
                        out[n++] = *ps->p;
                        advance(ps);
                }
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

static int parse_number(Parser *ps, JsonValue *v) {
        const char *start = ps->p;
        bool integer = true;
        char buf[64];

        if (*ps->p == '-')
                advance(ps);
        if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
                return fail(ps, "expected a digit");
        if (*ps->p == '0') {
                advance(ps);
                if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        return fail(ps, "numbers may not have leading zeros");
        } else
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        advance(ps);
        if (ps->p < ps->end && *ps->p == '.') {
                integer = false;
                advance(ps);
                if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
                        return fail(ps, "expected a digit after the decimal point");
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        advance(ps);
        }
        if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
                integer = false;
                advance(ps);
                if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
                        advance(ps);
                if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
                        return fail(ps, "expected a digit in the exponent");
                while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
                        advance(ps);
        }
        if ((size_t) (ps->p - start) >= sizeof(buf))
                return fail(ps, "number too long");
        memcpy(buf, start, ps->p - start);
        buf[ps->p - start] = 0;
        v->type = JSON_NUMBER;
        v->number = strtod(buf, NULL);
        if (!isfinite(v->number))
                return fail(ps, "number out of range");
        if (integer) {
                errno = 0;
                long long x = strtoll(buf, NULL, 10);
                v->integer = errno == 0;
                v->integer_value = x;
        }
        return 0;
}

static int parse_value(Parser *ps, JsonValue *v);

/* Parses the elements of an array or object after its opening bracket. */
static int parse_container(Parser *ps, JsonValue *v, bool object) {
        char close = object ? '}' : ']', buf[16];
        size_t allocated = 0;
        int r;

        v->type = object ? JSON_OBJECT : JSON_ARRAY;
        if (++ps->depth > JSON_DEPTH_MAX)
                return fail(ps, "nested deeper than %d levels", JSON_DEPTH_MAX);
        advance(ps);
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == close) {
                advance(ps);
                ps->depth--;
                return 0;
        }
        for (;;) {
                char *key = NULL;

                skip_space(ps);
                if (object) {
                        if (ps->p >= ps->end || *ps->p != '"')
                                return fail(ps, "expected a key string, got %s", describe(ps, buf, sizeof(buf)));
                        r = parse_string(ps, &key);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < v->n; i++)
                                if (strcmp(v->keys[i], key) == 0) {
                                        r = fail(ps, "duplicate key \"%s\"", key);
                                        free(key);
                                        return r;
                                }
                        skip_space(ps);
                        if (ps->p >= ps->end || *ps->p != ':') {
                                free(key);
                                return fail(ps, "expected ':' after a key, got %s", describe(ps, buf, sizeof(buf)));
                        }
                        advance(ps);
                }
                if (v->n == allocated) {
                        size_t a = allocated ? allocated * 2 : 8;
                        JsonValue *ni = reallocarray(v->items, a, sizeof(JsonValue));
                        char **nk = NULL;

                        if (ni)
                                v->items = ni;
                        if (ni && object) {
                                nk = reallocarray(v->keys, a, sizeof(char *));
                                if (nk)
                                        v->keys = nk;
                        }
                        if (!ni || (object && !nk)) {
                                free(key);
                                return fail_oom(ps);
                        }
                        allocated = a;
                }
                if (object)
                        v->keys[v->n] = key;
                v->items[v->n] = (JsonValue) {};
                v->n++;
                r = parse_value(ps, &v->items[v->n - 1]);
                if (r < 0)
                        return r;
                skip_space(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                        advance(ps);
                        skip_space(ps);
                        if (ps->p < ps->end && *ps->p == close)
                                return fail(ps, "trailing comma before '%c'", close);
                        continue;
                }
                if (ps->p < ps->end && *ps->p == close) {
                        advance(ps);
                        ps->depth--;
                        return 0;
                }
                return fail(ps, "expected ',' or '%c', got %s", close, describe(ps, buf, sizeof(buf)));
        }
}

static int parse_value(Parser *ps, JsonValue *v) {
        char buf[16];
        int r;

        skip_space(ps);
        v->line = ps->line;
        v->column = ps->column;
        if (ps->p >= ps->end)
                return fail(ps, "expected a value, got the end of the file");
        switch (*ps->p) {
        case '{':
                return parse_container(ps, v, true);
        case '[':
                return parse_container(ps, v, false);
        case '"':
                v->type = JSON_STRING;
                return parse_string(ps, &v->string);
        case 't':
        case 'f':
                v->type = JSON_BOOLEAN;
                v->boolean = *ps->p == 't';
                return expect_literal(ps, v->boolean ? "true" : "false");
        case 'n':
                v->type = JSON_NULL;
                return expect_literal(ps, "null");
        default:
                if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
                        return parse_number(ps, v);
                r = fail(ps, "expected a value, got %s", describe(ps, buf, sizeof(buf)));
                return r;
        }
}

int json_parse(const char *text, size_t size, JsonValue *ret, char *err, size_t err_size) {
        Parser ps = { .p = text, .end = text + size, .line = 1, .column = 1, .err = err, .err_size = err_size };
        JsonValue v = {};
        char buf[16];
        int r;

        if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                ps.p += 3;      /* a UTF-8 byte order mark */
        r = parse_value(&ps, &v);
        if (r >= 0) {
                skip_space(&ps);
                if (ps.p < ps.end)
                        r = fail(&ps, "unexpected %s after the document", describe(&ps, buf, sizeof(buf)));
        }
        if (r < 0) {
                json_value_done(&v);
                return r;
        }
        *ret = v;
        return 0;
}

void json_value_done(JsonValue *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++) {
                json_value_done(&v->items[i]);
                if (v->keys)
                        free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->string);
        *v = (JsonValue) {};
}

const char *json_type_to_string(JsonType t) {
        static const char *const names[] = {
                [JSON_NULL] = "null", [JSON_BOOLEAN] = "a boolean", [JSON_NUMBER] = "a number",
                [JSON_STRING] = "a string", [JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object",
        };
        return (unsigned) t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const JsonValue *json_object_get(const JsonValue *o, const char *key) {
        if (o->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < o->n; i++)
                if (strcmp(o->keys[i], key) == 0)
                        return &o->items[i];
        return NULL;
}
