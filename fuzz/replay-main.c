/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The standalone driver for builds without libFuzzer: runs a harness's
 * LLVMFuzzerTestOneInput over every file of the folders (or files) given,
 * each in a child process, so one crashing input is counted and the others
 * still run. Prints "<harness>: N passed, M failed"; exits 1 if M > 0.
 * A harness that could not set itself up (fuzz_skip_note) would pass every
 * input without testing it: that run says "skipped" and exits 77.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

/* A harness with nothing to set up does not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;

        if (!f)
                return -errno;
        for (;;) {
                if (size == allocated) {
                        allocated = allocated ? allocated * 2 : 4096;
                        uint8_t *p = realloc(buf, allocated);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                size_t n = fread(buf + size, 1, allocated - size, f);
                size += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* Runs one input in a child; true if it returned normally. */
static bool replay_one(const char *path) {
        pid_t pid;
        int status;

        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "fork: %s\n", strerror(errno));
                return false;
        }
        if (pid == 0) {
                uint8_t *data = NULL;
                size_t size = 0;
                int r = read_file(path, &data, &size);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", path, strerror(-r));
                        _exit(2);
                }
                LLVMFuzzerTestOneInput(data, size);
                free(data);
                _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return false;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        if (WIFSIGNALED(status))
                fprintf(stderr, "%s: killed by signal %d\n", path, WTERMSIG(status));
        else
                fprintf(stderr, "%s: exit status %d\n", path, WEXITSTATUS(status));
        return false;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv) {
        const char *harness = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        unsigned passed = 0, failed = 0;

        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        if (fuzz_skipped) {
                printf("%s: skipped, its set-up failed (see above)\n", harness);
                return 77;
        }

        for (int i = 1; i < argc; i++) {
                struct stat st;
                char **names = NULL;
                size_t n = 0;
                DIR *d;
                struct dirent *de;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        failed++;
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        replay_one(argv[i]) ? passed++ : failed++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        failed++;
                        continue;
                }
                /* In name order, so that runs are comparable. */
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char **p = realloc(names, (n + 1) * sizeof(*names));
                        if (!p)
                                abort();
                        names = p;
                        names[n++] = strdup(de->d_name);
                }
                closedir(d);
                qsort(names, n, sizeof(*names), compare_names);
                for (size_t j = 0; j < n; j++) {
                        char path[4096];

                        snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]);
                        replay_one(path) ? passed++ : failed++;
                        free(names[j]);
                }
                free(names);
        }

        printf("%s: %u passed, %u failed\n", harness, passed, failed);
        return failed > 0 || passed == 0;
}
