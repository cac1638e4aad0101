/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies the verbs print as they come. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

int ctl_print_record_reply(sd_bus_message *reply, const Column *cols, size_t n_cols, const char *what) {
        Dict d;
        int r = dict_read(reply, &d);

        if (r < 0) {
                fprintf(stderr, "Failed to parse %s: %s\n", what, strerror(-r));
                return r;
        }
        output_record(&arg_output, cols, n_cols, &d);
        dict_done(&d);
        return 0;
}
