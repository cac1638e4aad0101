/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration files (src/lib/config-*.c): every key, every refusal with
 * the line and key its message must name, the search path with override
 * and masking, and matching.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "pin-store.h"
#include "test-util.h"

static int parse_text(const char *text, NlConfigLink **ret, NlError *e) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        if (!f)
                return -errno;
        r = nl_config_parse_stream(f, "/x/t.conf", ret, e);
        fclose(f);
        return r;
}

#define HEAD "[Match]\nNetns=blue\n[Link]\nType=sk_lookup\nName=web\nProgram=builtin:steer\n"

static void test_accepts(void) {
        _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
        NlError e = {};
        char buf[64];

        test_case("every key, comments, indenting, white space");
        CHECK_OK(parse_text("# a comment\n; another\n\n[Match]\n  Netns = blue tenant-* /run/netns/red\n"
                            "Netns=green\n[Link]\nType=sk_lookup\nName=web\nProgram=builtin:steer\n"
                            "[Binding]\nProtocol=tcp\nPrefix=192.0.2.0/24\nPort=80\nLabel=www\n"
                            "[Binding]\nProtocol=udp\nPrefix=2001:db8::/32\nLabel=dns\n"
                            "[Binding]\nProtocol=tcp\nPrefix=192.0.2.0/24\nPort=443\nLabel=www\n", &l, &e), &e);
        if (!l)
                return;
        CHECK_STR_EQ(l->path, "/x/t.conf");
        CHECK_INT_EQ(l->n_netns, 4);
        CHECK_STR_EQ(l->netns[0], "blue");
        CHECK_STR_EQ(l->netns[1], "tenant-*");
        CHECK_STR_EQ(l->netns[2], "/run/netns/red");
        CHECK_STR_EQ(l->netns[3], "green");
        CHECK(l->netns[4] == NULL, "NULL-terminated");
        CHECK_INT_EQ(l->type, NL_ATTACH_SK_LOOKUP);
        CHECK_STR_EQ(l->name, "web");
        CHECK_STR_EQ(l->builtin, "steer");
        CHECK(!l->object_path, "no object");
        CHECK_INT_EQ(l->n_bindings, 3);
        if (l->n_bindings == 3) {
                CHECK_INT_EQ(l->bindings[0].protocol, IPPROTO_TCP);
                CHECK_STR_EQ(nl_steer_prefix_to_string(&l->bindings[0], buf, sizeof(buf)), "192.0.2.0/24");
                CHECK_INT_EQ(l->bindings[0].port, 80);
                CHECK_STR_EQ(l->bindings[0].label, "www");
                CHECK_INT_EQ(l->bindings[1].protocol, IPPROTO_UDP);
                CHECK_INT_EQ(l->bindings[1].family, AF_INET6);
                CHECK_INT_EQ(l->bindings[1].port, 0);   /* Port= left out: every port */
                CHECK_STR_EQ(l->bindings[1].label, "dns");
                CHECK_INT_EQ(l->bindings[2].port, 443);
        }
        l = nl_config_link_free(l);

        test_case("flow_dissector with an object file");
        CHECK_OK(parse_text("[Match]\nNetns=*\n[Link]\nType=flow_dissector\nName=f\n"
                            "Program=/usr/lib/x/my:obj.bpf.o:dissect_v2\n", &l, &e), &e);
        if (l) {
                CHECK_INT_EQ(l->type, NL_ATTACH_FLOW_DISSECTOR);
                CHECK_STR_EQ(l->object_path, "/usr/lib/x/my:obj.bpf.o");
                CHECK_STR_EQ(l->object_program, "dissect_v2");
                CHECK(!l->builtin, "no builtin");
                CHECK_INT_EQ(l->n_bindings, 0);
        }
        l = nl_config_link_free(l);

        test_case("sections in any order, CRLF lines, a BOM");
        CHECK_OK(parse_text("\xEF\xBB\xBF[Link]\r\nProgram=builtin:flow\r\nName=f\r\nType=flow_dissector\r\n"
                            "[Match]\r\nNetns=a\r\n", &l, &e), &e);
        if (l)
                CHECK_STR_EQ(l->builtin, "flow");
}

/* Each refusal: the file, its text, and what the message must hold (the
 * file's path and line, the key). */
static const struct {
        const char *what, *text, *want;
} refusals[] = {
        { "empty file", "", "/x/t.conf:0: [Match] Netns= is missing" },
        { "no [Match]", "[Link]\nType=sk_lookup\nName=w\nProgram=builtin:steer\n", "[Match] Netns= is missing" },
        { "no Type=", "[Match]\nNetns=a\n[Link]\nName=w\nProgram=builtin:steer\n", "[Link] Type= is missing" },
        { "no Name=", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nProgram=builtin:steer\n", "[Link] Name= is missing" },
        { "no Program=", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\n", "[Link] Program= is missing" },
        { "unknown section", "[Match]\nNetns=a\n[Links]\n", "/x/t.conf:3: Unknown section [Links]" },
        { "unknown key in [Match]", "[Match]\nName=a\n", "/x/t.conf:2: Name=: Unknown key in [Match]" },
        { "unknown key in [Link]", HEAD "Netns=a\n", "/x/t.conf:7: Netns=: Unknown key in [Link]" },
        { "unknown key in [Binding]", HEAD "[Binding]\nProto=tcp\n", ":8: Proto=: Unknown key in [Binding]" },
        { "key before any section", "Netns=a\n", "/x/t.conf:1: Netns=: Key outside of a section" },
        { "not Key=Value", "[Match]\nNetns a\n", "/x/t.conf:2: Expected [Section], Key=Value" },
        { "unclosed section", "[Match\nNetns=a\n", "/x/t.conf:1:" },
        { "empty Netns=", "[Match]\nNetns=\n", "/x/t.conf:2: Netns=: Empty" },
        { "Netns= pid:", "[Match]\nNetns=pid:1\n", "/x/t.conf:2: Netns=: 'pid:1'" },
        { "Netns= ino:", "[Match]\nNetns=ino:5\n", ":2: Netns=: 'ino:5'" },
        { "Netns= ..", "[Match]\nNetns=..\n", ":2: Netns=: '..' is not a name" },
        { "Netns= a path with ..", "[Match]\nNetns=/run/netns/../x\n", ":2: Netns=: Netns reference" },
        { "Netns= the daemon's own", "[Match]\nNetns=/proc/self/ns/net\n", ":2: Netns=: '/proc/self/ns/net' names the daemon" },
        { "Netns= control character", "[Match]\nNetns=a\x01\n", ":2: Netns=: 'a?' contains a control" },
        { "bad Type=", "[Link]\nType=xdp\n", "/x/t.conf:2: Type=: " },
        { "Type= twice", "[Link]\nType=sk_lookup\nType=sk_lookup\n", ":3: Type=: Given twice (first on line 2)" },
        { "bad Name=", "[Link]\nName=a.b\n", "/x/t.conf:2: Name=: " },
        { "Name= too long", "[Link]\nName=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", ":2: Name=: " },
        { "Name= twice", "[Link]\nName=a\n[Link]\nName=b\n", ":4: Name=: Given twice (first on line 2)" },
        { "Program= twice", "[Link]\nProgram=builtin:steer\nProgram=builtin:flow\n", ":3: Program=: Given twice" },
        { "unknown builtin", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=builtin:nope\n",
          "/x/t.conf:6: Program=: No built-in program 'nope'" },
        { "builtin of the other type", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=builtin:flow\n",
          ":6: Program=: Built-in program 'flow' is a flow_dissector program" },
        { "relative object", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=x.o:p\n",
          ":6: Program=: 'x.o:p': expected builtin:steer" },
        { "object without program", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=/x.o\n",
          ":6: Program=: '/x.o': expected" },
        { "object, empty program", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=/x.o:\n",
          ":6: Program=: '/x.o:': expected" },
        { "object, bad program name", "[Match]\nNetns=a\n[Link]\nType=sk_lookup\nName=w\nProgram=/x.o:a-b\n",
          ":6: Program=: '/x.o:a-b': the program name" },
        { "bad Protocol=", HEAD "[Binding]\nProtocol=sctp\n", "/x/t.conf:8: Protocol=: " },
        { "bad Prefix=", HEAD "[Binding]\nPrefix=10.0.0.1/8\n", "/x/t.conf:8: Prefix=: " },
        { "bad Port=", HEAD "[Binding]\nPort=65536\n", "/x/t.conf:8: Port=: " },
        { "bad Label=", HEAD "[Binding]\nLabel=a b\n", "/x/t.conf:8: Label=: " },
        { "Label= twice", HEAD "[Binding]\nLabel=a\nLabel=b\n", ":9: Label=: Given twice (first on line 8)" },
        { "binding without Label=", HEAD "[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\n[Match]\nNetns=a\n",
          "/x/t.conf:7: [Binding] has no Label=" },
        { "binding without Protocol=", HEAD "[Binding]\nPrefix=10.0.0.0/8\nLabel=a\n", ":7: [Binding] has no Protocol=" },
        { "binding without Prefix=", HEAD "[Binding]\nProtocol=tcp\nLabel=a\n", ":7: [Binding] has no Prefix=" },
        { "empty [Binding]", HEAD "[Binding]\n", ":7: [Binding] has no Protocol=" },
        { "the same binding twice", HEAD "[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\nLabel=a\n"
          "[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\nPort=0\nLabel=b\n",
          "/x/t.conf:11: [Binding]: the same protocol, prefix and port as the [Binding] on line 7" },
        { "bindings on builtin:flow", "[Match]\nNetns=a\n[Link]\nType=flow_dissector\nName=f\nProgram=builtin:flow\n"
          "[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\nLabel=a\n", ":7: [Binding] is only for Program=builtin:steer" },
        { "a NUL byte", "[Match]\nNetns=a\0b\n", ":2: Line contains a NUL byte" },
};

static void test_refusals(void) {
        for (size_t i = 0; i < ELEMENTSOF(refusals); i++) {
                /* fmemopen with the NUL inside: the length is the literal's. */
                size_t len = strlen(refusals[i].text);
                _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
                NlError e = {};
                FILE *f;
                int r;

                test_case("refused: %s", refusals[i].what);
                if (strstr(refusals[i].what, "NUL"))
                        len += 1 + strlen(refusals[i].text + len + 1);
                f = fmemopen((void *) refusals[i].text, len, "r");
                if (!f) {
                        CHECK(false, "fmemopen");
                        continue;
                }
                r = nl_config_parse_stream(f, "/x/t.conf", &l, &e);
                fclose(f);
                CHECK_ERR(r, &e, NL_ERR_INVALID_ARGS);
                CHECK(l == NULL, "nothing returned");
                CHECK_CONTAINS(e.message, refusals[i].want);
        }
}

static void test_long_lines(void) {
        _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
        char text[1024];
        NlError e = {};

        test_case("refused: a line longer than libinih's buffer, never cut");
        snprintf(text, sizeof(text), "[Match]\nNetns=%0300d\n", 0);
        CHECK_ERR(parse_text(text, &l, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_CONTAINS(e.message, "/x/t.conf:2: Line is longer than");
}

static int write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -errno;
}

static void test_files(void) {
        static const char *const files[][2] = {
                { "etc/netnslink/links.d/a.conf", "etc" },
                { "run/netnslink/links.d/a.conf", "run, hidden by etc" },
                { "run/netnslink/links.d/b.conf", "run" },
                { "usr/lib/netnslink/links.d/b.conf", "usr, hidden by run" },
                { "usr/lib/netnslink/links.d/c.conf", "usr" },
                { "usr/lib/netnslink/links.d/d.conf", "usr, masked in etc" },
                { "usr/lib/netnslink/links.d/e.txt", "not .conf" },
                { "usr/lib/netnslink/links.d/.f.conf", "hidden file" },
        };
        _cleanup_(nl_config_files_freep) char **found = NULL, **masked = NULL;
        char root[512], path[1024];
        int n = 0;

        test_case("search path: override by name, masking, suffix");
        snprintf(root, sizeof(root), "%s/cfg", test_tmpdir());
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char dir[1024];

                snprintf(path, sizeof(path), "%s/%s", root, files[i][0]);
                snprintf(dir, sizeof(dir), "%s", path);
                *strrchr(dir, '/') = 0;
                CHECK_OK(nl_mkdir_p(dir, 0755), NULL);
                CHECK_OK(write_file(path, files[i][1]), NULL);
        }
        snprintf(path, sizeof(path), "%s/etc/netnslink/links.d/d.conf", root);
        CHECK(symlink("/dev/null", path) == 0, "symlink %s", path);

        CHECK_OK(nl_config_files(root, &found, &masked), NULL);
        if (!found || !masked)
                return;
        for (char **f = found; *f; f++)
                n++;
        CHECK_INT_EQ(n, 3);
        if (n == 3) {
                snprintf(path, sizeof(path), "%s/etc/netnslink/links.d/a.conf", root);
                CHECK_STR_EQ(found[0], path);
                snprintf(path, sizeof(path), "%s/run/netnslink/links.d/b.conf", root);
                CHECK_STR_EQ(found[1], path);
                snprintf(path, sizeof(path), "%s/usr/lib/netnslink/links.d/c.conf", root);
                CHECK_STR_EQ(found[2], path);
        }
        snprintf(path, sizeof(path), "%s/etc/netnslink/links.d/d.conf", root);
        CHECK(masked[0] && strcmp(masked[0], path) == 0 && !masked[1], "d.conf masked: %s", masked[0] ?: "(none)");

        test_case("search path: no folders at all");
        found = nl_config_files_free(found);
        snprintf(path, sizeof(path), "%s/nothing", root);
        CHECK_OK(nl_config_files(path, &found, NULL), NULL);
        CHECK(found && !found[0], "empty list");

        test_case("parse_file: a folder is refused, a missing file names itself");
        {
                _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
                NlError e = {};

                CHECK_ERR(nl_config_parse_file(root, &l, &e), &e, NL_ERR_INVALID_ARGS);
                CHECK_CONTAINS(e.message, "not a regular file");
                snprintf(path, sizeof(path), "%s/missing.conf", root);
                CHECK(nl_config_parse_file(path, &l, &e) < 0, "missing file refused");
                CHECK_CONTAINS(e.message, path);
        }
}

static void test_match(void) {
        _cleanup_(nl_config_link_freep) NlConfigLink *l = NULL;
        NlError e = {};

        test_case("matching: globs on names, paths exactly");
        CHECK_OK(parse_text("[Match]\nNetns=blue tenant-* /var/run/docker/netns/x ?x [ab]c\n"
                            "[Link]\nType=sk_lookup\nName=w\nProgram=builtin:steer\n", &l, &e), &e);
        if (!l)
                return;
        CHECK(nl_config_matches(l, "blue", "/run/netns/blue"), "blue");
        CHECK(!nl_config_matches(l, "blue2", "/run/netns/blue2"), "not blue2");
        CHECK(nl_config_matches(l, "tenant-1", "/run/netns/tenant-1"), "tenant-1");
        CHECK(!nl_config_matches(l, "tenant", "/run/netns/tenant"), "not tenant");
        CHECK(nl_config_matches(l, NULL, "/var/run/docker/netns/x"), "the path");
        CHECK(!nl_config_matches(l, "x", "/run/netns/x"), "a path is not a name");
        CHECK(nl_config_matches(l, "ax", "/run/netns/ax"), "?x");
        CHECK(nl_config_matches(l, "bc", "/run/netns/bc"), "[ab]c");
        CHECK(!nl_config_matches(l, ".x", "/run/netns/.x"), "a glob does not match a leading dot");
}

static void run(void) {
        test_accepts();
        test_refusals();
        test_long_lines();
        test_files();
        test_match();
}

int main(void) {
        return test_main("lib/test-config", run);
}
