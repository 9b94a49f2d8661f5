/* A Swiss table as abseil's raw_hash_set lays it out: control bytes apart from 16-byte slots.
 *
 * capacity = 2^k - 1 slots. The control array has capacity + GROUP + 1 bytes: one per slot (H2, the
 * hash's low 7 bits, for a full slot; EMPTY or DELETED otherwise), a SENTINEL at index capacity, then
 * clones of the first GROUP control bytes, so that a group of GROUP bytes can be loaded (unaligned)
 * from any position 0..capacity without wrapping. (The last clone is never read: abseil's first
 * layout, which today's abseil trims to capacity + GROUP.) Positions are taken mod capacity + 1,
 * so a clone at capacity + 1 + i stands for slot i and the sentinel's position has no slot.
 *
 * H1 (the hash without its low 7 bits, xor a per-table salt) picks the first position; a probe is
 * one group of GROUP control bytes loaded from the probe position; positions advance by GROUP,
 * 2 GROUP, 3 GROUP ... (triangular), which visits every group once when capacity + 1 is a power of
 * two. With SSE2 a group is matched in a few instructions; otherwise (or with -DCM_NO_SIMD) a
 * portable loop computes the same bit masks, so statistics do not depend on the build.
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
#define MIN_POSITIONS GROUP /* the smallest table: 15 slots and the sentinel */
#define CTRL_EMPTY ((int8_t)-128)
#define CTRL_DELETED ((int8_t)-2)
#define CTRL_SENTINEL ((int8_t)-1)

typedef struct {
    cm_array ctrl_a, slots_a, kinds_a;
    int8_t *ctrl;
    cm_slot *slots;
    uint8_t *kinds; /* a kind byte per slot once the table holds a box; NULL before */
    uint64_t mask;  /* = capacity: positions are 0..capacity */
    uint64_t salt;  /* per table, derived from the seed and the capacity (so runs repeat) */
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

/* Bit i set when slot i is free: empty or deleted (the sentinel is neither). */
static inline uint32_t match_free(const int8_t *g) {
#if SW_SIMD
    __m128i ctrl = _mm_loadu_si128((const __m128i *)(const void *)g);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(_mm_set1_epi8(CTRL_SENTINEL), ctrl));
#else
    uint32_t bits = 0;
    for (int i = 0; i < GROUP; i++) bits |= (uint32_t)(g[i] < CTRL_SENTINEL) << i;
    return bits;
#endif
}

/* Leading zeros of a group's 16-bit mask. */
static inline int clz16(uint32_t bits) {
    int n = 0;
    for (uint32_t bit = 1u << (GROUP - 1); bit && !(bits & bit); bit >>= 1) n++;
    return n;
}

static inline int8_t h2(uint64_t hash) { return (int8_t)(hash & 0x7f); }

static inline uint64_t h1(const swiss_table *t, uint64_t hash) { return (hash >> 7) ^ t->salt; }

static inline uint8_t kind_at(const swiss_table *t, uint64_t i) { return t->kinds ? t->kinds[i] : 0; }

static inline cm_ref ref_at(swiss_table *t, uint64_t i) {
    cm_ref r = {&t->slots[i].key, &t->slots[i].val, t->kinds ? &t->kinds[i] : NULL};
    return r;
}

/* Set slot i's control byte and its clone. */
static inline void set_ctrl(swiss_table *t, uint64_t i, int8_t byte) {
    t->ctrl[i] = byte;
    if (i < GROUP) t->ctrl[t->mask + 1 + i] = byte;
}

static uint64_t salt_for(const cm_map *m, int64_t positions) {
    return cm_mix64(m->k1 + (uint64_t)positions);
}

/* A fresh table with positions - 1 slots (positions a power of two >= MIN_POSITIONS). */
static int alloc_table(cm_map *m, swiss_table *t, int64_t positions, int with_kinds) {
    if (positions < 0) return (int)positions;
    memset(t, 0, sizeof *t);
    int64_t cap = positions - 1;
    int rc = cm_array_alloc(&t->ctrl_a, cap + GROUP + 1, 1);
    if (rc == 0) rc = cm_array_alloc(&t->slots_a, cap, sizeof(cm_slot));
    if (rc == 0 && with_kinds) rc = cm_array_alloc(&t->kinds_a, cap, 1);
    if (rc < 0) {
        cm_array_free(&t->ctrl_a);
        cm_array_free(&t->slots_a);
        return rc;
    }
    t->ctrl = t->ctrl_a.p;
    t->slots = t->slots_a.p;
    t->kinds = t->kinds_a.p;
    t->cap = cap;
    t->mask = (uint64_t)cap;
    t->salt = salt_for(m, positions);
    t->limit = cm_limit(m->max_load, cap);
    memset(t->ctrl, CTRL_EMPTY, (size_t)cap + GROUP + 1);
    set_ctrl(t, (uint64_t)cap, CTRL_SENTINEL);
    return 0;
}

static void free_table(swiss_table *t) {
    cm_array_free(&t->ctrl_a);
    cm_array_free(&t->slots_a);
    cm_array_free(&t->kinds_a);
}

static int swiss_init(cm_map *m, int64_t capacity) {
    swiss_table *t = calloc(1, sizeof *t);
    if (!t) return CM_ENOMEM;
    int rc = alloc_table(m, t, cm_pow2_at_least(capacity, MIN_POSITIONS), 0);
    if (rc < 0) {
        free(t);
        return rc;
    }
    m->table = t;
    return 0;
}

static void swiss_destroy(cm_map *m) {
    free_table(m->table);
    free(m->table);
}

static void swiss_clear(cm_map *m) {
    swiss_table *t = m->table;
    memset(t->ctrl, CTRL_EMPTY, (size_t)t->cap + GROUP + 1);
    set_ctrl(t, t->mask, CTRL_SENTINEL);
    if (t->kinds) cm_array_zero(&t->kinds_a);
    t->tombstones = 0;
}

/* q's slot, or -1; *probes counts groups. *free_slot (if given) gets the first free slot on the
 * way, where an insert of q belongs. */
static int64_t locate(const swiss_table *t, const cm_key *q, int64_t *probes, int64_t *free_slot) {
    uint64_t pos = h1(t, q->hash) & t->mask, index = 0;
    if (free_slot) *free_slot = -1;
    for (int64_t n = 1;; n++) {
        const int8_t *g = t->ctrl + pos;
        for (uint32_t bits = match(g, h2(q->hash)); bits; bits &= bits - 1) {
            uint64_t i = (pos + (uint64_t)cm_ctz(bits)) & t->mask;
            if (cm_matches(q, t->slots[i].key, kind_at(t, i))) {
                *probes = n;
                return (int64_t)i;
            }
        }
        if (free_slot && *free_slot < 0) {
            uint32_t free_bits = match_free(g);
            if (free_bits) *free_slot = (int64_t)((pos + (uint64_t)cm_ctz(free_bits)) & t->mask);
        }
        if (match(g, CTRL_EMPTY)) {
            *probes = n;
            return -1;
        }
        index += GROUP;
        pos = (pos + index) & t->mask;
    }
}

static int swiss_find(cm_map *m, const cm_key *q, int64_t *probes, cm_ref *at) {
    swiss_table *t = m->table;
    int64_t i = locate(t, q, probes, NULL);
    if (i < 0) return 0;
    *at = ref_at(t, (uint64_t)i);
    return 1;
}

/* First empty slot on hash's probe path: where a rehash puts an entry. */
static uint64_t first_empty(const swiss_table *t, uint64_t hash) {
    uint64_t pos = h1(t, hash) & t->mask, index = 0;
    for (;;) {
        uint32_t bits = match(t->ctrl + pos, CTRL_EMPTY);
        if (bits) return (pos + (uint64_t)cm_ctz(bits)) & t->mask;
        index += GROUP;
        pos = (pos + index) & t->mask;
    }
}

static int rehash(cm_map *m, int64_t positions) {
    swiss_table *t = m->table, fresh;
    int rc = alloc_table(m, &fresh, positions, t->kinds != NULL);
    if (rc < 0) return rc;
    for (uint64_t i = 0; i < t->mask; i++) {
        if (t->ctrl[i] < 0) continue;
        uint8_t kind = kind_at(t, i);
        uint64_t j = first_empty(&fresh, cm_stored_hash(m, t->slots[i].key, kind));
        set_ctrl(&fresh, j, t->ctrl[i]);
        fresh.slots[j] = t->slots[i];
        if (fresh.kinds) fresh.kinds[j] = kind;
        CM_MOVED(m, 1);
    }
    free_table(t);
    *t = fresh;
    m->resizes++;
    return 0;
}

static int swiss_insert(cm_map *m, const cm_key *q, cm_ref *at) {
    for (;;) {
        swiss_table *t = m->table;
        int64_t probes, slot;
        int64_t i = locate(t, q, &probes, &slot);
        if (i >= 0) {
            *at = ref_at(t, (uint64_t)i);
            return 0;
        }
        if (t->ctrl[slot] == CTRL_DELETED) {
            t->tombstones--;
        } else if (m->size + t->tombstones + 1 > t->limit) {
            int64_t positions = (int64_t)t->mask + 1;
            int rc = rehash(m, cm_must_grow(m->size, t->limit) ? positions * 2 : positions);
            if (rc < 0) return rc;
            continue;
        }
        set_ctrl(t, (uint64_t)slot, h2(q->hash));
        t->slots[slot].key = q->word;
        t->slots[slot].val = 0;
        if (t->kinds) t->kinds[slot] = q->kind;
        *at = ref_at(t, (uint64_t)slot);
        return 1;
    }
}

static int swiss_remove(cm_map *m, const cm_key *q, cm_gone *gone) {
    swiss_table *t = m->table;
    int64_t probes, found = locate(t, q, &probes, NULL);
    if (found < 0) return 0;
    uint64_t i = (uint64_t)found;
    gone->key = t->slots[i].key;
    gone->val = t->slots[i].val;
    gone->kind = kind_at(t, i);
    if (t->kinds) t->kinds[i] = 0;
    /* The slot may become empty again only if no probe ever passed it: if every group that holds
     * it has an empty slot, i.e. the run of non-empty positions around it is shorter than a
     * group. Otherwise it must stay a tombstone (abseil's erase rule). */
    uint32_t after = match(t->ctrl + i, CTRL_EMPTY);
    uint32_t before = match(t->ctrl + ((i - GROUP) & t->mask), CTRL_EMPTY);
    if (after && before && cm_ctz(after) + clz16(before) < GROUP) {
        set_ctrl(t, i, CTRL_EMPTY);
    } else {
        set_ctrl(t, i, CTRL_DELETED);
        t->tombstones++;
    }
    return 1;
}

static int swiss_reserve(cm_map *m, int64_t n) {
    swiss_table *t = m->table;
    int64_t positions = cm_pow2_for(m->max_load, (int64_t)t->mask + 1, 1, n);
    if (positions < 0) return (int)positions;
    return positions > (int64_t)t->mask + 1 ? rehash(m, positions) : 0;
}

static int swiss_widen(cm_map *m) {
    swiss_table *t = m->table;
    int rc = cm_array_alloc(&t->kinds_a, t->cap, 1); /* zeroed: every entry so far is ints */
    if (rc == 0) t->kinds = t->kinds_a.p;
    return rc;
}

static void swiss_each(cm_map *m, void (*fn)(void *, cm_ref), void *ctx) {
    swiss_table *t = m->table;
    for (uint64_t i = 0; i < t->mask; i++)
        if (t->ctrl[i] >= 0) fn(ctx, ref_at(t, i));
}

static void swiss_prefetch(const cm_map *m, uint64_t hash) {
    const swiss_table *t = m->table;
    uint64_t pos = h1(t, hash) & t->mask;
    CM_PREFETCH(t->ctrl + pos);
    CM_PREFETCH(&t->slots[pos < t->mask ? pos : 0]);
}

static int64_t swiss_homes(cm_map *m) { return (int64_t)((swiss_table *)m->table)->mask + 1; }

static uint64_t swiss_home_hash(cm_map *m, int64_t home, uint64_t noise) {
    swiss_table *t = m->table;
    return (noise & ~(t->mask << 7)) | ((((uint64_t)home ^ t->salt) & t->mask) << 7);
}

static void swiss_shape(cm_map *m, cm_stats_out *out) {
    swiss_table *t = m->table;
    out->capacity = t->cap;
    out->homes = (int64_t)t->mask + 1;
    out->tombstones = t->tombstones;
    out->probe_unit = CM_UNIT_GROUP;
}

static void swiss_layout(cm_map *m, cm_layout_out *out) {
    swiss_table *t = m->table;
    out->unit_bytes = sizeof(cm_slot);
    out->units = t->cap;
    out->meta_bytes = t->cap + GROUP + 1;
    out->group_width = GROUP;
    out->kind_bytes = t->kinds ? t->cap : 0;
}

const cm_ops cm_swiss_ops = {
    swiss_init,    swiss_destroy, swiss_clear,  swiss_find,      swiss_insert,
    swiss_remove,  swiss_reserve, swiss_widen,  swiss_each,      swiss_prefetch,
    swiss_homes,   swiss_home_hash, swiss_shape, swiss_layout,
};
