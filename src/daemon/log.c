/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[4096];
        va_list ap;
        int saved = errno;

        if (level > max_level)
                return error < 0 ? error : -(error > 0 ? error : 0);
        /* %m names error, not whatever errno happens to hold. */
        errno = error < 0 ? -error : (error > 0 ? error : saved);
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        for (char *c = buf; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        fprintf(stderr, "<%d>%s\n", level, buf);
        errno = saved;
        return error < 0 ? error : -error;
}
