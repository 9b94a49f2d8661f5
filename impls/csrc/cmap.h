/* mapbench C hash tables: shared types, the exported API and the per-scheme interface.
 *
 * Five schemes share one seeded hash (SipHash-1-3), one representation of keys and values and one
 * API; each lays its table out as the design it is named after (docs/cmap.md draws every layout).
 * A slot holds two 8-byte words, the key and the value: an int64 itself, or the address of a cm_box
 * holding the bytes of a str/bytes key or a bytes value out of line. Which words are boxes is kept
 * in one kind byte per slot, only in tables that ever held a box (open addressing keeps it in its
 * metadata byte). Python loads the library with ctypes (no Python C-API).
 */
#ifndef MAPBENCH_CMAP_H
#define MAPBENCH_CMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define CM_API __attribute__((visibility("default")))
#define CM_PREFETCH(p) __builtin_prefetch(p)
#define CM_PREFETCH_W(p) __builtin_prefetch(p, 1)
#else
#define CM_API
#define CM_PREFETCH(p) ((void)(p))
#define CM_PREFETCH_W(p) ((void)(p))
#endif

/* Type tags of keys and values in the API. CM_NOMATCH marks a query that equals no stored key. */
enum { CM_INT = 1, CM_BYTES = 2, CM_STR = 3, CM_NOMATCH = 255 };
enum { CM_LINEAR = 0, CM_QUADRATIC = 1, CM_DOUBLE = 2, CM_GOBUCKET = 3, CM_SWISS = 4 };
enum { CM_UNIT_SLOT = 0, CM_UNIT_BUCKET = 1, CM_UNIT_GROUP = 2 };
enum { CM_HIST_HIT = 0, CM_HIST_MISS = 1 };
/* Error returns of the API; every status is >= 0. */
enum { CM_ENOMEM = -1, CM_ECLOSED = -2, CM_EINVAL = -3, CM_ETOOBIG = -4 };

/* Kind bits: set when the key (value) word of a slot is the address of a cm_box. */
#define CM_KBOX 0x40
#define CM_VBOX 0x20

/* The most slots (or buckets x 8) a table may have: 2^48 keeps every size derived from a slot
 * count (bytes, load limits, doubling) far inside 64 bits. No machine has the memory anyway. */
#define CM_MAX_SLOTS ((int64_t)1 << 48)

/* A str/bytes key or a bytes value stored out of line. */
typedef struct {
    uint64_t hash; /* the key's hash, so that rehashing needs no SipHash; 0 for a value */
    int64_t len;
    uint8_t tag; /* CM_BYTES or CM_STR (values: CM_BYTES) */
    uint8_t data[];
} cm_box;

typedef struct {
    int64_t key, val;
} cm_slot; /* 16 bytes: the slot of open addressing and swiss */

/* A key being looked up, inserted or deleted. */
typedef struct {
    uint64_t hash;
    int64_t num;         /* the int, or the byte length */
    const uint8_t *data; /* the bytes of a str/bytes key */
    int64_t word;        /* what a slot stores for it: the int, or the address of its cm_box */
    uint8_t tag;         /* CM_INT, CM_BYTES, CM_STR or CM_NOMATCH */
    uint8_t kind;        /* CM_KBOX for a boxed key, else 0 */
} cm_key;

/* Where a stored entry lives. */
typedef struct {
    int64_t *key, *val;
    uint8_t *kind; /* NULL in a table without kind bytes (then every key and value is an int) */
} cm_ref;

/* The words of a removed entry, whose boxes the caller frees. */
typedef struct {
    int64_t key, val;
    uint8_t kind;
} cm_gone;

/* What cm_stats reports; every field is int64 (or double) so the ctypes mirror stays trivial. */
typedef struct {
    int64_t size;
    int64_t capacity; /* slots (buckets x 8 for gobucket) */
    int64_t probe_unit;
    int64_t tombstones;
    int64_t resizes;
    int64_t longest_insert_ns; /* -1 unless built with -DCM_TIME_INSERTS */
    int64_t homes;             /* home positions: slots, buckets, or swiss probe starts */
    int64_t overflow_buckets;  /* gobucket only */
    int64_t growing;           /* gobucket: 1 while old buckets still await evacuation */
    int64_t hit_len;           /* lengths of the histograms that cm_hist_copy copies */
    int64_t miss_len;
    int64_t max_insert_moves; /* most entries one insert moved (rehash or evacuation) */
    double max_load;
} cm_stats_out;

/* The memory layout of a table, for tests and docs (cm_layout). */
typedef struct {
    int64_t unit_bytes;  /* one slot (open addressing, swiss) or one bucket (gobucket) */
    int64_t units;       /* slots or buckets in the main array */
    int64_t meta_bytes;  /* the byte array kept apart: metadata (open), control bytes (swiss) */
    int64_t group_width; /* control bytes one swiss probe matches; 0 for the others */
    int64_t kind_bytes;  /* kind bytes kept apart from the slots (swiss, once it holds a box) */
} cm_layout_out;

typedef struct {
    int64_t *counts;
    int64_t len, cap;
} cm_hist;

/* A large zeroed array: mmap'd (huge pages where offered) on POSIX, calloc'd otherwise or with
 * -DCM_NO_MMAP (the sanitizer build), so that ASan sees it. */
typedef struct {
    void *p;
    size_t bytes, released; /* released: the prefix already handed back to the OS */
    int mapped;
} cm_array;

typedef struct cm_map cm_map;

/* One probing scheme. Boxes are owned by the common code, never by a scheme. */
typedef struct {
    int (*init)(cm_map *m, int64_t capacity); /* 0, CM_ENOMEM or CM_ETOOBIG */
    void (*destroy)(cm_map *m);
    void (*clear)(cm_map *m); /* empties the table, keeping its capacity */
    int (*find)(cm_map *m, const cm_key *q, int64_t *probes, cm_ref *at); /* 1 found, 0 absent */
    /* q's entry, after writing q's key word and kind into a free slot if absent (value word 0,
     * CM_VBOX clear): 1 created, 0 already there, or CM_ENOMEM leaving the table unchanged. */
    int (*insert)(cm_map *m, const cm_key *q, cm_ref *at);
    int (*remove)(cm_map *m, const cm_key *q, cm_gone *gone); /* 1 removed, 0 absent */
    int (*reserve)(cm_map *m, int64_t n);                     /* 0, CM_ENOMEM or CM_ETOOBIG */
    int (*widen)(cm_map *m); /* start keeping kind bytes: 0 or CM_ENOMEM; NULL if always kept */
    void (*each)(cm_map *m, void (*fn)(void *ctx, cm_ref at), void *ctx);
    void (*prefetch)(const cm_map *m, uint64_t hash); /* the memory a probe for hash reads first */
    int64_t (*homes)(cm_map *m);
    uint64_t (*home_hash)(cm_map *m, int64_t home, uint64_t noise); /* a hash starting at home */
    void (*shape)(cm_map *m, cm_stats_out *out);
    void (*layout)(cm_map *m, cm_layout_out *out);
} cm_ops;

struct cm_map {
    const cm_ops *ops;
    void *table; /* the scheme's own state */
    int scheme;
    int incremental;
    int wide; /* 1 once the table keeps kind bytes (always for open addressing) */
    double max_load;
    uint64_t k0, k1;
    uint64_t sip_int[4]; /* SipHash state after keying for int keys: hashing one needs 5 rounds */
    int64_t size, key_bytes, boxes, resizes;
    int64_t moves, max_insert_moves; /* entries moved by rehashes/evacuation: total, one insert */
#ifdef CM_TIME_INSERTS
    int64_t longest_insert_ns;
#endif
    cm_hist hit, miss;
};

/* A call block: the int-key calls take their key and value here, so that Python passes one
 * pointer and converts nothing per call. `map` is NULL once the map is closed. */
typedef struct {
    cm_map *map;
    int64_t key, val;
} cm_call;

extern const cm_ops cm_open_ops;
extern const cm_ops cm_gobucket_ops;
extern const cm_ops cm_swiss_ops;

/* Entries moved by rehashes and evacuation: exact, deterministic counts. -DCM_NO_COUNTERS compiles
 * this bookkeeping out, for a bare build that shows what it costs (scripts/cmap_numbers.py). */
#ifdef CM_NO_COUNTERS
#define CM_MOVED(m, n) ((void)(m), (void)(n))
#else
#define CM_MOVED(m, n) ((m)->moves += (n))
#endif

#define CM_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define CM_SIPROUND(v0, v1, v2, v3)                                                                \
    do {                                                                                           \
        v0 += v1; v1 = CM_ROTL(v1, 13); v1 ^= v0; v0 = CM_ROTL(v0, 32);                            \
        v2 += v3; v3 = CM_ROTL(v3, 16); v3 ^= v2;                                                  \
        v0 += v3; v3 = CM_ROTL(v3, 21); v3 ^= v0;                                                  \
        v2 += v1; v1 = CM_ROTL(v1, 17); v1 ^= v2; v2 = CM_ROTL(v2, 32);                            \
    } while (0)

/* SipHash-1-3 of an int key's 8 little-endian bytes (whose little-endian load is the int itself),
 * from the state keyed for ints: equal to cm_siphash over those bytes, without the byte loops. */
static inline uint64_t cm_hash_int(const cm_map *m, int64_t num) {
    uint64_t v0 = m->sip_int[0], v1 = m->sip_int[1], v2 = m->sip_int[2], v3 = m->sip_int[3];
    const uint64_t w = (uint64_t)num, last = (uint64_t)8 << 56;
    v3 ^= w;
    CM_SIPROUND(v0, v1, v2, v3);
    v0 ^= w;
    v3 ^= last;
    CM_SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    CM_SIPROUND(v0, v1, v2, v3);
    CM_SIPROUND(v0, v1, v2, v3);
    CM_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

static inline const cm_box *cm_box_at(int64_t word) { return (const cm_box *)(uintptr_t)word; }

/* Does the stored key (word, kind) equal q? A CM_NOMATCH query equals nothing. */
static inline int cm_matches(const cm_key *q, int64_t word, uint8_t kind) {
    if (!(kind & CM_KBOX)) return q->tag == CM_INT && word == q->num;
    if (q->tag != CM_BYTES && q->tag != CM_STR) return 0;
    const cm_box *b = cm_box_at(word);
    return b->hash == q->hash && b->tag == q->tag && b->len == q->num &&
           (q->num == 0 || memcmp(b->data, q->data, (size_t)q->num) == 0);
}

/* The hash of a stored key. */
static inline uint64_t cm_stored_hash(const cm_map *m, int64_t word, uint8_t kind) {
    return kind & CM_KBOX ? cm_box_at(word)->hash : cm_hash_int(m, word);
}

static inline cm_key cm_int_key(int64_t num, uint64_t hash) {
    cm_key q = {hash, num, NULL, num, CM_INT, 0};
    return q;
}

/* The query that finds a stored key again. */
static inline cm_key cm_stored_key(const cm_map *m, int64_t word, uint8_t kind) {
    if (!(kind & CM_KBOX)) return cm_int_key(word, cm_hash_int(m, word));
    const cm_box *b = cm_box_at(word);
    cm_key q = {b->hash, b->len, b->data, word, b->tag, CM_KBOX};
    return q;
}

static inline uint8_t cm_kind_of(cm_ref at) { return at.kind ? *at.kind : 0; }

/* Most entries a table of cap slots may hold at max_load; always leaves one slot empty. */
static inline int64_t cm_limit(double max_load, int64_t cap) {
    int64_t limit = (int64_t)(max_load * (double)cap);
    if (limit > cap - 1) limit = cap - 1;
    return limit < 1 ? 1 : limit;
}

/* The smallest power of two >= n and >= floor, or CM_ETOOBIG above CM_MAX_SLOTS. */
static inline int64_t cm_pow2_at_least(int64_t n, int64_t floor) {
    if (n > CM_MAX_SLOTS) return CM_ETOOBIG;
    int64_t p = floor;
    while (p < n) p *= 2;
    return p;
}

/* The smallest power of two p >= floor whose p - spare slots hold n entries at max_load, or
 * CM_ETOOBIG (open addressing: spare 0; swiss keeps one position for its sentinel: spare 1). */
static inline int64_t cm_pow2_for(double max_load, int64_t floor, int64_t spare, int64_t n) {
    if (n > CM_MAX_SLOTS) return CM_ETOOBIG;
    int64_t p = floor;
    while (cm_limit(max_load, p - spare) < n) {
        if (p >= CM_MAX_SLOTS) return CM_ETOOBIG;
        p *= 2;
    }
    return p;
}

/* Whether a table whose limit was reached grows (1) or only purges tombstones at its size (0). */
static inline int cm_must_grow(int64_t size, int64_t limit) { return size + 1 > limit / 2; }

#if defined(__GNUC__)
#define cm_ctz(x) __builtin_ctz(x)
#define cm_ctz64(x) __builtin_ctzll(x)
#else
static inline int cm_ctz64(uint64_t x) {
    int n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
}
#define cm_ctz(x) cm_ctz64(x)
#endif

/* base.c */
uint64_t cm_mix64(uint64_t x);
void cm_seed_hash(cm_map *m, uint64_t seed); /* k0, k1 and the int-key state from the seed */
uint64_t cm_hash_bytes(const cm_map *m, int tag, const uint8_t *data, int64_t len);
int cm_array_alloc(cm_array *a, int64_t count, size_t size); /* 0, CM_ENOMEM or CM_ETOOBIG */
void cm_array_release(cm_array *a, size_t upto); /* hand bytes [released, upto) back early */
void cm_array_free(cm_array *a);
void cm_array_zero(cm_array *a);

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
CM_API int cm_call_get(cm_call *c);
CM_API int cm_call_put(cm_call *c);
CM_API int cm_call_del(cm_call *c);
CM_API void cm_clear(cm_map *m);
CM_API int cm_reserve(cm_map *m, int64_t n);
CM_API int64_t cm_insert_many(cm_map *m, const int64_t *keys, const int64_t *vals, int64_t n);
CM_API int64_t cm_lookup_many(cm_map *m, const int64_t *keys, int64_t n);
CM_API int64_t cm_delete_many(cm_map *m, const int64_t *keys, int64_t n);
CM_API int64_t cm_export_keys(cm_map *m, uint8_t *tags, int64_t *nums, uint8_t *blob, int64_t ncap,
                              int64_t blobcap);
CM_API int cm_stats(cm_map *m, cm_stats_out *out);
CM_API int64_t cm_hist_copy(const cm_map *m, int which, int64_t *out, int64_t cap);
CM_API int cm_layout(cm_map *m, cm_layout_out *out);
CM_API uint64_t cm_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, int64_t len, int c_rounds,
                           int d_rounds);
CM_API int cm_simd(void);

#endif
