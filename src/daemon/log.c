/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;

/* Lines of log_later: written together once the reply is out, or before
 * any other line, so that the order of lines never changes. */
static char later[64 * 1024];
static size_t n_later;

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }

void log_flush(void) {
        size_t done = 0;

        while (done < n_later) {
                ssize_t k = write(STDERR_FILENO, later + done, n_later - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;          /* nowhere to log to: drop */
                done += (size_t) k;
        }
        n_later = 0;
}

/* "<level>message\n" into buf, with newlines of the message flattened. */
_printf_(4, 0) static int format_line(char *buf, size_t size, int level, const char *fmt, va_list ap) {
        int n = snprintf(buf, size, "<%d>", level);

        n += vsnprintf(buf + n, size - n - 1, fmt, ap);
        if ((size_t) n > size - 2)
                n = (int) size - 2;
        for (char *c = buf; c < buf + n; c++)
                if (*c == '\n')
                        *c = ' ';
        buf[n++] = '\n';
        buf[n] = 0;
        return n;
}

/* Appends one line to the buffer of lines not yet written. */
_printf_(2, 0) static void append_line(int level, const char *fmt, va_list ap) {
        if (sizeof(later) - n_later < 4096)
                log_flush();
        /* A line is at most 4 KiB, as journald reads it best. */
        n_later += format_line(later + n_later, 4096, level, fmt, ap);
}

int log_internal(int level, int error, const char *fmt, ...) {
        va_list ap;
        int saved = errno;

        if (level > max_level)
                return error < 0 ? error : -(error > 0 ? error : 0);
        /* %m names error, not whatever errno happens to hold. */
        errno = error < 0 ? -error : (error > 0 ? error : saved);
        va_start(ap, fmt);
        append_line(level, fmt, ap);
        va_end(ap);
        log_flush();    /* with any lines of log_later before it */
        errno = saved;
        return error < 0 ? error : -error;
}

void log_later(int level, const char *fmt, ...) {
        va_list ap;

        if (level > max_level)
                return;
        va_start(ap, fmt);
        append_line(level, fmt, ap);
        va_end(ap);
}
