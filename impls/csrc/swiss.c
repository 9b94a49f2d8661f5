/* A Swiss-table-style layout: one control byte per slot, probing by aligned groups of 16.
 *
 * The hash splits into H1 (high 57 bits: the home group) and H2 (low 7 bits, kept in the control
 * byte of a full slot), so most non-matching slots are rejected without touching the entry. A probe
 * is one group; groups follow triangular steps, which reach every group of a power-of-two table.
 * With SSE2 a group is matched in a few instructions; otherwise (or with -DCM_NO_SIMD) a portable
 * loop computes the same bit masks, so statistics do not depend on the build.
 */
#include <stdlib.h>

#include "cmap.h"

#if defined(__SSE2__) && !defined(CM_NO_SIMD)
#include <emmintrin.h>
#define SW_SIMD 1
#else
#define SW_SIMD 0
#endif

#define GROUP 16
#define CTRL_EMPTY ((int8_t)-128)
#define CTRL_DELETED ((int8_t)-2)

typedef struct {
    int8_t *ctrl;
    cm_entry *slots;
    uint64_t gmask;
    int64_t cap, tombstones, limit;
} swiss_table;

CM_API int cm_simd(void) { return SW_SIMD; }

/* Bit i set when control byte i of the group equals byte. */
static inline uint32_t match(const int8_t *g, int8_t byte) {
#if SW_SIMD
    __m128i ctrl = _mm_loadu_si128((const __m128i *)(const void *)g);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(ctrl, _mm_set1_epi8(byte)));
#else
    uint32_t bits = 0;
    for (int i = 0; i < GROUP; i++) bits |= (uint32_t)(g[i] == byte) << i;
    return bits;
#endif
}

/* Bit i set when slot i is free (empty or deleted: the only control bytes with the sign bit). */
static inline uint32_t match_free(const int8_t *g) {
#if SW_SIMD
    return (uint32_t)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)g));
#else
    uint32_t bits = 0;
    for (int i = 0; i < GROUP; i++) bits |= (uint32_t)(g[i] < 0) << i;
    return bits;
#endif
}

static inline int8_t h2(uint64_t hash) { return (int8_t)(hash & 0x7f); }

static inline uint64_t home_group(const swiss_table *t, uint64_t hash) {
    return (hash >> 7) & t->gmask;
}

static int alloc_table(cm_map *m, swiss_table *t, int64_t cap) {
    t->ctrl = malloc((size_t)cap);
    t->slots = calloc((size_t)cap, sizeof *t->slots);
    if (!t->ctrl || !t->slots) {
        free(t->ctrl);
        free(t->slots);
        return -1;
    }
    memset(t->ctrl, CTRL_EMPTY, (size_t)cap);
    t->cap = cap;
    t->gmask = (uint64_t)(cap / GROUP) - 1;
    t->tombstones = 0;
    t->limit = cm_limit(m->max_load, cap);
    return 0;
}

static int swiss_init(cm_map *m, int64_t capacity) {
    swiss_table *t = calloc(1, sizeof *t);
    if (!t) return -1;
    if (alloc_table(m, t, cm_pow2_at_least(capacity, GROUP)) < 0) {
        free(t);
        return -1;
    }
    m->table = t;
    return 0;
}

static void swiss_destroy(cm_map *m) {
    swiss_table *t = m->table;
    free(t->ctrl);
    free(t->slots);
    free(t);
}

static void swiss_clear(cm_map *m) {
    swiss_table *t = m->table;
    memset(t->ctrl, CTRL_EMPTY, (size_t)t->cap);
    memset(t->slots, 0, (size_t)t->cap * sizeof *t->slots);
    t->tombstones = 0;
}

/* Index of q's slot, or -1; *probes counts groups. *free_slot (if given) gets the first free
 * slot on the way, where an insert of q belongs. */
static int64_t locate(const swiss_table *t, const cm_entry *q, int64_t *probes,
                      int64_t *free_slot) {
    uint64_t g = home_group(t, q->hash), step = 1;
    if (free_slot) *free_slot = -1;
    for (int64_t n = 1;; n++, g = (g + step++) & t->gmask) {
        const int8_t *ctrl = t->ctrl + g * GROUP;
        for (uint32_t bits = match(ctrl, h2(q->hash)); bits; bits &= bits - 1) {
            int64_t i = (int64_t)g * GROUP + cm_ctz(bits);
            if (cm_same_key(&t->slots[i], q)) {
                *probes = n;
                return i;
            }
        }
        uint32_t free_bits = match_free(ctrl);
        if (free_slot && *free_slot < 0 && free_bits)
            *free_slot = (int64_t)g * GROUP + cm_ctz(free_bits);
        if (match(ctrl, CTRL_EMPTY)) {
            *probes = n;
            return -1;
        }
    }
}

static cm_entry *swiss_find(cm_map *m, const cm_entry *q, int64_t *probes) {
    swiss_table *t = m->table;
    int64_t i = locate(t, q, probes, NULL);
    return i < 0 ? NULL : &t->slots[i];
}

/* First empty slot on hash's probe path: where a rehash puts an entry. */
static int64_t first_empty(const swiss_table *t, uint64_t hash) {
    uint64_t g = home_group(t, hash), step = 1;
    for (;; g = (g + step++) & t->gmask) {
        uint32_t bits = match(t->ctrl + g * GROUP, CTRL_EMPTY);
        if (bits) return (int64_t)g * GROUP + cm_ctz(bits);
    }
}

static int rehash(cm_map *m, int64_t cap) {
    swiss_table *t = m->table, fresh;
    if (alloc_table(m, &fresh, cap) < 0) return -1;
    for (int64_t i = 0; i < t->cap; i++) {
        if (t->ctrl[i] < 0) continue;
        int64_t j = first_empty(&fresh, t->slots[i].hash);
        fresh.ctrl[j] = t->ctrl[i];
        fresh.slots[j] = t->slots[i];
        m->moves++;
    }
    free(t->ctrl);
    free(t->slots);
    *t = fresh;
    m->resizes++;
    return 0;
}

static cm_entry *swiss_insert(cm_map *m, const cm_entry *q, int *created) {
    for (;;) {
        swiss_table *t = m->table;
        int64_t probes, slot;
        int64_t i = locate(t, q, &probes, &slot);
        if (i >= 0) {
            *created = 0;
            return &t->slots[i];
        }
        if (t->ctrl[slot] == CTRL_DELETED) {
            t->tombstones--;
        } else if (m->size + t->tombstones + 1 > t->limit) {
            if (rehash(m, cm_regrow(m->size, t->limit, t->cap)) < 0) return NULL;
            continue;
        }
        t->ctrl[slot] = h2(q->hash);
        cm_place(&t->slots[slot], q);
        *created = 1;
        return &t->slots[slot];
    }
}

static int swiss_remove(cm_map *m, const cm_entry *q, cm_entry *out) {
    swiss_table *t = m->table;
    int64_t probes, i = locate(t, q, &probes, NULL);
    if (i < 0) return 0;
    *out = t->slots[i];
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    /* A group that still has an empty slot ends every probe path through it, so the slot can
     * become empty again; in a full group it must stay a tombstone. */
    if (match(t->ctrl + (i / GROUP) * GROUP, CTRL_EMPTY)) {
        t->ctrl[i] = CTRL_EMPTY;
    } else {
        t->ctrl[i] = CTRL_DELETED;
        t->tombstones++;
    }
    return 1;
}

static int swiss_reserve(cm_map *m, int64_t n) {
    swiss_table *t = m->table;
    int64_t cap = cm_capacity_for(m->max_load, t->cap, n);
    return cap > t->cap ? rehash(m, cap) : 0;
}

static void swiss_each(cm_map *m, void (*fn)(cm_entry *, void *), void *ctx) {
    swiss_table *t = m->table;
    for (int64_t i = 0; i < t->cap; i++)
        if (t->ctrl[i] >= 0) fn(&t->slots[i], ctx);
}

static int64_t swiss_homes(cm_map *m) { return ((swiss_table *)m->table)->cap / GROUP; }

static uint64_t swiss_home_hash(cm_map *m, int64_t home, uint64_t noise) {
    swiss_table *t = m->table;
    return (noise & ~(t->gmask << 7)) | ((uint64_t)home << 7);
}

static void swiss_shape(cm_map *m, cm_stats_out *out) {
    swiss_table *t = m->table;
    out->capacity = t->cap;
    out->buckets = t->cap / GROUP;
    out->tombstones = t->tombstones;
    out->probe_unit = CM_UNIT_GROUP;
}

const cm_ops cm_swiss_ops = {
    swiss_init,    swiss_destroy, swiss_clear,  swiss_find,      swiss_insert, swiss_remove,
    swiss_reserve, swiss_each,    swiss_homes, swiss_home_hash, swiss_shape,
};
