/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hashmap.h"
#include "link-ops.h"
#include "map-pins.h"
#include "prog-loader.h"
#include "sha256.h"

struct NlProgram {
        unsigned refcount;
        NlProgCache *cache;     /* NULL once evicted or when never cached */
        char *key;
        char *source;
        void *owner;
        void (*destroy)(void *owner);
        int fd;
        uint32_t id;
        char name[16];
        char tag[17];
        char *staging_dir;      /* its maps' folder, its alone until taken */
};

struct NlProgCache {
        Hashmap *programs;      /* key -> NlProgram, holding one reference */
        unsigned loads;
};

/* libbpf message capture. libbpf has one print hook for the whole process
 * and hands it no user data, so two things stay here, outside any object:
 * which capture is running (its text is its caller's, NlLibbpfCapture) and
 * where messages go when none is (the daemon's journal, set once). */

static NlLibbpfCapture *capturing;
static nl_libbpf_log_fn uncaptured_log;

#define CAPTURE_MAX ((size_t) 1024 * 1024)

static void capture_append(NlLibbpfCapture *c, const char *text, size_t n) {
        /* Keep the tail: the verifier's last lines say why. */
        if (n > CAPTURE_MAX / 2) {
                text += n - CAPTURE_MAX / 2;
                n = CAPTURE_MAX / 2;
        }
        if (c->len + n + 1 > CAPTURE_MAX) {
                size_t drop = c->len / 2 + 1;
                if (drop > c->len)
                        drop = c->len;
                memmove(c->buf, c->buf + drop, c->len - drop);
                c->len -= drop;
        }
        if (c->len + n + 1 > c->size) {
                size_t m = c->size ? c->size : 16384;
                while (m < c->len + n + 1)
                        m *= 2;
                char *p = realloc(c->buf, m);
                if (!p)
                        return;
                c->buf = p;
                c->size = m;
        }
        memcpy(c->buf + c->len, text, n);
        c->len += n;
        c->buf[c->len] = 0;
}

_printf_(2, 0) static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
        char *text = NULL;
        int n;

        /* Unread, a message is not worth formatting: libbpf says much at
         * debug level each time an object is opened (steer-maps.c does so
         * for every Steering call that opens a link's maps). */
        if (!capturing && (!uncaptured_log || level > LIBBPF_INFO))
                return 0;
        /* The verifier log arrives as one huge message: no fixed buffer. */
        n = vasprintf(&text, fmt, ap);
        if (n < 0)
                return 0;
        if (capturing)
                capture_append(capturing, text, n);
        else if (uncaptured_log && level <= LIBBPF_INFO)
                uncaptured_log(level == LIBBPF_WARN ? 4 : 7, text);
        free(text);
        return n;
}

void nl_libbpf_set_log(nl_libbpf_log_fn fn) {
        uncaptured_log = fn;
        libbpf_set_print(libbpf_print);
}

void nl_libbpf_capture_begin(NlLibbpfCapture *c) {
        libbpf_set_print(libbpf_print);
        c->len = 0;
        if (c->buf)
                c->buf[0] = 0;
        if (capturing != c) {
                c->outer = capturing;
                capturing = c;
        }
}

const char *nl_libbpf_capture_end(NlLibbpfCapture *c) {
        if (capturing == c) {
                capturing = c->outer;
                c->outer = NULL;
        }
        return c->buf ? c->buf : "";
}

void nl_libbpf_capture_done(NlLibbpfCapture *c) {
        (void) nl_libbpf_capture_end(c);
        free(c->buf);
        *c = (NlLibbpfCapture) {};
}

void nl_log_tail(const char *text, unsigned n, char *out, size_t size) {
        const char *start = text, *end, *marker;
        size_t len;

        /* libbpf frames the verifier log; prefer what is inside the frame. */
        marker = strstr(text, "-- BEGIN PROG LOAD LOG --");
        if (marker)
                start = marker + strlen("-- BEGIN PROG LOAD LOG --");
        end = strstr(start, "-- END PROG LOAD LOG --");
        if (!end)
                end = start + strlen(start);
        while (end > start && (end[-1] == '\n' || end[-1] == ' '))
                end--;

        const char *p = end;
        for (unsigned lines = 0; p > start; p--)
                if (p[-1] == '\n' && ++lines == n)
                        break;
        while (p < end && *p == '\n')
                p++;
        len = (size_t) (end - p);
        if (len >= size)
                p = end - (len = size - 1);
        memcpy(out, p, len);
        out[len] = 0;
        /* One message line for D-Bus and the journal: fold the newlines. */
        for (char *c = out; *c; c++)
                if (*c == '\n')
                        *c = '|';
}

/* The cache. */

NlProgCache *nl_prog_cache_new(void) {
        NlProgCache *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->programs = hashmap_new();
        if (!c->programs) {
                free(c);
                return NULL;
        }
        return c;
}

static void program_free(NlProgram *p) {
        /* Maps made for this program that nobody took: nobody else can
         * know the folder, so nobody else can still need it. */
        nl_map_pins_remove(p->staging_dir);
        free(p->staging_dir);
        safe_close(p->fd);
        if (p->destroy)
                p->destroy(p->owner);
        free(p->key);
        free(p->source);
        free(p);
}

static void cache_drop(void *v) {
        NlProgram *p = v;

        p->cache = NULL;
        nl_program_unref(p);
}

NlProgCache *nl_prog_cache_free(NlProgCache *c) {
        if (c) {
                hashmap_free(c->programs, cache_drop);
                free(c);
        }
        return NULL;
}

unsigned nl_prog_cache_loads(const NlProgCache *c) {
        return c->loads;
}

NlProgram *nl_program_ref(NlProgram *p) {
        if (p)
                p->refcount++;
        return p;
}

NlProgram *nl_program_unref(NlProgram *p) {
        if (!p)
                return NULL;
        if (--p->refcount == 0)
                program_free(p);
        return NULL;
}

int nl_program_fd(const NlProgram *p) { return p->fd; }
uint32_t nl_program_id(const NlProgram *p) { return p->id; }
const char *nl_program_name(const NlProgram *p) { return p->name; }
const char *nl_program_tag(const NlProgram *p) { return p->tag; }
const char *nl_program_source(const NlProgram *p) { return p->source; }
const char *nl_program_staging_dir(const NlProgram *p) { return p->staging_dir; }

int nl_program_set_staging_dir(NlProgram *p, const char *dir) {
        char *d = strdup(dir);

        if (!d)
                return -ENOMEM;
        free(p->staging_dir);
        p->staging_dir = d;
        return 0;
}

void nl_program_take_staging_dir(NlProgram *p) {
        free(p->staging_dir);
        p->staging_dir = NULL;
}

NlProgram *nl_prog_cache_lookup(NlProgCache *c, const char *key) {
        return nl_program_ref(hashmap_get(c->programs, key));
}

/* Keeps at most NL_PROG_CACHE_IDLE_MAX programs that only the cache holds. */
static void cache_trim(NlProgCache *c) {
        HashmapIter it = {};
        NlProgram *p;
        unsigned idle = 0;

        while (hashmap_iterate(c->programs, &it, (void **) &p, NULL))
                idle += p->refcount == 1;
        it = (HashmapIter) {};
        while (idle > NL_PROG_CACHE_IDLE_MAX && hashmap_iterate(c->programs, &it, (void **) &p, NULL))
                if (p->refcount == 1) {
                        hashmap_remove(c->programs, p->key);
                        cache_drop(p);
                        idle--;
                }
}

int nl_prog_cache_adopt(NlProgCache *c, const char *key, const char *source, void *owner,
                        void (*destroy)(void *owner), int prog_fd, NlProgram **ret, NlError *e) {
        NlProgram *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p) {
                if (destroy)
                        destroy(owner);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        p->refcount = 1;
        p->owner = owner;
        p->destroy = destroy;
        /* Our own fd: the owner may close its copy independently. */
        p->fd = fcntl(prog_fd, F_DUPFD_CLOEXEC, 3);
        if (p->fd < 0) {
                r = negative_errno();
                program_free(p);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot duplicate program fd: %m");
        }
        r = nl_prog_fd_describe(p->fd, &p->id, p->name, p->tag);
        if (r < 0) {
                program_free(p);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read program info: %m");
        }
        p->source = strdup(source ? source : "");
        if (!p->source) {
                program_free(p);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }

        if (key) {
                p->key = strdup(key);
                if (!p->key || hashmap_put(c->programs, key, p) < 0) {
                        program_free(p);
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                }
                p->cache = c;
                nl_program_ref(p);      /* the cache's reference */
                cache_trim(c);
        }
        *ret = p;
        return 0;
}

static int check_prog_name(const char *prog_name, NlError *e) {
        char pbuf[80];

        if (!prog_name || !*prog_name || strlen(prog_name) > 128)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid program name '%s'", nl_printable(prog_name, pbuf, sizeof(pbuf)));
        return 0;
}

int nl_prog_elf_key(const void *data, size_t size, const char *prog_name, NlAttachType type,
                    char *key, size_t key_size, char *source, size_t source_size, NlError *e) {
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        int r;

        r = check_prog_name(prog_name, e);
        if (r < 0)
                return r;
        if (size < 64)  /* not even an ELF header */
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ENOEXEC,
                                    "Not a BPF ELF object (%zu bytes)", size);
        nl_prog_elf_source(data, size, prog_name, hex, source, source_size);
        snprintf(key, key_size, "elf:%s:%s:%s", hex, nl_attach_type_to_string(type), prog_name);
        return 0;
}

int nl_prog_elf_load_fd(const void *data, size_t size, const char *prog_name, NlAttachType type, NlError *e) {
        LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "netnslink");
        _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {};
        char pbuf[80], tail[1536];
        struct bpf_object *obj;
        struct bpf_program *prog, *other;
        int r, fd;

        r = check_prog_name(prog_name, e);
        if (r < 0)
                return r;
        nl_printable(prog_name, pbuf, sizeof(pbuf));

        nl_libbpf_capture_begin(&cap);
        obj = bpf_object__open_mem(data, size, &opts);
        if (!obj) {
                r = negative_errno();
                nl_log_tail(nl_libbpf_capture_end(&cap), 3, tail, sizeof(tail));
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, r, "Not a valid BPF ELF object: %m%s%s",
                                    *tail ? ": " : "", tail);
        }

        prog = bpf_object__find_program_by_name(obj, prog_name);
        if (!prog) {
                nl_libbpf_capture_end(&cap);
                bpf_object__close(obj);
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ENOENT,
                                    "The object has no program named '%s'", pbuf);
        }
        if (bpf_program__type(prog) != nl_attach_type_prog_type(type)) {
                const char *have = libbpf_bpf_prog_type_str(bpf_program__type(prog));
                nl_libbpf_capture_end(&cap);
                bpf_object__close(obj);
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE,
                                    "Program '%s' is of type %s, but a %s link needs a %s program",
                                    pbuf, have ?: "unknown", nl_attach_type_to_string(type),
                                    libbpf_bpf_prog_type_str(nl_attach_type_prog_type(type)));
        }
        /* Load only the program asked for. */
        bpf_object__for_each_program(other, obj)
                if (other != prog)
                        bpf_program__set_autoload(other, false);
        bpf_program__set_expected_attach_type(prog, nl_attach_type_to_bpf(type));

        r = bpf_object__load(obj);
        nl_log_tail(nl_libbpf_capture_end(&cap), 6, tail, sizeof(tail));
        if (r < 0) {
                bpf_object__close(obj);
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, r,
                                    "Program '%s' was rejected by the kernel (%m); verifier: %s",
                                    pbuf, *tail ? tail : "(no log)");
        }
        /* The program holds its maps; the object can go. */
        fd = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 3);
        r = fd < 0 ? negative_errno() : 0;
        bpf_object__close(obj);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot duplicate program fd: %m");
        return fd;
}

int nl_prog_load_elf_mem(NlProgCache *c, const void *data, size_t size, const char *prog_name,
                         NlAttachType type, NlProgram **ret, NlError *e) {
        char key[256], source[128];
        NlProgram *cached;
        int r, fd;

        r = nl_prog_elf_key(data, size, prog_name, type, key, sizeof(key), source, sizeof(source), e);
        if (r < 0)
                return r;
        cached = nl_prog_cache_lookup(c, key);
        if (cached) {
                *ret = cached;
                return 0;
        }
        fd = nl_prog_elf_load_fd(data, size, prog_name, type, e);
        if (fd < 0)
                return fd;
        c->loads++;
        r = nl_prog_cache_adopt(c, key, source, NULL, NULL, fd, ret, e);
        close(fd);
        return r;
}

int nl_prog_load_elf_fd(NlProgCache *c, int fd, const char *prog_name, NlAttachType type,
                        NlProgram **ret, NlError *e) {
        _cleanup_free_ void *data = NULL;
        size_t size;
        int r;

        r = nl_prog_elf_read_fd(fd, &data, &size, e);
        if (r < 0)
                return r;
        return nl_prog_load_elf_mem(c, data, size, prog_name, type, ret, e);
}


int nl_prog_load_elf_path(NlProgCache *c, const char *path, const char *prog_name,
                          NlAttachType type, NlProgram **ret, NlError *e) {
        _cleanup_free_ void *data = NULL;
        size_t size;
        int r;

        r = nl_prog_elf_read_path(path, &data, &size, e);
        if (r < 0)
                return r;
        return nl_prog_load_elf_mem(c, data, size, prog_name, type, ret, e);
}
