/* mapbench C hash tables: shared types, the exported API and the per-scheme interface.
 *
 * Five probing schemes share one entry layout, one seeded hash (SipHash-1-3) and one API, so that
 * they differ only in layout and probing. Python loads the library with ctypes (no Python C-API).
 */
#ifndef MAPBENCH_CMAP_H
#define MAPBENCH_CMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define CM_API __attribute__((visibility("default")))
#else
#define CM_API
#endif

/* Key tags double as slot states, so one byte of the entry tells a probe everything. */
enum { CM_EMPTY = 0, CM_INT = 1, CM_BYTES = 2, CM_STR = 3, CM_TOMBSTONE = 4, CM_NOMATCH = 255 };
enum { CM_LINEAR = 0, CM_QUADRATIC = 1, CM_DOUBLE = 2, CM_GOBUCKET = 3, CM_SWISS = 4 };
enum { CM_UNIT_SLOT = 0, CM_UNIT_BUCKET = 1, CM_UNIT_GROUP = 2 };
enum { CM_HIST_HIT = 0, CM_HIST_MISS = 1 };

typedef struct {
    uint64_t hash;
    int64_t key;    /* an int key, or the byte length of a bytes/str key */
    int64_t val;    /* an int value, or the byte length of a bytes value */
    uint8_t *kdata; /* owned copy of a bytes/str key; NULL for ints and empty strings */
    uint8_t *vdata; /* owned copy of a bytes value; NULL for ints and empty values */
    uint8_t ktag;   /* CM_INT/CM_BYTES/CM_STR, or CM_EMPTY/CM_TOMBSTONE for a free slot */
    uint8_t vtag;   /* CM_INT or CM_BYTES */
} cm_entry;

/* What cm_stats reports; every field is int64 (or double) so the ctypes mirror stays trivial. */
typedef struct {
    int64_t size;
    int64_t capacity; /* slots (buckets x 8 for gobucket) */
    int64_t probe_unit;
    int64_t tombstones;
    int64_t resizes;
    int64_t longest_insert_ns;
    int64_t buckets;          /* buckets (gobucket) or groups (swiss); slots otherwise */
    int64_t overflow_buckets; /* gobucket only */
    int64_t growing;          /* gobucket: 1 while old buckets still await evacuation */
    int64_t hit_len;          /* lengths of the histograms that cm_hist copies */
    int64_t miss_len;
    int64_t max_insert_moves; /* most entries one insert moved (rehash or evacuation) */
    double max_load;
} cm_stats_out;

typedef struct {
    int64_t *counts;
    int64_t len, cap;
} cm_hist;

typedef struct cm_map cm_map;

/* One probing scheme. Entry data (kdata/vdata) is owned by the common code, never by a scheme. */
typedef struct {
    int (*init)(cm_map *m, int64_t capacity);   /* 0, or -1 when out of memory */
    void (*destroy)(cm_map *m);                 /* frees the table, not the entries' data */
    void (*clear)(cm_map *m);                   /* empties the table, keeping its capacity */
    cm_entry *(*find)(cm_map *m, const cm_entry *q, int64_t *probes);
    /* The slot holding q's key, after copying q's key fields into a new slot if absent
     * (*created = 1); NULL when out of memory. */
    cm_entry *(*insert)(cm_map *m, const cm_entry *q, int *created);
    int (*remove)(cm_map *m, const cm_entry *q, cm_entry *out); /* 1 and the entry, or 0 */
    int (*reserve)(cm_map *m, int64_t n);
    void (*each)(cm_map *m, void (*fn)(cm_entry *e, void *ctx), void *ctx);
    int64_t (*homes)(cm_map *m); /* number of home positions (slots, buckets or groups) */
    uint64_t (*home_hash)(cm_map *m, int64_t home, uint64_t noise); /* a hash landing on home */
    void (*shape)(cm_map *m, cm_stats_out *out);
} cm_ops;

struct cm_map {
    const cm_ops *ops;
    void *table; /* the scheme's own state */
    int scheme;
    int incremental;
    double max_load;
    uint64_t k0, k1;
    int64_t size, key_bytes, resizes, longest_insert_ns;
    int64_t moves, max_insert_moves; /* entries moved by rehashes/evacuation: total, one insert */
    cm_hist hit, miss;
};

extern const cm_ops cm_open_ops;
extern const cm_ops cm_gobucket_ops;
extern const cm_ops cm_swiss_ops;

/* Equal keys: same tag, hash and bytes. A CM_NOMATCH query never equals a stored key. */
static inline int cm_same_key(const cm_entry *e, const cm_entry *q) {
    return e->hash == q->hash && e->ktag == q->ktag && e->key == q->key &&
           (q->ktag == CM_INT || q->key == 0 || memcmp(e->kdata, q->kdata, (size_t)q->key) == 0);
}

/* Copy a query's key into a free slot; the value is set afterwards by the caller. */
static inline void cm_place(cm_entry *slot, const cm_entry *q) {
    slot->hash = q->hash;
    slot->key = q->key;
    slot->kdata = q->kdata;
    slot->ktag = q->ktag;
    slot->val = 0;
    slot->vdata = NULL;
    slot->vtag = CM_INT;
}

static inline int64_t cm_pow2_at_least(int64_t n, int64_t floor) {
    int64_t p = floor;
    while (p < n) p <<= 1;
    return p;
}

/* Most entries a table of cap slots may hold at max_load; always leaves one slot empty. */
static inline int64_t cm_limit(double max_load, int64_t cap) {
    int64_t limit = (int64_t)(max_load * (double)cap);
    if (limit > cap - 1) limit = cap - 1;
    return limit < 1 ? 1 : limit;
}

/* Slots a table needs so that n entries fit at max_load (open addressing and swiss). */
static inline int64_t cm_capacity_for(double max_load, int64_t cap, int64_t n) {
    while (cm_limit(max_load, cap) < n) cap *= 2;
    return cap;
}

/* Size of the table that replaces a full one: the same when mostly tombstones filled it. */
static inline int64_t cm_regrow(int64_t size, int64_t limit, int64_t cap) {
    return size + 1 > limit / 2 ? cap * 2 : cap;
}

#if defined(__GNUC__)
#define cm_ctz(x) __builtin_ctz(x)
#else
static inline int cm_ctz(uint32_t x) {
    int n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
}
#endif

uint64_t cm_mix64(uint64_t x);

/* The exported API (see impls/cmaps.py for the ctypes side). */
CM_API cm_map *cm_new(int scheme, uint64_t seed, double max_load, int64_t capacity, int incremental);
CM_API void cm_free(cm_map *m);
CM_API int64_t cm_len(const cm_map *m);
CM_API int64_t cm_key_bytes(const cm_map *m);
CM_API int cm_put(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int vtag, int64_t vnum,
                  const uint8_t *vdata);
CM_API int cm_get(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int64_t *out,
                  uint8_t *buf, int64_t bufcap);
CM_API int cm_del(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata);
CM_API void cm_clear(cm_map *m);
CM_API int cm_reserve(cm_map *m, int64_t n);
CM_API int64_t cm_insert_many(cm_map *m, const int64_t *keys, const int64_t *vals, int64_t n);
CM_API int64_t cm_lookup_many(cm_map *m, const int64_t *keys, int64_t n);
CM_API int64_t cm_delete_many(cm_map *m, const int64_t *keys, int64_t n);
CM_API int64_t cm_export_keys(cm_map *m, uint8_t *tags, int64_t *nums, uint8_t *blob, int64_t ncap,
                              int64_t blobcap);
CM_API int cm_stats(cm_map *m, cm_stats_out *out);
CM_API int64_t cm_hist_copy(const cm_map *m, int which, int64_t *out, int64_t cap);
CM_API uint64_t cm_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, int64_t len, int c_rounds,
                           int d_rounds);
CM_API int cm_simd(void);

#endif
