/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attach types, link names, printable quoting and the error kinds. */
#include <linux/bpf.h>

#include "error.h"
#include "names.h"
#include "test-util.h"

static const struct {
        const char *s;
        NlAttachType want;      /* _NL_ATTACH_INVALID: refused */
} attach_type_cases[] = {
        { "sk_lookup", NL_ATTACH_SK_LOOKUP },
        { "flow_dissector", NL_ATTACH_FLOW_DISSECTOR },
        { "", _NL_ATTACH_INVALID },
        { NULL, _NL_ATTACH_INVALID },
        { "SK_LOOKUP", _NL_ATTACH_INVALID },
        { "sk_lookup ", _NL_ATTACH_INVALID },
        { " sk_lookup", _NL_ATTACH_INVALID },
        { "sk-lookup", _NL_ATTACH_INVALID },
        { "flow", _NL_ATTACH_INVALID },
        { "xdp", _NL_ATTACH_INVALID },
        { "sk_lookup\nflow_dissector", _NL_ATTACH_INVALID },
};

static void test_attach_types(void) {
        for (size_t i = 0; i < ELEMENTSOF(attach_type_cases); i++) {
                NlAttachType t = 12345;
                NlError e = {};
                int r;

                test_case("attach type '%s'", attach_type_cases[i].s ?: "(null)");
                CHECK_INT_EQ(nl_attach_type_from_string(attach_type_cases[i].s), attach_type_cases[i].want);
                r = nl_attach_type_parse(attach_type_cases[i].s, &t, &e);
                if (attach_type_cases[i].want == _NL_ATTACH_INVALID) {
                        CHECK_ERR(r, &e, NL_ERR_INVALID_ARGS);
                        CHECK_INT_EQ(r, -EINVAL);
                        CHECK_INT_EQ(t, 12345);
                        CHECK_CONTAINS(e.message, "expected sk_lookup or flow_dissector");
                } else {
                        CHECK_OK(r, &e);
                        CHECK_INT_EQ(t, attach_type_cases[i].want);
                }
        }
        test_case("attach type mapping");

        static const struct {
                NlAttachType t;
                const char *name;
                enum bpf_attach_type bpf;
                enum bpf_prog_type prog;
                unsigned max;
        } map[] = {
                { NL_ATTACH_SK_LOOKUP, "sk_lookup", BPF_SK_LOOKUP, BPF_PROG_TYPE_SK_LOOKUP, 64 },
                { NL_ATTACH_FLOW_DISSECTOR, "flow_dissector", BPF_FLOW_DISSECTOR, BPF_PROG_TYPE_FLOW_DISSECTOR, 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++) {
                test_case("attach type %s", map[i].name);
                CHECK_STR_EQ(nl_attach_type_to_string(map[i].t), map[i].name);
                CHECK_INT_EQ(nl_attach_type_to_bpf(map[i].t), map[i].bpf);
                CHECK_INT_EQ(nl_attach_type_prog_type(map[i].t), map[i].prog);
                CHECK_INT_EQ(nl_attach_type_from_bpf(map[i].bpf), map[i].t);
                CHECK_INT_EQ(nl_attach_type_max_links(map[i].t), map[i].max);
        }
        test_case("attach type out of range");
        CHECK(nl_attach_type_to_string(_NL_ATTACH_MAX) == NULL, "to_string(_NL_ATTACH_MAX) is NULL");
        CHECK(nl_attach_type_to_string(-1) == NULL, "to_string(-1) is NULL");
        CHECK_INT_EQ(nl_attach_type_from_bpf(BPF_XDP), _NL_ATTACH_INVALID);
        CHECK_INT_EQ(nl_attach_type_from_bpf(BPF_CGROUP_INET_INGRESS), _NL_ATTACH_INVALID);
}

#define S64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static const struct {
        const char *name;
        bool valid;
} link_name_cases[] = {
        { "a", true },
        { "web", true },
        { "A-Z_09", true },
        { "-", true },
        { "_", true },
        { "--help", true },     /* a file name; the CLI's parser is not ours */
        { S64, true },          /* 64 characters */
        { S64 "x", false },     /* 65 */
        { "", false },
        { NULL, false },
        { ".", false },
        { "..", false },
        { "a.b", false },       /* bpffs refuses dots */
        { "web.v2", false },
        { "a/b", false },
        { "/", false },
        { "a b", false },
        { "a\tb", false },
        { "a\n", false },
        { "caf\xc3\xa9", false },
        { "a+b", false },
        { "a:b", false },
        { "a*", false },
};

static void test_link_names(void) {
        CHECK_INT_EQ(strlen(S64), 64);
        for (size_t i = 0; i < ELEMENTSOF(link_name_cases); i++) {
                const char *name = link_name_cases[i].name;
                NlError e = {};
                int r;

                test_case("link name #%zu '%.20s'", i, name ?: "(null)");
                CHECK_INT_EQ(nl_link_name_is_valid(name), link_name_cases[i].valid);
                r = nl_link_name_check(name, &e);
                if (link_name_cases[i].valid) {
                        CHECK_OK(r, &e);
                        CHECK_INT_EQ(e.kind, NL_ERR_NONE);
                } else {
                        CHECK_ERR(r, &e, NL_ERR_INVALID_ARGS);
                        CHECK_INT_EQ(r, -EINVAL);
                        CHECK_CONTAINS(e.message, "[A-Za-z0-9_-]");
                        /* A hostile name is quoted, never printed raw. */
                        CHECK(!strchr(e.message, '\n') && !strchr(e.message, '\t'),
                              "message has no control characters: \"%s\"", e.message);
                }
        }
        test_case("link name: NULL error");
        CHECK_INT_EQ(nl_link_name_check("a.b", NULL), -EINVAL);
}

/* The source a caller of Attach may give a link (the CNI plugin's). */
static const struct {
        const char *origin;
        bool valid;
} origin_cases[] = {
        { "cni:0123456789abcdef/eth0", true },
        { "cni:a/b", true },
        { "cni:pod_1.x-y/net1", true },
        { "cni:a/" "abcdefghijklmno", true },  /* 15: IFNAMSIZ - 1 */
        { "cni:a/" "abcdefghijklmnop", false }, /* 16 */
        { "cni:a/eth0:1", false },
        { "cni:a/et h0", false },
        { "cni:a/.", false },
        { "cni:a/..", false },
        { "cni:a/b/c", false },                 /* "/" in the interface name */
        { "cni:/eth0", false },
        { "cni:-a/eth0", false },               /* libcni: a letter or digit first */
        { "cni:a b/eth0", false },
        { "cni:a", false },
        { "cni:a/", false },
        { "cni:", false },
        { "config:/etc/x.conf", false },
        { "/etc/netnslink/links.d/a.conf", false },
        { "CNI:a/eth0", false },
        { "", false },
        { NULL, false },
};

static void test_origins(void) {
        /* "cni:" and "/eth0" around a container id of n letters. */
        const int fixed = (int) STRLEN("cni:/eth0");
        char id[NL_LINK_ORIGIN_MAX], big[NL_LINK_ORIGIN_MAX + 8];

        for (size_t i = 0; i < ELEMENTSOF(origin_cases); i++) {
                NlError e = {};

                test_case("origin #%zu '%s'", i, origin_cases[i].origin ?: "(null)");
                CHECK_INT_EQ(nl_link_origin_is_valid(origin_cases[i].origin), origin_cases[i].valid);
                if (origin_cases[i].valid)
                        CHECK_OK(nl_link_origin_check(origin_cases[i].origin, &e), &e);
                else {
                        CHECK_ERR(nl_link_origin_check(origin_cases[i].origin, &e), &e, NL_ERR_INVALID_ARGS);
                        CHECK_CONTAINS(e.message, "cni:<container id>/<interface name>");
                }
        }
        test_case("origin: at most NL_LINK_ORIGIN_MAX - 1 bytes");
        memset(id, 'a', sizeof(id) - 1);
        id[sizeof(id) - 1] = 0;
        snprintf(big, sizeof(big), "cni:%.*s/eth0", NL_LINK_ORIGIN_MAX - 1 - fixed, id);
        CHECK_INT_EQ(strlen(big), NL_LINK_ORIGIN_MAX - 1);
        CHECK(nl_link_origin_is_valid(big), "an origin of %zu bytes", strlen(big));
        snprintf(big, sizeof(big), "cni:%.*s/eth0", NL_LINK_ORIGIN_MAX - fixed, id);
        CHECK(!nl_link_origin_is_valid(big), "an origin of %zu bytes", strlen(big));
}

static const struct {
        const char *in;
        size_t n;
        const char *want;
} printable_cases[] = {
        { "plain", 80, "plain" },
        { NULL, 80, "(null)" },
        { "a\nb\tc", 80, "a?b?c" },
        { "caf\xc3\xa9", 80, "caf??" },
        { "\x7f", 80, "?" },
        { "abcdefghij", 8, "abcd..." },
        { "abcdefg", 8, "abcdefg" },
        { "", 80, "" },
};

static void test_printable(void) {
        char buf[80];

        for (size_t i = 0; i < ELEMENTSOF(printable_cases); i++) {
                test_case("printable #%zu", i);
                CHECK_STR_EQ(nl_printable(printable_cases[i].in, buf, printable_cases[i].n),
                             printable_cases[i].want);
        }
        test_case("printable n=0");
        CHECK_STR_EQ(nl_printable("x", buf, 0), "");
}

static const struct {
        NlErrorKind kind;
        const char *dbus;
        const char *name;
        int error;      /* the errno sd-bus reports for it, with nl_bus_error_map added */
} error_cases[] = {
        { NL_ERR_FAILED, "org.freedesktop.DBus.Error.Failed", "failed", EACCES },
        { NL_ERR_INVALID_ARGS, "org.freedesktop.DBus.Error.InvalidArgs", "invalid-args", EINVAL },
        { NL_ERR_NO_SUCH_NETNS, "org.netnslink1.Error.NoSuchNetns", "no-such-netns", ENOENT },
        { NL_ERR_NO_SUCH_LINK, "org.netnslink1.Error.NoSuchLink", "no-such-link", ENOENT },
        { NL_ERR_LINK_EXISTS, "org.netnslink1.Error.LinkExists", "link-exists", EEXIST },
        { NL_ERR_TOO_MANY_LINKS, "org.netnslink1.Error.TooManyLinks", "too-many-links", E2BIG },
        { NL_ERR_PROGRAM_MISMATCH, "org.netnslink1.Error.ProgramMismatch", "program-mismatch", ESTALE },
        { NL_ERR_INVALID_PROGRAM, "org.netnslink1.Error.InvalidProgram", "invalid-program", EINVAL },
        { NL_ERR_ACCESS_DENIED, "org.freedesktop.DBus.Error.AccessDenied", "access-denied", EACCES },
};

static void test_errors(void) {
        NlError e = {};
        int r;

        CHECK(sd_bus_error_add_map(nl_bus_error_map) >= 0, "sd-bus takes the error map");
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                test_case("error kind %s", error_cases[i].name);
                CHECK_STR_EQ(nl_error_kind_to_dbus(error_cases[i].kind), error_cases[i].dbus);
                CHECK_INT_EQ(nl_error_kind_from_dbus(error_cases[i].dbus), error_cases[i].kind);
                CHECK_STR_EQ(nl_error_kind_name(error_cases[i].kind), error_cases[i].name);
                CHECK_INT_EQ(sd_bus_error_set(&error, error_cases[i].dbus, "message"), -error_cases[i].error);
                CHECK_INT_EQ(sd_bus_error_get_errno(&error), error_cases[i].error);
                sd_bus_error_free(&error);
        }
        CHECK(!nl_bus_error_map[_NL_ERR_MAX - 1].name, "the map ends after the last kind");
        test_case("error kind edges");
        CHECK_INT_EQ(ELEMENTSOF(error_cases), _NL_ERR_MAX - 1);
        CHECK_STR_EQ(nl_error_kind_to_dbus(NL_ERR_NONE), "org.freedesktop.DBus.Error.Failed");
        CHECK_STR_EQ(nl_error_kind_to_dbus(_NL_ERR_MAX), "org.freedesktop.DBus.Error.Failed");
        CHECK_INT_EQ(nl_error_kind_from_dbus(NULL), NL_ERR_NONE);
        CHECK_INT_EQ(nl_error_kind_from_dbus("org.example.Nope"), NL_ERR_FAILED);
        CHECK_STR_EQ(nl_error_kind_name(_NL_ERR_MAX), "unknown");
        CHECK_STR_EQ(nl_error_kind_name(-1), "unknown");

        test_case("nl_error_set");
        r = nl_error_set(&e, NL_ERR_NO_SUCH_LINK, -ENOENT, "link %s: %m", "x");
        CHECK_INT_EQ(r, -ENOENT);
        CHECK_INT_EQ(e.kind, NL_ERR_NO_SUCH_LINK);
        CHECK_INT_EQ(e.error, ENOENT);
        CHECK_STR_EQ(e.message, "link x: No such file or directory");
        CHECK_INT_EQ(nl_error_set(NULL, NL_ERR_FAILED, -EIO, "ignored"), -EIO);

        test_case("nl_error_prefix");
        r = nl_error_prefix(&e, -ENOENT, "element %d", 3);
        CHECK_INT_EQ(r, -ENOENT);
        CHECK_INT_EQ(e.kind, NL_ERR_NO_SUCH_LINK);
        CHECK_STR_EQ(e.message, "element 3: link x: No such file or directory");
        nl_error_clear(&e);
        CHECK_INT_EQ(e.kind, NL_ERR_NONE);
        CHECK_INT_EQ(e.error, 0);
        CHECK_STR_EQ(e.message, "");
        nl_error_prefix(&e, -EIO, "bare");
        CHECK_INT_EQ(e.kind, NL_ERR_FAILED);
        CHECK_INT_EQ(nl_error_prefix(NULL, -EIO, "x"), -EIO);
        nl_error_clear(NULL);

        test_case("nl_error_set: long message is cut, not overrun");
        char big[NL_ERROR_MESSAGE_MAX * 2];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        nl_error_set(&e, NL_ERR_FAILED, -EIO, "%s", big);
        CHECK_INT_EQ(strlen(e.message), NL_ERROR_MESSAGE_MAX - 1);
        nl_error_prefix(&e, -EIO, "%s", "prefix");
        CHECK_INT_EQ(strlen(e.message), NL_ERROR_MESSAGE_MAX - 1);
        CHECK(strncmp(e.message, "prefix: xxx", 11) == 0, "prefix comes first");
}

static void run(void) {
        test_attach_types();
        test_link_names();
        test_origins();
        test_printable();
        test_errors();
}

int main(void) {
        return test_main("lib/test-names", run);
}
