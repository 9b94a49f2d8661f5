/* The scheme-independent half: hashing, key/value ownership, timing, statistics and batch calls. */
#define _POSIX_C_SOURCE 199309L

#include <stdlib.h>
#include <time.h>

#include "cmap.h"

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t load64le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                                  \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                     \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                     \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                                  \
    } while (0)

/* SipHash-c-d as specified by Aumasson and Bernstein (2012); CPython hashes str/bytes with 1-3. */
static inline uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *p, size_t len, int c,
                               int d) {
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    const uint8_t *end = p + (len & ~(size_t)7);
    for (; p < end; p += 8) {
        uint64_t m = load64le(p);
        v3 ^= m;
        for (int i = 0; i < c; i++) SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    for (int i = 0; i < c; i++) SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < d; i++) SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

CM_API uint64_t cm_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, int64_t len, int c_rounds,
                           int d_rounds) {
    return siphash(k0, k1, data, (size_t)len, c_rounds, d_rounds);
}

/* SplitMix64's finalizer: derives the SipHash key from the seed and home-position noise. */
uint64_t cm_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The tag enters the key so that 1, b"\x01..." and "\x01..." hash independently. */
static uint64_t hash_key(const cm_map *m, int tag, int64_t num, const uint8_t *data) {
    uint64_t k0 = m->k0 ^ ((uint64_t)tag * UINT64_C(0x9e3779b97f4a7c15));
    if (tag == CM_INT) {
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)num >> (8 * i));
        return siphash(k0, m->k1, le, 8, 1, 3);
    }
    return siphash(k0, m->k1, data, (size_t)num, 1, 3);
}

static cm_entry query(const cm_map *m, int tag, int64_t num, const uint8_t *data) {
    cm_entry q = {0};
    q.hash = hash_key(m, tag, num, data);
    q.ktag = (uint8_t)tag;
    q.key = num;
    q.kdata = tag == CM_INT ? NULL : (uint8_t *)data; /* an int key owns no bytes */
    return q;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A private copy of n bytes; *out is NULL for n == 0. Returns -1 when out of memory. */
static int copy_bytes(const uint8_t *src, int64_t n, uint8_t **out) {
    *out = NULL;
    if (n <= 0) return 0;
    *out = malloc((size_t)n);
    if (!*out) return -1;
    memcpy(*out, src, (size_t)n);
    return 0;
}

static const cm_ops *ops_for(int scheme) {
    switch (scheme) {
    case CM_LINEAR:
    case CM_QUADRATIC:
    case CM_DOUBLE: return &cm_open_ops;
    case CM_GOBUCKET: return &cm_gobucket_ops;
    case CM_SWISS: return &cm_swiss_ops;
    default: return NULL;
    }
}

CM_API cm_map *cm_new(int scheme, uint64_t seed, double max_load, int64_t capacity,
                      int incremental) {
    const cm_ops *ops = ops_for(scheme);
    if (!ops || !(max_load > 0.0 && max_load < 1.0) || capacity < 0) return NULL;
    cm_map *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ops = ops;
    m->scheme = scheme;
    m->incremental = incremental;
    m->max_load = max_load;
    m->k0 = cm_mix64(seed);
    m->k1 = cm_mix64(m->k0);
    if (ops->init(m, capacity) < 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void free_data(cm_entry *e, void *ctx) {
    (void)ctx;
    free(e->kdata);
    free(e->vdata);
}

CM_API void cm_free(cm_map *m) {
    if (!m) return;
    m->ops->each(m, free_data, NULL);
    m->ops->destroy(m);
    free(m->hit.counts);
    free(m->miss.counts);
    free(m);
}

CM_API int64_t cm_len(const cm_map *m) { return m->size; }

CM_API int64_t cm_key_bytes(const cm_map *m) { return m->key_bytes; }

CM_API int cm_put(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int vtag, int64_t vnum,
                  const uint8_t *vdata) {
    int64_t start = now_ns(), moves = m->moves;
    cm_entry q = query(m, ktag, knum, kdata);
    uint8_t *kcopy = NULL, *vcopy = NULL;
    /* Copies are made before the table changes, so running out of memory changes nothing. */
    if ((ktag != CM_INT && copy_bytes(kdata, knum, &kcopy) < 0) ||
        (vtag != CM_INT && copy_bytes(vdata, vnum, &vcopy) < 0)) {
        free(kcopy);
        return -1;
    }
    if (ktag != CM_INT) q.kdata = kcopy;
    int created = 0;
    cm_entry *slot = m->ops->insert(m, &q, &created);
    if (!slot) {
        free(kcopy);
        free(vcopy);
        return -1;
    }
    if (created) {
        m->size++;
        if (ktag != CM_INT) m->key_bytes += knum;
    } else {
        free(kcopy);
        free(slot->vdata);
    }
    slot->vtag = (uint8_t)vtag;
    slot->val = vnum;
    slot->vdata = vcopy;
    int64_t took = now_ns() - start;
    if (took > m->longest_insert_ns) m->longest_insert_ns = took;
    if (m->moves - moves > m->max_insert_moves) m->max_insert_moves = m->moves - moves;
    return 0;
}

CM_API int cm_get(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int64_t *out,
                  uint8_t *buf, int64_t bufcap) {
    cm_entry q = query(m, ktag, knum, kdata);
    int64_t probes;
    cm_entry *e = m->ops->find(m, &q, &probes);
    if (!e) return 0;
    *out = e->val;
    if (e->vtag == CM_INT) return 1;
    if (buf && e->val > 0 && e->val <= bufcap) memcpy(buf, e->vdata, (size_t)e->val);
    return 2;
}

static void forget(cm_map *m, cm_entry *e) {
    m->size--;
    if (e->ktag != CM_INT) m->key_bytes -= e->key;
    free(e->kdata);
    free(e->vdata);
}

CM_API int cm_del(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata) {
    cm_entry q = query(m, ktag, knum, kdata), gone;
    if (!m->ops->remove(m, &q, &gone)) return 0;
    forget(m, &gone);
    return 1;
}

CM_API void cm_clear(cm_map *m) {
    m->ops->each(m, free_data, NULL);
    m->ops->clear(m);
    m->size = 0;
    m->key_bytes = 0;
}

CM_API int cm_reserve(cm_map *m, int64_t n) { return m->ops->reserve(m, n); }

CM_API int64_t cm_insert_many(cm_map *m, const int64_t *keys, const int64_t *vals, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (cm_put(m, CM_INT, keys[i], NULL, CM_INT, vals[i], NULL) < 0) return -1;
    return n;
}

CM_API int64_t cm_lookup_many(cm_map *m, const int64_t *keys, int64_t n) {
    int64_t found = 0, probes;
    for (int64_t i = 0; i < n; i++) {
        cm_entry q = query(m, CM_INT, keys[i], NULL);
        found += m->ops->find(m, &q, &probes) != NULL;
    }
    return found;
}

CM_API int64_t cm_delete_many(cm_map *m, const int64_t *keys, int64_t n) {
    int64_t deleted = 0;
    for (int64_t i = 0; i < n; i++) deleted += cm_del(m, CM_INT, keys[i], NULL);
    return deleted;
}

typedef struct {
    uint8_t *tags;
    int64_t *nums;
    uint8_t *blob;
    int64_t count, used;
} exporter;

static void export_one(cm_entry *e, void *ctx) {
    exporter *x = ctx;
    x->tags[x->count] = e->ktag;
    x->nums[x->count++] = e->key;
    if (e->ktag != CM_INT && e->key > 0) {
        memcpy(x->blob + x->used, e->kdata, (size_t)e->key);
        x->used += e->key;
    }
}

/* Every key in table order: tags, ints or byte lengths, and the bytes of bytes/str keys
 * concatenated in blob. Returns the count, or -1 (writing nothing) if the buffers are too small. */
CM_API int64_t cm_export_keys(cm_map *m, uint8_t *tags, int64_t *nums, uint8_t *blob, int64_t ncap,
                              int64_t blobcap) {
    if (m->size > ncap || m->key_bytes > blobcap) return -1;
    exporter x = {tags, nums, blob, 0, 0};
    m->ops->each(m, export_one, &x);
    return x.count;
}

static int hist_add(cm_hist *h, int64_t length) {
    if (length >= h->cap) {
        int64_t cap = cm_pow2_at_least(length + 1, 64);
        int64_t *grown = realloc(h->counts, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
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

static void count_hit(cm_entry *e, void *ctx) {
    hit_counter *c = ctx;
    int64_t probes = 0;
    c->m->ops->find(c->m, e, &probes);
    if (hist_add(&c->m->hit, probes) < 0) c->failed = 1;
}

/* Exact histograms: hits replay the lookup of every stored key; misses replay a lookup of a
 * key that matches nothing from every home position (see docs/cmap.md for double hashing). */
CM_API int cm_stats(cm_map *m, cm_stats_out *out) {
    m->hit.len = m->miss.len = 0;
    if (m->hit.counts) memset(m->hit.counts, 0, (size_t)m->hit.cap * sizeof(int64_t));
    if (m->miss.counts) memset(m->miss.counts, 0, (size_t)m->miss.cap * sizeof(int64_t));
    hit_counter c = {m, 0};
    m->ops->each(m, count_hit, &c);
    if (c.failed) return -1;
    int64_t homes = m->ops->homes(m);
    for (int64_t home = 0; home < homes; home++) {
        cm_entry q = {0};
        q.ktag = CM_NOMATCH;
        q.hash = m->ops->home_hash(m, home, cm_mix64((uint64_t)home ^ m->k1));
        int64_t probes = 0;
        m->ops->find(m, &q, &probes);
        if (hist_add(&m->miss, probes) < 0) return -1;
    }
    memset(out, 0, sizeof *out);
    m->ops->shape(m, out);
    out->size = m->size;
    out->resizes = m->resizes;
    out->longest_insert_ns = m->longest_insert_ns;
    out->max_insert_moves = m->max_insert_moves;
    out->max_load = m->max_load;
    out->hit_len = m->hit.len;
    out->miss_len = m->miss.len;
    return 0;
}

CM_API int64_t cm_hist_copy(const cm_map *m, int which, int64_t *out, int64_t cap) {
    const cm_hist *h = which == CM_HIST_HIT ? &m->hit : &m->miss;
    int64_t n = h->len < cap ? h->len : cap;
    if (n > 0) memcpy(out, h->counts, (size_t)n * sizeof *out);
    return h->len;
}
