/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Logs one line to stderr with a "<N>" syslog priority prefix, which
 * journald turns into the entry's priority. */
void log_set_max_level(int level);
int log_get_max_level(void);
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);
/* The same line, written later: with the next log line, or by log_flush,
 * which the daemon calls once the reply of the call is out (a change's
 * line need not delay its caller). Killed before that, the line is lost;
 * the change itself is not (the pins are the truth). */
void log_later(int level, const char *fmt, ...) _printf_(2, 3);
void log_flush(void);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_notice_errno(r, ...) log_internal(LOG_NOTICE, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_internal(LOG_WARNING, (r), __VA_ARGS__)
#define log_error_errno(r, ...) log_internal(LOG_ERR, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_internal(LOG_DEBUG, (r), __VA_ARGS__)
