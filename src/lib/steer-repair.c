/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "steer-private.h"

int nl_steer_repair(NlSteer *s, NlError *e) {
        BindingSet stale = {}, cur = {};
        Regions g = {};
        struct steer_config c;
        int r;

        /* What a killed SetBindings, AddBinding or RemoveBinding can leave:
         * entries of the generation not in use, region bits of bindings
         * gone, destination counts of the set before the switch. Lookups
         * only follow the live generation, so all of it can be mended in
         * place while traffic flows. */
        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        r = binding_set_read(s, (uint8_t) (c.gen ^ 1), &stale);
        if (r >= 0)
                r = map_delete_many(steer_fd(s, ports), stale.ports.keys, sizeof(struct steer_port_key), stale.ports.n);
        if (r >= 0)
                r = prefixes_delete(s, stale.prefixes.keys, stale.prefixes.n);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear an unfinished SetBindings: %m");
                goto finish;
        }
        r = binding_set_read(s, (uint8_t) c.gen, &cur);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the bindings: %m");
                goto finish;
        }
        r = prefixes_repair(s, (uint8_t) c.gen, &cur.prefixes);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot mend the lookup table: %m");
                goto finish;
        }
        /* Region masks are a union of both generations only while a
         * SetBindings runs; otherwise a stale bit costs a probe, not a
         * wrong answer, so they are rewritten only after an unfinished one. */
        if (stale.prefixes.n > 0) {
                r = regions_alloc(s, &g, false);
                if (r < 0) {
                        r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                        goto finish;
                }
                for (size_t i = 0; i < cur.n; i++)
                        regions_add(&g, &cur.b[i]);
                r = regions_write(s, &g);
        }
        if (r >= 0)
                r = refs_recount(s, cur.dest, cur.n);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot recount the bindings' destinations: %m");
                goto finish;
        }
        /* Counter ids taken by a change killed before it wrote them, or
         * before it released those of the bindings it replaced. */
        r = counters_rebuild(s, cur.counter, cur.n);
        if (r < 0)
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot recount the bindings' hit counters: %m");
finish:
        binding_set_done(&stale);
        binding_set_done(&cur);
        regions_done(&g);
        return r < 0 ? r : 0;
}
