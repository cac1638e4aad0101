/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A small strict JSON parser (RFC 8259) for the files the CLI reads
 * (load-bindings). The whole document becomes a tree; every value keeps the
 * line and column it started at, so that a caller checking the shape can
 * name where a wrong value is.
 */
typedef enum JsonType {
        JSON_NULL,
        JSON_BOOLEAN,
        JSON_NUMBER,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

typedef struct JsonValue JsonValue;

struct JsonValue {
        JsonType type;
        unsigned line, column;
        bool boolean;
        double number;
        bool integer;           /* a number written without fraction or exponent */
        int64_t integer_value;  /* its value, if integer and it fits */
        char *string;           /* JSON_STRING, NUL-terminated UTF-8 (no NUL inside) */
        JsonValue *items;       /* JSON_ARRAY items, JSON_OBJECT values */
        char **keys;            /* JSON_OBJECT keys, in file order */
        size_t n;
};

/* Parses text (size bytes). On failure returns -EINVAL (or -ENOMEM) and
 * writes "line L, column C: what was wrong" into err. */
int json_parse(const char *text, size_t size, JsonValue *ret, char *err, size_t err_size);
void json_value_done(JsonValue *v);
const char *json_type_to_string(JsonType t);
/* The value of key in an object, or NULL. */
const JsonValue *json_object_get(const JsonValue *o, const char *key);
