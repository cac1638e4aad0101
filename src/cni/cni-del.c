/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DEL and GC: the links are found by the source ADD gave them, not by the
 * configuration's names in CNI_NETNS: the netns may be gone from its path
 * (or CNI_NETNS not given) while the netns lives on, and a link of the
 * same name made by someone else is not ours to detach. */
#include <stdio.h>
#include <string.h>

#include "cni.h"

/* Lists the links keep() wants and detaches them in one DetachMany. A
 * link that goes between the two (its netns died, another DEL) makes the
 * daemon refuse the batch: then it is listed again. */
static int detach_matching(CniBus *bus, cni_link_filter_fn keep, void *userdata, CniError *e) {
        int r = 0;

        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_(cni_msg_freep) CniMsg *reply = NULL;
                _cleanup_free_ CniLinkInfo *links = NULL;
                size_t n = 0;

                *e = (CniError) {};
                r = cni_list_links(bus, keep, userdata, &reply, &links, &n, e);
                if (r < 0)
                        return r;
                r = cni_detach_links(bus, links, n, e);
                if (r >= 0 || !(strstr(e->details, "Error.NoSuchLink") || strstr(e->details, "Error.NoSuchNetns")))
                        return r;
        }
        return r;
}

/* A defunct link's netns died: the daemon drops it itself. */
static bool is_attachment(const CniLinkInfo *l, void *userdata) {
        return !l->defunct && strcmp(l->source, (const char *) userdata) == 0;
}

int cni_del(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e) {
        return detach_matching(bus, is_attachment, (void *) env->origin, e);
}

static bool attachment_listed(const CniConfig *c, const char *origin) {
        const char *rest = origin + STRLEN(NL_LINK_ORIGIN_CNI_PREFIX), *slash = strchr(rest, '/');

        for (size_t i = 0; slash && i < c->n_valid; i++)
                if (strlen(c->valid[i].container_id) == (size_t) (slash - rest) &&
                    strncmp(c->valid[i].container_id, rest, (size_t) (slash - rest)) == 0 &&
                    strcmp(c->valid[i].ifname, slash + 1) == 0)
                        return true;
        return false;
}

/* Ours (a cni: source), of a name this configuration makes (another
 * network that chains this plugin keeps its own), and of no valid
 * attachment. */
static bool is_garbage(const CniLinkInfo *l, void *userdata) {
        const CniConfig *c = userdata;
        bool named = false;

        if (l->defunct || strncmp(l->source, NL_LINK_ORIGIN_CNI_PREFIX, STRLEN(NL_LINK_ORIGIN_CNI_PREFIX)) != 0)
                return false;
        for (size_t i = 0; !named && i < c->n_links; i++)
                named = strcmp(c->links[i].attach_type, l->attach_type) == 0 && strcmp(c->links[i].name, l->name) == 0;
        return named && !attachment_listed(c, l->source);
}

int cni_gc(CniBus *bus, const CniConfig *c, CniError *e) {
        return detach_matching(bus, is_garbage, (void *) c, e);
}
