/* Open addressing with tombstones: linear, quadratic (triangular steps) and double hashing.
 *
 * Layout: 16-byte slots (key word, value word) and, apart from them, one metadata byte per slot:
 * 0 empty, 1 tombstone, or for a full slot 0x80 | kind bits | 5 bits of the hash. A probe is one
 * inspected slot (its metadata byte; the slot itself only when those 5 bits match). The home slot
 * is the hash's low bits; each scheme only changes the step: linear +1; quadratic +1, +2, +3 ...
 * (triangular offsets reach every slot of a power-of-two table); double hashing a per-key odd step
 * from the hash's high half (odd, so coprime with the power-of-two size).
 */
#include <stdlib.h>

#include "cmap.h"

#define META_EMPTY 0
#define META_TOMBSTONE 1
#define META_FULL 0x80
#define META_KINDS (CM_KBOX | CM_VBOX)

typedef struct {
    cm_array meta_a, slots_a;
    uint8_t *meta;
    cm_slot *slots;
    uint64_t mask;
    int64_t cap, tombstones, limit;
} open_table;

typedef struct {
    uint64_t pos, step, grow; /* grow: how much the step increases after each probe */
} cursor;

static inline uint8_t meta_for(uint64_t hash) { return (uint8_t)(META_FULL | (hash >> 59)); }

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

static inline cm_ref ref_at(open_table *t, uint64_t i) {
    cm_ref r = {&t->slots[i].key, &t->slots[i].val, &t->meta[i]};
    return r;
}

static int alloc_table(cm_map *m, open_table *t, int64_t cap) {
    if (cap < 0) return (int)cap;
    int rc = cm_array_alloc(&t->meta_a, cap, 1); /* zeroed: every slot empty */
    if (rc == 0 && (rc = cm_array_alloc(&t->slots_a, cap, sizeof(cm_slot))) < 0)
        cm_array_free(&t->meta_a);
    if (rc < 0) return rc;
    t->meta = t->meta_a.p;
    t->slots = t->slots_a.p;
    t->cap = cap;
    t->mask = (uint64_t)cap - 1;
    t->tombstones = 0;
    t->limit = cm_limit(m->max_load, cap);
    return 0;
}

static void free_table(open_table *t) {
    cm_array_free(&t->meta_a);
    cm_array_free(&t->slots_a);
}

static int open_init(cm_map *m, int64_t capacity) {
    open_table *t = calloc(1, sizeof *t);
    if (!t) return CM_ENOMEM;
    int rc = alloc_table(m, t, cm_pow2_at_least(capacity, 8));
    if (rc < 0) {
        free(t);
        return rc;
    }
    m->table = t;
    return 0;
}

static void open_destroy(cm_map *m) {
    free_table(m->table);
    free(m->table);
}

static void open_clear(cm_map *m) {
    open_table *t = m->table;
    cm_array_zero(&t->meta_a);
    t->tombstones = 0;
}

static int open_find(cm_map *m, const cm_key *q, int64_t *probes, cm_ref *at) {
    open_table *t = m->table;
    const uint8_t want = meta_for(q->hash);
    cursor c = start(m, t, q->hash);
    for (int64_t n = 1;; n++, advance(&c, t->mask)) {
        uint8_t meta = t->meta[c.pos];
        if (meta == META_EMPTY) {
            *probes = n;
            return 0;
        }
        if ((meta & ~META_KINDS) == want && cm_matches(q, t->slots[c.pos].key, meta)) {
            *probes = n;
            *at = ref_at(t, c.pos);
            return 1;
        }
    }
}

/* Move every entry into a fresh table of cap slots (which purges tombstones). */
static int rehash(cm_map *m, int64_t cap) {
    open_table *t = m->table, fresh;
    int rc = alloc_table(m, &fresh, cap);
    if (rc < 0) return rc;
    for (int64_t i = 0; i < t->cap; i++) {
        uint8_t meta = t->meta[i];
        if (meta < META_FULL) continue;
        cursor c = start(m, &fresh, cm_stored_hash(m, t->slots[i].key, meta));
        while (fresh.meta[c.pos] != META_EMPTY) advance(&c, fresh.mask);
        fresh.meta[c.pos] = meta;
        fresh.slots[c.pos] = t->slots[i];
        CM_MOVED(m, 1);
    }
    free_table(t);
    *t = fresh;
    m->resizes++;
    return 0;
}

static int open_insert(cm_map *m, const cm_key *q, cm_ref *at) {
    const uint8_t want = meta_for(q->hash);
    for (;;) {
        open_table *t = m->table;
        cursor c = start(m, t, q->hash);
        int64_t reuse = -1;
        for (;; advance(&c, t->mask)) {
            uint8_t meta = t->meta[c.pos];
            if (meta == META_EMPTY) break;
            if (meta == META_TOMBSTONE) {
                if (reuse < 0) reuse = (int64_t)c.pos;
            } else if ((meta & ~META_KINDS) == want && cm_matches(q, t->slots[c.pos].key, meta)) {
                *at = ref_at(t, c.pos);
                return 0;
            }
        }
        uint64_t pos = c.pos;
        if (reuse >= 0) {
            t->tombstones--;
            pos = (uint64_t)reuse;
        } else if (m->size + t->tombstones + 1 > t->limit) {
            int rc = rehash(m, cm_must_grow(m->size, t->limit) ? t->cap * 2 : t->cap);
            if (rc < 0) return rc;
            continue;
        }
        t->meta[pos] = (uint8_t)(want | q->kind);
        t->slots[pos].key = q->word;
        t->slots[pos].val = 0;
        *at = ref_at(t, pos);
        return 1;
    }
}

static int open_remove(cm_map *m, const cm_key *q, cm_gone *gone) {
    open_table *t = m->table;
    int64_t probes;
    cm_ref at;
    if (!open_find(m, q, &probes, &at)) return 0;
    gone->key = *at.key;
    gone->val = *at.val;
    gone->kind = *at.kind & META_KINDS;
    *at.kind = META_TOMBSTONE;
    t->tombstones++;
    return 1;
}

static int open_reserve(cm_map *m, int64_t n) {
    open_table *t = m->table;
    int64_t cap = cm_pow2_for(m->max_load, t->cap, 0, n);
    if (cap < 0) return (int)cap;
    return cap > t->cap ? rehash(m, cap) : 0;
}

static void open_each(cm_map *m, void (*fn)(void *, cm_ref), void *ctx) {
    open_table *t = m->table;
    for (int64_t i = 0; i < t->cap; i++) {
        if (t->meta[i] < META_FULL) continue;
        cm_ref at = ref_at(t, (uint64_t)i);
        uint8_t kind = *at.kind & META_KINDS; /* callers see only the kind bits */
        at.kind = &kind;
        fn(ctx, at);
    }
}

/* The home slot and its metadata; for double hashing also the second probe's, which lies
 * elsewhere in the table (linear and quadratic probing's second slot is the neighbour). */
static void open_prefetch(const cm_map *m, uint64_t hash) {
    const open_table *t = m->table;
    cursor c = start(m, t, hash);
    CM_PREFETCH(&t->meta[c.pos]);
    CM_PREFETCH(&t->slots[c.pos]);
    if (m->scheme == CM_DOUBLE) {
        advance(&c, t->mask);
        CM_PREFETCH(&t->meta[c.pos]);
        CM_PREFETCH(&t->slots[c.pos]);
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
    out->homes = t->cap;
    out->tombstones = t->tombstones;
    out->probe_unit = CM_UNIT_SLOT;
}

static void open_layout(cm_map *m, cm_layout_out *out) {
    open_table *t = m->table;
    out->unit_bytes = sizeof(cm_slot);
    out->units = t->cap;
    out->meta_bytes = t->cap;
}

const cm_ops cm_open_ops = {
    open_init,     open_destroy, open_clear,    open_find,      open_insert,
    open_remove,   open_reserve, NULL,          open_each,      open_prefetch,
    open_homes,    open_home_hash, open_shape,  open_layout,
};
