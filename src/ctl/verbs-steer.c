/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

/* Filled by the Steering work (issue 5). */
const Verb steer_verbs[] = { { NULL, 0, 0, NULL } };
const size_t n_steer_verbs = 0;
