/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's D-Bus messages, without sd-bus (cni-dbus.h says why). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cni-dbus.h"
#include "macro.h"

#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#define MIN2(a, b) ((a) < (b) ? (a) : (b))

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define HOST_ENDIAN 'l'
#else
#define HOST_ENDIAN 'B'
#endif

enum {
        TYPE_METHOD_CALL = 1,
        TYPE_METHOD_RETURN = 2,
        TYPE_ERROR = 3,
        FIELD_PATH = 1,
        FIELD_INTERFACE = 2,
        FIELD_MEMBER = 3,
        FIELD_ERROR_NAME = 4,
        FIELD_REPLY_SERIAL = 5,
        FIELD_SIGNATURE = 8,
        FIELD_UNIX_FDS = 9,
};

/* A reply larger than this is refused (ListLinks of 100,000 links is
 * about 40 MiB). */
#define MESSAGE_MAX (128U * 1024 * 1024)
#define FDS_MAX 16
#define DEPTH_MAX 16
/* How long the daemon may take to answer one call. */
#define CALL_TIMEOUT_MS (25 * 1000)

struct CniBus {
        int fd;
        uint32_t serial;
};

typedef struct Open {
        char type;
        size_t len_at, start;   /* arrays: where the length goes, where elements start */
} Open;

struct CniMsg {
        uint8_t *buf;
        size_t len, cap;
        int error;              /* the first failure while writing */
        /* A call being written: its header's strings and body signature. */
        char *path, *iface, *member;
        char sig[256];
        size_t sig_len;
        Open open[DEPTH_MAX];
        unsigned depth;
        int fds[FDS_MAX];
        unsigned n_fds;
        /* A reply being read: the cursor, the body's end, its signature. */
        size_t pos, end;
        const char *body_sig;
};

static size_t align_of(char type) {
        switch (type) {
        case 'n': case 'q':
                return 2;
        case 'b': case 'i': case 'u': case 'h': case 's': case 'o': case 'a':
                return 4;
        case 'x': case 't': case 'd': case '(': case '{': case 'r': case 'e':
                return 8;
        default:
                return 1;
        }
}

/* ---- writing ------------------------------------------------------------ */

static int put(CniMsg *m, const void *p, size_t n) {
        if (m->error || n == 0)
                return m->error;
        if (m->len + n > m->cap) {
                size_t cap = MAX2(m->cap * 2, m->len + n + 256);
                uint8_t *b = realloc(m->buf, cap);
                if (!b)
                        return m->error = -ENOMEM;
                m->buf = b;
                m->cap = cap;
        }
        if (p)
                memcpy(m->buf + m->len, p, n);
        else
                memset(m->buf + m->len, 0, n);
        m->len += n;
        return 0;
}

static int pad(CniMsg *m, size_t a) {
        return put(m, NULL, (a - m->len % a) % a);
}

static int put_u32(CniMsg *m, uint32_t v) {
        int r = pad(m, 4);
        return r < 0 ? r : put(m, &v, 4);
}

/* Adds to the body's signature what is written outside any container. */
static void sig_add(CniMsg *m, const char *s, size_t n) {
        if (m->depth > 0 || m->error)
                return;
        if (m->sig_len + n >= sizeof(m->sig)) {
                m->error = -E2BIG;
                return;
        }
        memcpy(m->sig + m->sig_len, s, n);
        m->sig_len += n;
        m->sig[m->sig_len] = 0;
}

static int put_str(CniMsg *m, const char *s) {
        size_t n = strlen(s);
        int r;

        if (n > UINT32_MAX - 1)
                return m->error = -E2BIG;
        r = put_u32(m, (uint32_t) n);
        return r < 0 ? r : put(m, s, n + 1);
}

static int put_sig(CniMsg *m, const char *s) {
        size_t n = strlen(s);
        uint8_t len = (uint8_t) n;
        int r;

        if (n > 255)
                return m->error = -E2BIG;
        r = put(m, &len, 1);
        return r < 0 ? r : put(m, s, n + 1);
}

int cni_msg_new_call(const char *path, const char *iface, const char *member, CniMsg **ret) {
        CniMsg *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        m->path = strdup(path);
        m->iface = strdup(iface);
        m->member = strdup(member);
        if (!m->path || !m->iface || !m->member) {
                cni_msg_free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

CniMsg *cni_msg_free(CniMsg *m) {
        if (!m)
                return NULL;
        for (unsigned i = 0; i < m->n_fds; i++)
                close(m->fds[i]);
        free(m->path);
        free(m->iface);
        free(m->member);
        free(m->buf);
        free(m);
        return NULL;
}

int cni_msg_append_str(CniMsg *m, char type, const char *s) {
        sig_add(m, &type, 1);
        return put_str(m, s);
}

int cni_msg_append_u16(CniMsg *m, uint16_t v) {
        int r;

        sig_add(m, "q", 1);
        r = pad(m, 2);
        return r < 0 ? r : put(m, &v, 2);
}

int cni_msg_append_fd(CniMsg *m, int fd) {
        int copy;

        if (m->error)
                return m->error;
        if (m->n_fds >= FDS_MAX)
                return m->error = -E2BIG;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return m->error = -errno;
        m->fds[m->n_fds] = copy;
        sig_add(m, "h", 1);
        return put_u32(m, m->n_fds++);
}

int cni_msg_open(CniMsg *m, char type, const char *contents) {
        Open o = { .type = type };
        int r;

        if (m->error)
                return m->error;
        if (m->depth >= DEPTH_MAX)
                return m->error = -E2BIG;
        switch (type) {
        case 'a':
                sig_add(m, "a", 1);
                sig_add(m, contents, strlen(contents));
                r = put_u32(m, 0);
                o.len_at = m->len - 4;
                if (r >= 0)
                        r = pad(m, align_of(contents[0]));
                o.start = m->len;
                break;
        case 'r':
                sig_add(m, "(", 1);
                sig_add(m, contents, strlen(contents));
                sig_add(m, ")", 1);
                r = pad(m, 8);
                break;
        case 'e':
                r = pad(m, 8);
                break;
        case 'v':
                sig_add(m, "v", 1);
                r = put_sig(m, contents);
                break;
        default:
                return m->error = -EINVAL;
        }
        if (r < 0)
                return r;
        m->open[m->depth++] = o;
        return 0;
}

int cni_msg_close(CniMsg *m) {
        Open *o;

        if (m->error)
                return m->error;
        if (m->depth == 0)
                return m->error = -EINVAL;
        o = &m->open[--m->depth];
        if (o->type == 'a') {
                uint32_t n = (uint32_t) (m->len - o->start);
                memcpy(m->buf + o->len_at, &n, 4);
        }
        return 0;
}

/* ---- the connection ------------------------------------------------------ */

/* Waits for fd to be ready for events, within the call's time. */
static int wait_for(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, CALL_TIMEOUT_MS);

        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

/* After a send or receive that failed with errno: 1 to try again
 * (interrupted, or ready now), else the error. */
static int transient(int fd, short events) {
        int r;

        if (errno == EINTR)
                return 1;
        if (errno != EAGAIN)
                return -errno;
        r = wait_for(fd, events);
        return r < 0 ? r : 1;
}

static int send_all(int fd, const struct iovec *iov, int n_iov, const int *fds, unsigned n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
        } control = {};
        struct iovec v[4];
        struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t) n_iov };
        size_t left = 0;

        if (n_iov > 4)
                return -EINVAL;
        memcpy(v, iov, sizeof(*iov) * (size_t) n_iov);
        for (int i = 0; i < n_iov; i++)
                left += v[i].iov_len;
        if (n_fds > 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
                CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
                CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, sizeof(int) * n_fds);
        }
        while (left > 0) {
                ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);
                size_t done;

                if (k < 0) {
                        int r = transient(fd, POLLOUT);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* The fds went with the first bytes. */
                mh.msg_control = NULL;
                mh.msg_controllen = 0;
                left -= (size_t) k;
                for (done = (size_t) k; done > 0 && mh.msg_iovlen > 0;) {
                        size_t n = MIN2(done, mh.msg_iov->iov_len);
                        mh.msg_iov->iov_base = (char *) mh.msg_iov->iov_base + n;
                        mh.msg_iov->iov_len -= n;
                        done -= n;
                        if (mh.msg_iov->iov_len == 0) {
                                mh.msg_iov++;
                                mh.msg_iovlen--;
                        }
                }
        }
        return 0;
}

/* Reads exactly n bytes; fds that come along are closed (none is asked for). */
static int recv_all(int fd, void *p, size_t n) {
        while (n > 0) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
                } control;
                struct iovec v = { p, n };
                struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = control.buf,
                                     .msg_controllen = sizeof(control.buf) };
                ssize_t k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

                if (k < 0) {
                        int r = transient(fd, POLLIN);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k == 0)
                        return -ECONNRESET;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
                                        close(((int *) CMSG_DATA(c))[i]);
                p = (char *) p + k;
                n -= (size_t) k;
        }
        return 0;
}

/* EXTERNAL as our uid, and unix fds: the server's two answers. */
static int authenticate(int fd) {
        char hello[128], got[512], uid[16];
        size_t n = 0, len = 0;
        int r;

        /* A nul byte, then the lines; the uid in hex of its decimal digits. */
        hello[len++] = 0;
        len += (size_t) snprintf(hello + len, sizeof(hello) - len, "AUTH EXTERNAL ");
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        for (const char *c = uid; *c; c++)
                len += (size_t) snprintf(hello + len, sizeof(hello) - len, "%02x", (unsigned) *c);
        len += (size_t) snprintf(hello + len, sizeof(hello) - len, "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n");
        r = send_all(fd, &(struct iovec) { hello, len }, 1, NULL, 0);
        if (r < 0)
                return r;
        /* The server says nothing after these two lines until it is
         * called: reading whatever comes cannot take a message's bytes. */
        for (;;) {
                ssize_t k;
                const char *ok, *agree;

                if (n >= sizeof(got) - 1)
                        return -EBADMSG;
                k = recv(fd, got + n, sizeof(got) - 1 - n, 0);
                if (k < 0) {
                        r = transient(fd, POLLIN);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k == 0)
                        return -ECONNRESET;
                n += (size_t) k;
                got[n] = 0;
                if (strstr(got, "REJECTED") || strstr(got, "ERROR"))
                        return -EPERM;
                ok = strstr(got, "OK ");
                agree = strstr(got, "AGREE_UNIX_FD\r\n");
                if (ok && agree)
                        return 0;
        }
}

int cni_dbus_connect(const char *path, CniBus **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        CniBus *b;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        /* Non-blocking: every wait is a poll with the call's timeout, so a
         * daemon that stops answering costs a pod 25 s, not forever. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = authenticate(fd);
        b = r >= 0 ? calloc(1, sizeof(*b)) : NULL;
        if (!b) {
                close(fd);
                return r < 0 ? r : -ENOMEM;
        }
        b->fd = fd;
        *ret = b;
        return 0;
}

int cni_dbus_from_fd(int fd, CniBus **ret) {
        CniBus *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        b->fd = fd;
        *ret = b;
        return 0;
}

CniBus *cni_dbus_close(CniBus *b) {
        if (b) {
                close(b->fd);
                free(b);
        }
        return NULL;
}

/* ---- reading -------------------------------------------------------------- */

static int need(const CniMsg *m, size_t n) {
        return m->pos <= m->end && n <= m->end - m->pos ? 0 : -EBADMSG;
}

static int skip_pad(CniMsg *m, size_t a) {
        size_t p = (a - m->pos % a) % a;
        int r = need(m, p);

        if (r < 0)
                return r;
        for (size_t i = 0; i < p; i++)
                if (m->buf[m->pos + i] != 0)
                        return -EBADMSG;
        m->pos += p;
        return 0;
}

static int read_fixed(CniMsg *m, size_t size, void *ret) {
        int r = skip_pad(m, size);

        if (r >= 0)
                r = need(m, size);
        if (r < 0)
                return r;
        if (ret)
                memcpy(ret, m->buf + m->pos, size);
        m->pos += size;
        return 0;
}

/* n bytes and a nul, none inside: a string's or a signature's text. */
static int read_text(CniMsg *m, size_t n, const char **ret) {
        int r = need(m, n + 1);

        if (r < 0)
                return r;
        if (m->buf[m->pos + n] != 0 || memchr(m->buf + m->pos, 0, n))
                return -EBADMSG;
        if (ret)
                *ret = (const char *) m->buf + m->pos;
        m->pos += n + 1;
        return 0;
}

int cni_msg_read_str(CniMsg *m, const char **ret) {
        uint32_t n;
        int r = read_fixed(m, 4, &n);

        return r < 0 ? r : read_text(m, n, ret);
}

static int read_sig(CniMsg *m, const char **ret) {
        uint8_t n;
        int r = read_fixed(m, 1, &n);

        return r < 0 ? r : read_text(m, n, ret);
}

int cni_msg_read_basic(CniMsg *m, char type, void *ret) {
        uint32_t b;
        int r;

        switch (type) {
        case 's': case 'o':
                return cni_msg_read_str(m, ret);
        case 'g':
                return read_sig(m, ret);
        case 'q':
                return read_fixed(m, 2, ret);
        case 'u':
                return read_fixed(m, 4, ret);
        case 't':
                return read_fixed(m, 8, ret);
        case 'b':
                r = read_fixed(m, 4, &b);
                if (r < 0)
                        return r;
                if (b > 1)
                        return -EBADMSG;
                if (ret)
                        *(bool *) ret = b;
                return 0;
        default:
                return -EINVAL;
        }
}

int cni_msg_enter_array(CniMsg *m, char element_type, size_t *ret_end) {
        uint32_t n;
        int r = read_fixed(m, 4, &n);

        if (r >= 0)
                r = skip_pad(m, align_of(element_type));
        if (r >= 0)
                r = need(m, n);
        if (r < 0)
                return r;
        *ret_end = m->pos + n;
        return 0;
}

bool cni_msg_in(const CniMsg *m, size_t end) {
        return m->pos < end;
}

/* The end of the single complete type at s, or NULL. */
static const char *type_end(const char *s, unsigned depth) {
        if (depth > 2 * DEPTH_MAX)
                return NULL;
        switch (*s) {
        case 'a':
                return type_end(s + 1, depth + 1);
        case '(':
        case '{': {
                /* Not empty: an array of empty structs would be endless. */
                const char *first = s + 1;
                char close = *s == '(' ? ')' : '}';
                for (s++; s && *s && *s != close;)
                        s = type_end(s, depth + 1);
                return s && *s == close && s > first ? s + 1 : NULL;
        }
        case 0: case ')': case '}':
                return NULL;
        default:
                return strchr("ybnqiuxtdhsogv", *s) ? s + 1 : NULL;
        }
}

static int skip_type(CniMsg *m, const char *sig, const char **rest, unsigned depth) {
        const char *end = type_end(sig, 0), *inner;
        size_t array_end;
        int r;

        if (!end || depth > 2 * DEPTH_MAX)
                return -EBADMSG;
        *rest = end;
        switch (*sig) {
        case 'y':
                return read_fixed(m, 1, NULL);
        case 'n': case 'q':
                return read_fixed(m, 2, NULL);
        case 'b': case 'i': case 'u': case 'h':
                return read_fixed(m, 4, NULL);
        case 'x': case 't': case 'd':
                return read_fixed(m, 8, NULL);
        case 's': case 'o':
                return cni_msg_read_str(m, NULL);
        case 'g':
                return read_sig(m, NULL);
        case 'v':
                r = read_sig(m, &inner);
                if (r >= 0 && type_end(inner, 0) != inner + strlen(inner))
                        r = -EBADMSG;
                return r < 0 ? r : skip_type(m, inner, &inner, depth + 1);
        case 'a':
                r = cni_msg_enter_array(m, sig[1], &array_end);
                while (r >= 0 && m->pos < array_end)
                        r = skip_type(m, sig + 1, &inner, depth + 1);
                return r < 0 ? r : m->pos == array_end ? 0 : -EBADMSG;
        default:        /* ( or { */
                r = skip_pad(m, 8);
                for (inner = sig + 1; r >= 0 && inner < end - 1;)
                        r = skip_type(m, inner, &inner, depth + 1);
                return r;
        }
}

int cni_msg_skip(CniMsg *m, const char *sig) {
        const char *rest;
        int r = skip_type(m, sig, &rest, 0);

        return r < 0 ? r : *rest ? -EINVAL : 0;
}

int cni_msg_skip_body(CniMsg *m) {
        const char *sig = m->body_sig ? m->body_sig : "";
        int r = 0;

        while (r >= 0 && *sig)
                r = skip_type(m, sig, &sig, 0);
        return r < 0 ? r : m->pos == m->end ? 0 : -EBADMSG;
}

int cni_msg_read_dict(CniMsg *m, cni_dict_fn fn, void *userdata) {
        size_t end;
        int r = cni_msg_enter_array(m, '{', &end);

        while (r >= 0 && m->pos < end) {
                const char *key, *sig;

                r = skip_pad(m, 8);
                if (r >= 0)
                        r = cni_msg_read_str(m, &key);
                if (r >= 0)
                        r = read_sig(m, &sig);
                if (r >= 0 && type_end(sig, 0) != sig + strlen(sig))
                        r = -EBADMSG;
                if (r >= 0)
                        r = fn(m, key, sig, userdata);
                if (r == 0)
                        r = cni_msg_skip(m, sig);
        }
        return r < 0 ? r : m->pos == end ? 0 : -EBADMSG;
}

/* ---- a call ----------------------------------------------------------------- */

static int header_field(CniMsg *h, uint8_t code, char type, const char *s, uint32_t u) {
        char sig[2] = { type, 0 };
        int r = pad(h, 8);

        if (r >= 0)
                r = put(h, &code, 1);
        if (r >= 0)
                r = put_sig(h, sig);
        if (r >= 0)
                r = type == 'u' ? put_u32(h, u) : type == 'g' ? put_sig(h, s) : put_str(h, s);
        return r;
}

static int send_call(CniBus *b, CniMsg *m) {
        CniMsg h = {};
        uint8_t fixed[4] = { HOST_ENDIAN, TYPE_METHOD_CALL, 0, 1 };
        uint32_t body_len = (uint32_t) m->len, serial = ++b->serial;
        size_t fields_at;
        int r;

        if (m->error)
                return m->error;
        if (m->depth > 0)
                return -EINVAL;
        r = put(&h, fixed, 4);
        if (r >= 0)
                r = put(&h, &body_len, 4);
        if (r >= 0)
                r = put(&h, &serial, 4);
        if (r >= 0)
                r = put_u32(&h, 0);
        fields_at = h.len;
        if (r >= 0)
                r = header_field(&h, FIELD_PATH, 'o', m->path, 0);
        if (r >= 0)
                r = header_field(&h, FIELD_INTERFACE, 's', m->iface, 0);
        if (r >= 0)
                r = header_field(&h, FIELD_MEMBER, 's', m->member, 0);
        if (r >= 0 && m->sig_len > 0)
                r = header_field(&h, FIELD_SIGNATURE, 'g', m->sig, 0);
        if (r >= 0 && m->n_fds > 0)
                r = header_field(&h, FIELD_UNIX_FDS, 'u', NULL, m->n_fds);
        if (r >= 0) {
                uint32_t n = (uint32_t) (h.len - fields_at);
                memcpy(h.buf + 12, &n, 4);
                r = pad(&h, 8);
        }
        if (r >= 0)
                r = send_all(b->fd, (struct iovec[]) { { h.buf, h.len }, { m->buf, m->len } }, 2, m->fds, m->n_fds);
        free(h.buf);
        return r < 0 ? r : (int) serial;
}

/* Reads one message whole; its header fields into the last arguments. */
static int read_message(CniBus *b, CniMsg **ret, uint8_t *type, uint32_t *reply_serial, const char **error_name,
                        const char **sig) {
        uint8_t fixed[16];
        uint32_t body_len, fields_len;
        size_t total, fields_end;
        CniMsg *m;
        int r;

        r = recv_all(b->fd, fixed, sizeof(fixed));
        if (r < 0)
                return r;
        memcpy(&body_len, fixed + 4, 4);
        memcpy(&fields_len, fixed + 12, 4);
        if (fixed[0] != HOST_ENDIAN || fixed[3] != 1 || body_len > MESSAGE_MAX || fields_len > MESSAGE_MAX)
                return -EBADMSG;
        fields_end = 16 + (size_t) fields_len;
        total = (fields_end + 7) / 8 * 8 + body_len;
        m = calloc(1, sizeof(*m));
        if (!m || !(m->buf = malloc(total))) {
                free(m);
                return -ENOMEM;
        }
        memcpy(m->buf, fixed, sizeof(fixed));
        m->len = m->cap = total;
        r = recv_all(b->fd, m->buf + 16, total - 16);
        *type = fixed[1];
        *reply_serial = 0;
        *error_name = *sig = NULL;
        /* The header fields, a(yv), then the body at 8. */
        m->pos = 16;
        m->end = fields_end;
        while (r >= 0 && m->pos < fields_end) {
                uint8_t code = 0;
                const char *vsig;

                r = skip_pad(m, 8);
                if (r >= 0)
                        r = read_fixed(m, 1, &code);
                if (r >= 0)
                        r = read_sig(m, &vsig);
                if (r < 0)
                        break;
                if (code == FIELD_REPLY_SERIAL && strcmp(vsig, "u") == 0)
                        r = read_fixed(m, 4, reply_serial);
                else if (code == FIELD_ERROR_NAME && strcmp(vsig, "s") == 0)
                        r = cni_msg_read_str(m, error_name);
                else if (code == FIELD_SIGNATURE && strcmp(vsig, "g") == 0)
                        r = read_sig(m, sig);
                else
                        r = cni_msg_skip(m, vsig);
        }
        m->end = total;
        if (r >= 0)
                r = skip_pad(m, 8);
        if (r < 0) {
                cni_msg_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

int cni_dbus_call(CniBus *b, CniMsg *m, CniMsg **ret_reply, const char **ret_error_name,
                  const char **ret_error_message) {
        int serial = send_call(b, m);

        if (serial < 0)
                return serial;
        for (;;) {
                CniMsg *reply = NULL;
                const char *error_name, *sig;
                uint32_t reply_serial;
                uint8_t type;
                int r = read_message(b, &reply, &type, &reply_serial, &error_name, &sig);

                if (r < 0)
                        return r;
                /* A signal, or an answer to nothing of ours: not for us. */
                if ((type != TYPE_METHOD_RETURN && type != TYPE_ERROR) || reply_serial != (uint32_t) serial) {
                        cni_msg_free(reply);
                        continue;
                }
                if (type == TYPE_ERROR) {
                        *ret_error_name = error_name ? error_name : "org.freedesktop.DBus.Error.Failed";
                        *ret_error_message = "";
                        if (sig && sig[0] == 's')
                                (void) cni_msg_read_str(reply, ret_error_message);
                        r = -EREMOTEIO;
                }
                reply->body_sig = sig ? sig : "";
                *ret_reply = reply;
                return r;
        }
}
