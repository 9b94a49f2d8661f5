/* Open addressing with tombstones: linear, quadratic (triangular steps) and double hashing.
 *
 * A probe is one inspected slot. The home slot is the hash's low bits; each scheme only changes the
 * step: linear +1; quadratic +1, +2, +3 ... (triangular offsets reach every slot of a power-of-two
 * table); double hashing a per-key odd step from the hash's high half (odd, so coprime with the
 * power-of-two size).
 */
#include <stdlib.h>

#include "cmap.h"

typedef struct {
    cm_entry *slots;
    uint64_t mask;
    int64_t cap, tombstones, limit;
} open_table;

typedef struct {
    uint64_t pos, step, grow; /* grow: how much the step increases after each probe */
} cursor;

static inline cursor start(const cm_map *m, const open_table *t, uint64_t hash) {
    cursor c = {hash & t->mask, 1, 0};
    if (m->scheme == CM_DOUBLE) c.step = (hash >> 32) | 1;
    if (m->scheme == CM_QUADRATIC) c.grow = 1;
    return c;
}

static inline void advance(cursor *c, uint64_t mask) {
    c->pos = (c->pos + c->step) & mask;
    c->step += c->grow;
}

static int alloc_table(cm_map *m, open_table *t, int64_t cap) {
    t->slots = calloc((size_t)cap, sizeof *t->slots); /* zeroed slots are CM_EMPTY */
    if (!t->slots) return -1;
    t->cap = cap;
    t->mask = (uint64_t)cap - 1;
    t->tombstones = 0;
    t->limit = cm_limit(m->max_load, cap);
    return 0;
}

static int open_init(cm_map *m, int64_t capacity) {
    open_table *t = calloc(1, sizeof *t);
    if (!t) return -1;
    if (alloc_table(m, t, cm_pow2_at_least(capacity, 8)) < 0) {
        free(t);
        return -1;
    }
    m->table = t;
    return 0;
}

static void open_destroy(cm_map *m) {
    open_table *t = m->table;
    free(t->slots);
    free(t);
}

static void open_clear(cm_map *m) {
    open_table *t = m->table;
    memset(t->slots, 0, (size_t)t->cap * sizeof *t->slots);
    t->tombstones = 0;
}

static cm_entry *open_find(cm_map *m, const cm_entry *q, int64_t *probes) {
    open_table *t = m->table;
    cursor c = start(m, t, q->hash);
    for (int64_t n = 1;; n++, advance(&c, t->mask)) {
        cm_entry *e = &t->slots[c.pos];
        if (e->ktag == CM_EMPTY || cm_same_key(e, q)) {
            *probes = n;
            return e->ktag == CM_EMPTY ? NULL : e;
        }
    }
}

/* Move every entry into a fresh table of cap slots (which purges tombstones). */
static int rehash(cm_map *m, int64_t cap) {
    open_table *t = m->table, fresh;
    if (alloc_table(m, &fresh, cap) < 0) return -1;
    for (int64_t i = 0; i < t->cap; i++) {
        cm_entry *e = &t->slots[i];
        if (e->ktag == CM_EMPTY || e->ktag == CM_TOMBSTONE) continue;
        cursor c = start(m, &fresh, e->hash);
        while (fresh.slots[c.pos].ktag != CM_EMPTY) advance(&c, fresh.mask);
        fresh.slots[c.pos] = *e;
        m->moves++;
    }
    free(t->slots);
    *t = fresh;
    m->resizes++;
    return 0;
}

static cm_entry *open_insert(cm_map *m, const cm_entry *q, int *created) {
    for (;;) {
        open_table *t = m->table;
        cursor c = start(m, t, q->hash);
        cm_entry *reuse = NULL, *e;
        for (;; advance(&c, t->mask)) {
            e = &t->slots[c.pos];
            if (e->ktag == CM_EMPTY) break;
            if (e->ktag == CM_TOMBSTONE) {
                if (!reuse) reuse = e;
            } else if (cm_same_key(e, q)) {
                *created = 0;
                return e;
            }
        }
        if (reuse) {
            t->tombstones--;
            e = reuse;
        } else if (m->size + t->tombstones + 1 > t->limit) {
            if (rehash(m, cm_regrow(m->size, t->limit, t->cap)) < 0) return NULL;
            continue;
        }
        cm_place(e, q);
        *created = 1;
        return e;
    }
}

static int open_remove(cm_map *m, const cm_entry *q, cm_entry *out) {
    open_table *t = m->table;
    int64_t probes;
    cm_entry *e = open_find(m, q, &probes);
    if (!e) return 0;
    *out = *e;
    memset(e, 0, sizeof *e);
    e->ktag = CM_TOMBSTONE;
    t->tombstones++;
    return 1;
}

static int open_reserve(cm_map *m, int64_t n) {
    open_table *t = m->table;
    int64_t cap = cm_capacity_for(m->max_load, t->cap, n);
    return cap > t->cap ? rehash(m, cap) : 0;
}

static void open_each(cm_map *m, void (*fn)(cm_entry *, void *), void *ctx) {
    open_table *t = m->table;
    for (int64_t i = 0; i < t->cap; i++) {
        cm_entry *e = &t->slots[i];
        if (e->ktag != CM_EMPTY && e->ktag != CM_TOMBSTONE) fn(e, ctx);
    }
}

static int64_t open_homes(cm_map *m) { return ((open_table *)m->table)->cap; }

static uint64_t open_home_hash(cm_map *m, int64_t home, uint64_t noise) {
    open_table *t = m->table;
    return (noise & ~t->mask) | (uint64_t)home; /* noise supplies double hashing's step */
}

static void open_shape(cm_map *m, cm_stats_out *out) {
    open_table *t = m->table;
    out->capacity = t->cap;
    out->buckets = t->cap;
    out->tombstones = t->tombstones;
    out->probe_unit = CM_UNIT_SLOT;
}

const cm_ops cm_open_ops = {
    open_init,   open_destroy, open_clear, open_find,      open_insert, open_remove,
    open_reserve, open_each,   open_homes, open_home_hash, open_shape,
};
