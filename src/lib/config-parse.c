/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One configuration file into an NlConfigLink, through Debian's libinih.
 *
 * libinih as Debian builds it gives the handler neither the line number nor
 * a call when a section starts, and it would join an indented line to the
 * key above it. So the lines reach it through our own reader, which counts
 * them, strips leading white space (indenting is allowed, continuation
 * lines are not a thing here), refuses overlong lines instead of letting
 * them be cut, and handles each [Section] line itself: a repeated
 * [Binding] starts a new binding even when the sections look alike.
 */
#include <arpa/inet.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtins.h"
#include "config.h"
#include "netns-ref.h"
#include "self-ref.h"

#define CONFIG_FILE_MAX ((size_t) 1024 * 1024)
#define PROGRAM_NAME_MAX 128

enum section { SEC_NONE, SEC_MATCH, SEC_LINK, SEC_BINDING };

/* The [Binding] being read: its keys as written, and where. */
struct binding {
        unsigned line;                  /* of its [Binding] */
        char *key[4];                   /* Protocol, Prefix, Port, Label */
        unsigned key_line[4];
};

static const char *const binding_keys[] = { "Protocol", "Prefix", "Port", "Label" };

struct parser {
        const char *path;
        FILE *f;
        char *buf;
        size_t buf_size;
        size_t bytes;
        unsigned line;
        enum section sec;
        bool in_binding;
        struct binding b;
        unsigned binding_lines_size;
        unsigned *binding_lines;        /* of each binding kept, for "the same as line N" */
        unsigned type_line, name_line, program_line;
        NlConfigLink *l;
        NlError *e;
        int r;                          /* the first refusal, 0 if none */
};

_printf_(4, 5) static int refuse(struct parser *p, unsigned line, const char *key, const char *fmt, ...) {
        char msg[NL_ERROR_MESSAGE_MAX];
        va_list ap;

        if (p->r < 0)
                return 0;       /* the first refusal is the one reported */
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (key)
                p->r = nl_error_set(p->e, NL_ERR_INVALID_ARGS, -EINVAL, "%s:%u: %s=: %s", p->path, line, key, msg);
        else
                p->r = nl_error_set(p->e, NL_ERR_INVALID_ARGS, -EINVAL, "%s:%u: %s", p->path, line, msg);
        return 0;
}

/* A validator's refusal (its message names the value), placed. */
static int refuse_with(struct parser *p, unsigned line, const char *key, const NlError *ve) {
        return refuse(p, line, key, "%s", ve->message);
}

static void binding_clear(struct binding *b) {
        for (size_t i = 0; i < ELEMENTSOF(b->key); i++)
                free(b->key[i]);
        *b = (struct binding) {};
}

static bool same_binding(const NlSteerBinding *a, const NlSteerBinding *b) {
        return a->protocol == b->protocol && a->family == b->family && a->prefixlen == b->prefixlen &&
               a->port == b->port && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The [Binding] just read is complete: check it as SetBindings would and
 * keep it. */
static void binding_finish(struct parser *p) {
        NlConfigLink *l = p->l;
        NlSteerBinding nb = {}, *grown;
        unsigned *lines;
        uint16_t port = 0;
        NlError ve = {};

        if (!p->in_binding)
                return;
        p->in_binding = false;
        for (size_t i = 0; i < ELEMENTSOF(binding_keys); i++)
                if (!p->b.key[i] && i != 2) {   /* Port= may be left out: every port */
                        refuse(p, p->b.line, NULL, "[Binding] has no %s=", binding_keys[i]);
                        goto out;
                }
        if (p->b.key[2] && nl_steer_port_parse(p->b.key[2], &port, &ve) < 0) {
                refuse_with(p, p->b.key_line[2], "Port", &ve);
                goto out;
        }
        if (nl_steer_binding_parse(p->b.key[0], p->b.key[1], port, p->b.key[3], &nb, &ve) < 0) {
                refuse(p, p->b.line, NULL, "[Binding]: %s", ve.message);
                goto out;
        }
        for (size_t i = 0; i < l->n_bindings; i++)
                if (same_binding(&l->bindings[i], &nb)) {
                        refuse(p, p->b.line, NULL, "[Binding]: the same protocol, prefix and port as the "
                               "[Binding] on line %u", p->binding_lines[i]);
                        goto out;
                }
        grown = reallocarray(l->bindings, l->n_bindings + 1, sizeof(*grown));
        if (!grown)
                goto oom;
        l->bindings = grown;
        lines = reallocarray(p->binding_lines, l->n_bindings + 1, sizeof(*lines));
        if (!lines)
                goto oom;
        p->binding_lines = lines;
        p->binding_lines[l->n_bindings] = p->b.line;
        l->bindings[l->n_bindings++] = nb;
        goto out;
oom:
        if (p->r == 0)
                p->r = nl_error_set(p->e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
out:
        binding_clear(&p->b);
}

/* A [Section] line, seen by the reader before libinih. */
static void section_start(struct parser *p, const char *line) {
        static const struct { const char *name; enum section sec; } sections[] = {
                { "[Match]", SEC_MATCH }, { "[Link]", SEC_LINK }, { "[Binding]", SEC_BINDING },
        };
        size_t n = strcspn(line, "\r\n");

        binding_finish(p);
        /* Trailing white space is libinih's to allow; the name is ours. */
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                n--;
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (strlen(sections[i].name) == n && strncmp(line, sections[i].name, n) == 0) {
                        p->sec = sections[i].sec;
                        if (p->sec == SEC_BINDING) {
                                p->in_binding = true;
                                p->b.line = p->line;
                        }
                        return;
                }
        p->sec = SEC_NONE;
        refuse(p, p->line, NULL, "Unknown section %.*s (there are [Match], [Link] and [Binding])",
               (int) (n > 80 ? 80 : n), line);
}

static char *reader(char *str, int num, void *userdata) {
        struct parser *p = userdata;
        ssize_t n;
        char *s;

        if (p->r < 0)
                return NULL;    /* refused: the rest is not read */
        n = getline(&p->buf, &p->buf_size, p->f);
        if (n < 0)
                return NULL;
        p->line++;
        p->bytes += (size_t) n;
        if (p->bytes > CONFIG_FILE_MAX) {
                refuse(p, p->line, NULL, "File is larger than %zu bytes", CONFIG_FILE_MAX);
                return NULL;
        }
        if (memchr(p->buf, 0, (size_t) n)) {
                refuse(p, p->line, NULL, "Line contains a NUL byte");
                return NULL;
        }
        s = p->buf;
        if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;         /* a UTF-8 BOM, which some editors write */
        s += strspn(s, " \t");
        /* libinih's buffer is num bytes; a longer line would be cut. */
        if (strlen(s) >= (size_t) num) {
                refuse(p, p->line, NULL, "Line is longer than %d characters", num - 2);
                return NULL;
        }
        if (s[0] == '[')
                section_start(p, s);
        memcpy(str, s, strlen(s) + 1);
        return str;
}

static int set_once(struct parser *p, const char *key, unsigned *line) {
        if (*line)
                return refuse(p, p->line, key, "Given twice (first on line %u)", *line);
        *line = p->line;
        return 1;
}

/* A token of Netns=: a glob of names in /run/netns, or an absolute path. */
static int match_token(struct parser *p, const char *tok) {
        NlConfigLink *l = p->l;
        char buf[80], rest[8], **grown;
        NlError ve = {};

        nl_printable(tok, buf, sizeof(buf));
        if (tok[0] == '/') {
                char path[4096];

                if (nl_netns_ref_to_path(tok, path, sizeof(path), &ve) < 0)
                        return refuse_with(p, p->line, "Netns", &ve);
                if (nl_self_ref(tok, 0, rest, sizeof(rest)) != NL_SELF_NONE)
                        return refuse(p, p->line, "Netns", "'%s' names the daemon's own files, not a netns of "
                                      "its own; name the netns by its name in /run/netns or by its path", buf);
        } else if (strncmp(tok, "pid:", 4) == 0 || strncmp(tok, "ino:", 4) == 0)
                return refuse(p, p->line, "Netns", "'%s': a configuration names netns by name (globs allowed) or "
                              "by absolute path; a pid or an inode names a netns only while it lasts", buf);
        else if (strcmp(tok, ".") == 0 || strcmp(tok, "..") == 0 || strlen(tok) > NAME_MAX)
                return refuse(p, p->line, "Netns", "'%s' is not a name in /run/netns", buf);
        for (const char *c = tok; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return refuse(p, p->line, "Netns", "'%s' contains a control character", buf);

        grown = reallocarray(l->netns, l->n_netns + 2, sizeof(*grown));
        if (!grown)
                return 0;
        l->netns = grown;
        l->netns[l->n_netns] = strdup(tok);
        if (!l->netns[l->n_netns])
                return 0;
        l->netns[++l->n_netns] = NULL;
        return 1;
}

static int match_key(struct parser *p, const char *name, const char *value) {
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        int n = 0;

        if (strcmp(name, "Netns") != 0)
                return refuse(p, p->line, name, "Unknown key in [Match] (there is Netns=)");
        copy = strdup(value);
        if (!copy)
                return 0;
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), n++)
                if (!match_token(p, tok))
                        return 0;
        if (n == 0)
                return refuse(p, p->line, name, "Empty: name at least one netns (Netns=* is every netns in /run/netns)");
        return 1;
}

static int link_key(struct parser *p, const char *name, const char *value) {
        NlConfigLink *l = p->l;
        NlError ve = {};

        if (strcmp(name, "Type") == 0) {
                if (!set_once(p, name, &p->type_line))
                        return 0;
                if (nl_attach_type_parse(value, &l->type, &ve) < 0)
                        return refuse_with(p, p->line, name, &ve);
        } else if (strcmp(name, "Name") == 0) {
                if (!set_once(p, name, &p->name_line))
                        return 0;
                if (nl_link_name_check(value, &ve) < 0)
                        return refuse_with(p, p->line, name, &ve);
                snprintf(l->name, sizeof(l->name), "%s", value);
        } else if (strcmp(name, "Program") == 0) {
                if (!set_once(p, name, &p->program_line))
                        return 0;
                l->program = strdup(value);
                if (!l->program)
                        return 0;
        } else
                return refuse(p, p->line, name, "Unknown key in [Link] (there are Type=, Name= and Program=)");
        return 1;
}

static int binding_key(struct parser *p, const char *name, const char *value) {
        NlError ve = {};
        uint8_t u8, addr[16];
        uint16_t port;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(binding_keys); i++) {
                if (strcmp(name, binding_keys[i]) != 0)
                        continue;
                if (!set_once(p, name, &p->b.key_line[i]))
                        return 0;
                switch (i) {
                case 0: r = nl_steer_protocol_parse(value, &u8, &ve); break;
                case 1: r = nl_steer_prefix_parse(value, &u8, addr, &u8, &ve); break;
                case 2: r = nl_steer_port_parse(value, &port, &ve); break;
                default: r = nl_steer_label_check(value, &ve); break;
                }
                if (r < 0)
                        return refuse_with(p, p->line, name, &ve);
                p->b.key[i] = strdup(value);
                return p->b.key[i] != NULL;
        }
        return refuse(p, p->line, name, "Unknown key in [Binding] (there are Protocol=, Prefix=, Port= and Label=)");
}

static int handler(void *userdata, const char *section, const char *name, const char *value) {
        struct parser *p = userdata;

        (void) section;         /* the reader tracks sections, by line */
        if (p->r < 0)
                return 1;
        switch (p->sec) {
        case SEC_MATCH: return match_key(p, name, value);
        case SEC_LINK: return link_key(p, name, value);
        case SEC_BINDING: return binding_key(p, name, value);
        default: return refuse(p, p->line, name, "Key outside of a section ([Match], [Link], [Binding])");
        }
}

/* Program=: builtin:NAME, or /abs/path/object.o:PROGNAME (the last ':'
 * splits, as in netnslinkctl's PROGRAM). */
static int check_program(struct parser *p) {
        NlConfigLink *l = p->l;
        const char *v = l->program, *colon;
        NlError ve = {};
        char buf[80];

        nl_printable(v, buf, sizeof(buf));
        if (strncmp(v, "builtin:", 8) == 0) {
                if (nl_builtin_check(v + 8, l->type, &ve) < 0)
                        return refuse_with(p, p->program_line, "Program", &ve);
                l->builtin = strdup(v + 8);
                return l->builtin ? 0 : -ENOMEM;
        }
        colon = strrchr(v, ':');
        if (v[0] != '/' || !colon || colon == v + 1 || !colon[1])
                return refuse(p, p->program_line, "Program", "'%s': expected builtin:steer, builtin:flow or "
                              "/absolute/path/to/object.bpf.o:PROGNAME", buf);
        if (strlen(colon + 1) > PROGRAM_NAME_MAX || strspn(colon + 1, "abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                                                              strlen(colon + 1))
                return refuse(p, p->program_line, "Program", "'%s': the program name after ':' must be a C "
                              "identifier of at most %d characters", buf, PROGRAM_NAME_MAX);
        l->object_path = strndup(v, (size_t) (colon - v));
        l->object_program = strdup(colon + 1);
        return l->object_path && l->object_program ? 0 : -ENOMEM;
}

/* What the whole file must say, once it is read. */
static void check_complete(struct parser *p) {
        NlConfigLink *l = p->l;

        binding_finish(p);
        if (p->r < 0)
                return;
        if (l->n_netns == 0)
                refuse(p, p->line, NULL, "[Match] Netns= is missing: name the netns the link goes in");
        else if (!p->type_line)
                refuse(p, p->line, NULL, "[Link] Type= is missing (sk_lookup or flow_dissector)");
        else if (!p->name_line)
                refuse(p, p->line, NULL, "[Link] Name= is missing");
        else if (!p->program_line)
                refuse(p, p->line, NULL, "[Link] Program= is missing");
        else if (check_program(p) == -ENOMEM)
                p->r = nl_error_set(p->e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        else if (p->r == 0 && l->n_bindings > 0 && (!l->builtin || strcmp(l->builtin, "steer") != 0))
                refuse(p, p->binding_lines[0], NULL, "[Binding] is only for Program=builtin:steer");
}

int nl_config_parse_stream(FILE *f, const char *path, NlConfigLink **ret, NlError *e) {
        _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
        struct parser p = { .path = path, .f = f, .e = e };
        int r;

        l = calloc(1, sizeof(*l));
        if (!l || !(l->path = strdup(path)))
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        l->type = _NL_ATTACH_INVALID;
        p.l = l;
        r = ini_parse_stream(reader, &p, handler, &p);
        if (p.r == 0 && r > 0)
                refuse(&p, (unsigned) r, NULL, "Expected [Section], Key=Value or a comment");
        else if (p.r == 0 && r < 0)
                p.r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        else if (p.r == 0 && ferror(f))
                p.r = nl_error_set(e, NL_ERR_FAILED, -EIO, "%s: read error", path);
        if (p.r == 0)
                check_complete(&p);
        binding_clear(&p.b);
        free(p.binding_lines);
        free(p.buf);
        if (p.r < 0)
                return p.r;
        *ret = TAKE_PTR(l);
        return 0;
}

int nl_config_parse_file(const char *path, NlConfigLink **ret, NlError *e) {
        struct stat st;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f)
                return nl_error_set(e, errno == ENOENT ? NL_ERR_INVALID_ARGS : NL_ERR_FAILED, negative_errno(),
                                    "%s: %m", path);
        if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
                fclose(f);
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "%s: not a regular file", path);
        }
        r = nl_config_parse_stream(f, path, ret, e);
        fclose(f);
        return r;
}

NlConfigLink *nl_config_link_free(NlConfigLink *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_netns; i++)
                free(l->netns[i]);
        free(l->netns);
        free(l->path);
        free(l->program);
        free(l->builtin);
        free(l->object_path);
        free(l->object_program);
        free(l->bindings);
        free(l);
        return NULL;
}
