/* Reading a table out: its keys, its exact probe statistics and its layout. */
#include <stdlib.h>

#include "cmap.h"

typedef struct {
    uint8_t *tags;
    int64_t *nums;
    uint8_t *blob;
    int64_t count, used;
} exporter;

static void export_one(void *ctx, cm_ref at) {
    exporter *x = ctx;
    if (!(cm_kind_of(at) & CM_KBOX)) {
        x->tags[x->count] = CM_INT;
        x->nums[x->count++] = *at.key;
        return;
    }
    const cm_box *b = cm_box_at(*at.key);
    x->tags[x->count] = b->tag;
    x->nums[x->count++] = b->len;
    if (b->len > 0) memcpy(x->blob + x->used, b->data, (size_t)b->len);
    x->used += b->len;
}

/* Every key in table order: tags, ints or byte lengths, and the bytes of bytes/str keys
 * concatenated in blob. Returns the count, or -1 (writing nothing) if the buffers are too small. */
CM_API int64_t cm_export_keys(cm_map *m, uint8_t *tags, int64_t *nums, uint8_t *blob, int64_t ncap,
                              int64_t blobcap) {
    if (!m) return CM_ECLOSED;
    if (m->size > ncap || m->key_bytes > blobcap) return -1;
    exporter x = {tags, nums, blob, 0, 0};
    m->ops->each(m, export_one, &x);
    return x.count;
}

static int hist_add(cm_hist *h, int64_t length) {
    if (length >= h->cap) {
        int64_t cap = cm_pow2_at_least(length + 1, 64);
        if (cap < 0) return CM_ENOMEM; /* no probe is longer than a table has slots */
        int64_t *grown = realloc(h->counts, (size_t)cap * sizeof *grown);
        if (!grown) return CM_ENOMEM;
        memset(grown + h->cap, 0, (size_t)(cap - h->cap) * sizeof *grown);
        h->counts = grown;
        h->cap = cap;
    }
    h->counts[length]++;
    if (length >= h->len) h->len = length + 1;
    return 0;
}

typedef struct {
    cm_map *m;
    int failed;
} hit_counter;

static void count_hit(void *ctx, cm_ref at) {
    hit_counter *c = ctx;
    cm_key q = cm_stored_key(c->m, *at.key, cm_kind_of(at));
    cm_ref found;
    int64_t probes = 0;
    c->m->ops->find(c->m, &q, &probes, &found);
    if (hist_add(&c->m->hit, probes) < 0) c->failed = 1;
}

/* Exact histograms: hits replay the lookup of every stored key; misses replay a lookup of a
 * key that matches nothing from every home position (see docs/cmap.md for double hashing). */
CM_API int cm_stats(cm_map *m, cm_stats_out *out) {
    if (!m) return CM_ECLOSED;
    m->hit.len = m->miss.len = 0;
    if (m->hit.counts) memset(m->hit.counts, 0, (size_t)m->hit.cap * sizeof(int64_t));
    if (m->miss.counts) memset(m->miss.counts, 0, (size_t)m->miss.cap * sizeof(int64_t));
    hit_counter c = {m, 0};
    m->ops->each(m, count_hit, &c);
    if (c.failed) return CM_ENOMEM;
    int64_t homes = m->ops->homes(m);
    for (int64_t home = 0; home < homes; home++) {
        cm_key q = {m->ops->home_hash(m, home, cm_mix64((uint64_t)home ^ m->k1)), 0, NULL, 0,
                    CM_NOMATCH, 0};
        cm_ref found;
        int64_t probes = 0;
        m->ops->find(m, &q, &probes, &found);
        if (hist_add(&m->miss, probes) < 0) return CM_ENOMEM;
    }
    memset(out, 0, sizeof *out);
    m->ops->shape(m, out);
    out->size = m->size;
    out->resizes = m->resizes;
#ifdef CM_TIME_INSERTS
    out->longest_insert_ns = m->longest_insert_ns;
#else
    out->longest_insert_ns = -1;
#endif
    out->max_insert_moves = m->max_insert_moves;
    out->max_load = m->max_load;
    out->hit_len = m->hit.len;
    out->miss_len = m->miss.len;
    return 0;
}

CM_API int64_t cm_hist_copy(const cm_map *m, int which, int64_t *out, int64_t cap) {
    if (!m) return CM_ECLOSED;
    const cm_hist *h = which == CM_HIST_HIT ? &m->hit : &m->miss;
    int64_t n = h->len < cap ? h->len : cap;
    if (n > 0) memcpy(out, h->counts, (size_t)n * sizeof *out);
    return h->len;
}

CM_API int cm_layout(cm_map *m, cm_layout_out *out) {
    if (!m) return CM_ECLOSED;
    memset(out, 0, sizeof *out);
    m->ops->layout(m, out);
    return 0;
}
