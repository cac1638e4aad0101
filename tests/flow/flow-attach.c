/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flow-attach NETNS COMMAND...
 *
 * Attaches builtin:flow to NETNS through the core library, the way the
 * daemon does (nl_builtin_load, nl_link_create), runs COMMAND while the
 * link holds, then detaches. Prints the link, passes its ids to COMMAND as
 * FLOW_LINK_ID and FLOW_PROG_ID, and, with the kernel's run statistics on
 * for just that time, prints how many packets the program saw.
 * The exit status is COMMAND's, or 1 when attaching or checking failed.
 */
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtins.h"
#include "link-ops.h"
#include "netns-ref.h"

static int run(char **argv) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                execvp(argv[0], argv);
                fprintf(stderr, "flow-attach: cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static unsigned long long run_count(uint32_t prog_id) {
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);
        int fd = bpf_prog_get_fd_by_id(prog_id);
        unsigned long long n = 0;

        if (fd < 0)
                return 0;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
                n = info.run_cnt;
        close(fd);
        return n;
}

int main(int argc, char **argv) {
        NlProgCache *cache = NULL;
        NlProgram *prog = NULL;
        NlNetns ns = { .fd = -1 };
        NlLinkInfo info;
        NlError e = {};
        int link_fd = -1, stats_fd = -1, r = 1, status;

        if (argc < 3) {
                fprintf(stderr, "usage: %s NETNS COMMAND...\n", argv[0]);
                return 2;
        }
        cache = nl_prog_cache_new();
        if (!cache || nl_builtin_load(cache, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &prog, &e) < 0 ||
            nl_netns_open(argv[1], &ns, &e) < 0) {
                fprintf(stderr, "flow-attach: %s\n", e.message);
                goto out;
        }
        link_fd = nl_link_create(nl_program_fd(prog), ns.fd, NL_ATTACH_FLOW_DISSECTOR, &e);
        if (link_fd < 0) {
                fprintf(stderr, "flow-attach: %s\n", e.message);
                goto out;
        }
        if (nl_link_get_info(link_fd, true, &info) < 0) {
                fprintf(stderr, "flow-attach: cannot read the link back: %m\n");
                goto out;
        }
        printf("flow-attach: link %u, program %u (%s, tag %s) on netns inode %llu\n", info.link_id,
               info.prog_id, info.prog_name, info.prog_tag, (unsigned long long) info.netns_ino);
        if (info.netns_ino != ns.ino || info.attach_type != NL_ATTACH_FLOW_DISSECTOR ||
            strcmp(info.prog_name, "flow_dissect") != 0) {
                fprintf(stderr, "flow-attach: the link is not builtin:flow on %s\n", ns.path);
                goto out;
        }

        /* For COMMAND to find the link with bpftool. */
        char id[16];
        snprintf(id, sizeof(id), "%u", info.link_id);
        setenv("FLOW_LINK_ID", id, 1);
        snprintf(id, sizeof(id), "%u", info.prog_id);
        setenv("FLOW_PROG_ID", id, 1);
        fflush(stdout);

        /* Counts only while the fd is open: the kernel turns it off again
         * when we close it or exit. */
        stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        status = run(argv + 2);
        printf("flow-attach: the program ran %llu times\n", run_count(info.prog_id));
        if (stats_fd >= 0)
                close(stats_fd);
        r = status < 0 ? 1 : status;

out:
        if (link_fd >= 0) {
                if (nl_link_detach(link_fd, &e) < 0) {
                        fprintf(stderr, "flow-attach: %s\n", e.message);
                        r = 1;
                }
                close(link_fd);
        }
        if (ns.fd >= 0)
                nl_netns_close(&ns);
        nl_program_unref(prog);
        nl_prog_cache_free(cache);
        return r;
}
