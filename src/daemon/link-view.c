/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "link-view.h"

void link_view_init(LinkView *v, Manager *m, const Link *l) {
        v->link = l;
        /* A link being dropped, or defunct, says its last place. */
        v->order = l->defunct || l->detached ? l->order : manager_link_order(m, l);
        /* A pin that is gone is not named. */
        if (l->drift == LINK_DRIFT_UNPINNED || nl_pin_path(m->store, l->ino, l->type, l->name, v->pin, sizeof(v->pin)) < 0)
                v->pin[0] = 0;
}
