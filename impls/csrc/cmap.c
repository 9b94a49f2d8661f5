/* The scheme-independent half: hashing, boxes, the API, batch pipelines and statistics.
 *
 * Build with -DCM_TIME_INSERTS for the instrumented variant that reads the clock around every
 * insert and reports the longest (`longest_insert_ns`), as every build did before; the default
 * build reads no clock. (-DCM_NO_COUNTERS also drops the exact move counters: see cmap.h.)
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE, clock_gettime */

#include <stdlib.h>

#include "cmap.h"

#if (defined(__unix__) || defined(__APPLE__)) && !defined(CM_NO_MMAP)
#include <sys/mman.h>
#include <unistd.h>
#define CM_MMAP 1
#else
#define CM_MMAP 0
#endif
#ifdef CM_TIME_INSERTS
#include <time.h>
#endif

#define MMAP_MIN ((size_t)1 << 20) /* smaller arrays come from calloc */
#define AHEAD 16 /* batch keys hashed and prefetched ahead of the one served (a power of two) */

static inline uint64_t load64le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* SipHash-c-d as specified by Aumasson and Bernstein (2012); CPython hashes str/bytes with 1-3. */
static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *p, size_t len, int c, int d) {
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    const uint8_t *end = p + (len & ~(size_t)7);
    for (; p < end; p += 8) {
        uint64_t m = load64le(p);
        v3 ^= m;
        for (int i = 0; i < c; i++) CM_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    for (int i = 0; i < c; i++) CM_SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < d; i++) CM_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* Test hook: SipHash-c-d of data; 0 for a negative length. */
CM_API uint64_t cm_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, int64_t len, int c_rounds,
                           int d_rounds) {
    if (len < 0 || (len > 0 && !data)) return 0;
    return siphash(k0, k1, data, (size_t)len, c_rounds, d_rounds);
}

/* SplitMix64's finalizer: derives the SipHash key from the seed, and salts and noise from it. */
uint64_t cm_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The tag enters the key so that 1, b"\x01..." and "\x01..." hash independently. */
static inline uint64_t tag_key(const cm_map *m, int tag) {
    return m->k0 ^ ((uint64_t)tag * UINT64_C(0x9e3779b97f4a7c15));
}

int cm_array_alloc(cm_array *a, int64_t count, size_t size) {
    memset(a, 0, sizeof *a);
    if (count < 0 || size == 0 || (uint64_t)count > (uint64_t)PTRDIFF_MAX / size)
        return CM_ETOOBIG;
    a->bytes = (size_t)count * size;
#if CM_MMAP
    if (a->bytes >= MMAP_MIN) {
        void *p = mmap(NULL, a->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return CM_ENOMEM;
#ifdef MADV_HUGEPAGE
        (void)madvise(p, a->bytes, MADV_HUGEPAGE); /* fewer TLB misses; only a hint */
#endif
        a->p = p;
        a->mapped = 1;
        return 0;
    }
#endif
    a->p = calloc(a->bytes ? a->bytes : 1, 1);
    return a->p ? 0 : CM_ENOMEM;
}

void cm_array_release(cm_array *a, size_t upto) {
#if CM_MMAP
    if (!a->mapped) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    upto -= upto % page;
    if (upto > a->released) {
        munmap((char *)a->p + a->released, upto - a->released);
        a->released = upto;
    }
#else
    (void)a;
    (void)upto;
#endif
}

void cm_array_free(cm_array *a) {
#if CM_MMAP
    if (a->mapped) {
        if (a->bytes > a->released) munmap((char *)a->p + a->released, a->bytes - a->released);
        memset(a, 0, sizeof *a);
        return;
    }
#endif
    free(a->p);
    memset(a, 0, sizeof *a);
}

void cm_array_zero(cm_array *a) { memset(a->p, 0, a->bytes); }

static cm_box *box_new(int tag, uint64_t hash, const uint8_t *data, int64_t len) {
    if ((uint64_t)len > (uint64_t)PTRDIFF_MAX - sizeof(cm_box)) return NULL;
    cm_box *b = malloc(sizeof *b + (size_t)len);
    if (!b) return NULL;
    b->hash = hash;
    b->len = len;
    b->tag = (uint8_t)tag;
    if (len > 0) memcpy(b->data, data, (size_t)len);
    return b;
}

static inline void box_free(int64_t word) { free((void *)(uintptr_t)word); }

static inline int bytes_ok(int64_t len, const uint8_t *data) { return len >= 0 && (len == 0 || data); }

/* The query for one int key of a single call. Its probe's first reads are prefetched at once,
 * so that their cache misses overlap instead of following one another. */
static inline cm_key int_query(const cm_map *m, int64_t num) {
    cm_key q = cm_int_key(num, cm_hash_int(m, num));
    m->ops->prefetch(m, q.hash);
    return q;
}

/* The query for an API key, or CM_EINVAL for an unknown tag or a bad length. */
static int make_key(const cm_map *m, int tag, int64_t num, const uint8_t *data, cm_key *q) {
    if (tag == CM_INT) {
        *q = int_query(m, num);
        return 0;
    }
    if ((tag != CM_BYTES && tag != CM_STR) || !bytes_ok(num, data)) return CM_EINVAL;
    cm_key k = {siphash(tag_key(m, tag), m->k1, data, (size_t)num, 1, 3), num, data, 0,
                (uint8_t)tag, CM_KBOX};
    *q = k;
    m->ops->prefetch(m, k.hash);
    return 0;
}

/* The query that finds a stored key again. */
static cm_key stored_key(const cm_map *m, int64_t word, uint8_t kind) {
    if (!(kind & CM_KBOX)) return cm_int_key(word, cm_hash_int(m, word));
    const cm_box *b = cm_box_at(word);
    cm_key q = {b->hash, b->len, b->data, word, b->tag, CM_KBOX};
    return q;
}

static inline uint8_t kind_of(cm_ref at) { return at.kind ? *at.kind : 0; }

static int ensure_wide(cm_map *m) {
    if (m->wide) return 0;
    int rc = m->ops->widen(m);
    if (rc == 0) m->wide = 1;
    return rc;
}

/* Store a value under q, creating the entry if needed; the boxes in q->word (a boxed key) and
 * vword (vboxed) are adopted or freed, also on failure. A box makes the table wide first. */
static int store(cm_map *m, const cm_key *q, int64_t vword, int vboxed) {
#ifndef CM_NO_COUNTERS
    int64_t moves = m->moves;
#endif
    cm_ref at;
    int created = q->kind || vboxed ? ensure_wide(m) : 0;
    if (created == 0) created = m->ops->insert(m, q, &at);
    if (created < 0) {
        if (q->kind) box_free(q->word);
        if (vboxed) box_free(vword);
        return created;
    }
    if (created) {
        m->size++;
        if (q->kind) m->key_bytes += q->num, m->boxes++;
    } else if (q->kind) {
        box_free(q->word); /* the stored key keeps its own box */
    }
    uint8_t kind = kind_of(at);
    if (kind & CM_VBOX) box_free(*at.val), m->boxes--;
    *at.val = vword;
    if (at.kind) *at.kind = (uint8_t)((kind & ~CM_VBOX) | (vboxed ? CM_VBOX : 0));
    m->boxes += vboxed;
#ifndef CM_NO_COUNTERS
    if (m->moves - moves > m->max_insert_moves) m->max_insert_moves = m->moves - moves;
#endif
    return 0;
}

#ifdef CM_TIME_INSERTS
static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#endif

static inline int put(cm_map *m, const cm_key *q, int64_t vword, int vboxed) {
#ifdef CM_TIME_INSERTS
    int64_t start = now_ns();
    int rc = store(m, q, vword, vboxed);
    int64_t took = now_ns() - start;
    if (took > m->longest_insert_ns) m->longest_insert_ns = took;
    return rc;
#else
    return store(m, q, vword, vboxed);
#endif
}

static void forget(cm_map *m, const cm_gone *g) {
    m->size--;
    if (g->kind & CM_KBOX) {
        m->key_bytes -= cm_box_at(g->key)->len;
        box_free(g->key);
        m->boxes--;
    }
    if (g->kind & CM_VBOX) box_free(g->val), m->boxes--;
}

/* 1 and the int value, or 2 and a bytes value's length (its bytes copied if buf holds them). */
static int read_value(cm_ref at, int64_t *out, uint8_t *buf, int64_t bufcap) {
    if (!(kind_of(at) & CM_VBOX)) {
        *out = *at.val;
        return 1;
    }
    const cm_box *v = cm_box_at(*at.val);
    *out = v->len;
    if (buf && v->len > 0 && v->len <= bufcap) memcpy(buf, v->data, (size_t)v->len);
    return 2;
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
    if (!ops || !(max_load > 0.0 && max_load < 1.0) || capacity < 0 || capacity > CM_MAX_SLOTS)
        return NULL;
    cm_map *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ops = ops;
    m->scheme = scheme;
    m->incremental = incremental;
    m->wide = ops->widen == NULL;
    m->max_load = max_load;
    m->k0 = cm_mix64(seed);
    m->k1 = cm_mix64(m->k0);
    uint64_t k0 = tag_key(m, CM_INT);
    m->sip_int[0] = k0 ^ 0x736f6d6570736575ULL;
    m->sip_int[1] = m->k1 ^ 0x646f72616e646f6dULL;
    m->sip_int[2] = k0 ^ 0x6c7967656e657261ULL;
    m->sip_int[3] = m->k1 ^ 0x7465646279746573ULL;
#ifdef CM_TIME_INSERTS
    m->longest_insert_ns = 0;
#endif
    if (ops->init(m, capacity) < 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void free_boxes(void *ctx, cm_ref at) {
    (void)ctx;
    uint8_t kind = kind_of(at);
    if (kind & CM_KBOX) box_free(*at.key);
    if (kind & CM_VBOX) box_free(*at.val);
}

static void drop_boxes(cm_map *m) {
    if (m->boxes) m->ops->each(m, free_boxes, NULL);
    m->boxes = 0;
}

CM_API void cm_free(cm_map *m) {
    if (!m) return;
    drop_boxes(m);
    m->ops->destroy(m);
    free(m->hit.counts);
    free(m->miss.counts);
    free(m);
}

CM_API int64_t cm_len(const cm_map *m) { return m ? m->size : CM_ECLOSED; }

CM_API int64_t cm_key_bytes(const cm_map *m) { return m ? m->key_bytes : CM_ECLOSED; }

CM_API int cm_put(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int vtag, int64_t vnum,
                  const uint8_t *vdata) {
    if (!m) return CM_ECLOSED;
    cm_key q;
    int rc = make_key(m, ktag, knum, kdata, &q);
    int vboxed = vtag != CM_INT;
    if (rc < 0 || (vboxed && (vtag != CM_BYTES || !bytes_ok(vnum, vdata)))) return CM_EINVAL;
    cm_box *kbox = NULL, *vbox = NULL;
    if (q.kind && !(kbox = box_new(ktag, q.hash, kdata, knum))) return CM_ENOMEM;
    if (vboxed && !(vbox = box_new(CM_BYTES, 0, vdata, vnum))) {
        free(kbox);
        return CM_ENOMEM;
    }
    if (kbox) q.word = (int64_t)(uintptr_t)kbox;
    return put(m, &q, vboxed ? (int64_t)(uintptr_t)vbox : vnum, vboxed);
}

CM_API int cm_get(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata, int64_t *out,
                  uint8_t *buf, int64_t bufcap) {
    if (!m) return CM_ECLOSED;
    cm_key q;
    if (!out || make_key(m, ktag, knum, kdata, &q) < 0) return CM_EINVAL;
    cm_ref at;
    int64_t probes;
    return m->ops->find(m, &q, &probes, &at) ? read_value(at, out, buf, bufcap) : 0;
}

CM_API int cm_del(cm_map *m, int ktag, int64_t knum, const uint8_t *kdata) {
    if (!m) return CM_ECLOSED;
    cm_key q;
    if (make_key(m, ktag, knum, kdata, &q) < 0) return CM_EINVAL;
    cm_gone gone;
    if (!m->ops->remove(m, &q, &gone)) return 0;
    forget(m, &gone);
    return 1;
}

/* m[key] for an int key: 0 absent, else as cm_get with the int or the length in c->val. */
CM_API int cm_call_get(cm_call *c) {
    cm_map *m = c->map;
    if (!m) return CM_ECLOSED;
    cm_key q = int_query(m, c->key);
    cm_ref at;
    int64_t probes;
    return m->ops->find(m, &q, &probes, &at) ? read_value(at, &c->val, NULL, 0) : 0;
}

/* m[key] = val for an int key and an int value. */
CM_API int cm_call_put(cm_call *c) {
    cm_map *m = c->map;
    if (!m) return CM_ECLOSED;
    cm_key q = int_query(m, c->key);
    return put(m, &q, c->val, 0);
}

/* del m[key] for an int key: 1 deleted, 0 absent. */
CM_API int cm_call_del(cm_call *c) {
    cm_map *m = c->map;
    if (!m) return CM_ECLOSED;
    cm_key q = int_query(m, c->key);
    cm_gone gone;
    if (!m->ops->remove(m, &q, &gone)) return 0;
    forget(m, &gone);
    return 1;
}

CM_API void cm_clear(cm_map *m) {
    if (!m) return;
    drop_boxes(m);
    m->ops->clear(m);
    m->size = 0;
    m->key_bytes = 0;
}

CM_API int cm_reserve(cm_map *m, int64_t n) {
    if (!m) return CM_ECLOSED;
    if (n < 0) return CM_EINVAL;
    return n > CM_MAX_SLOTS ? CM_ETOOBIG : m->ops->reserve(m, n);
}

/* One key's work in a batch: its count (found, deleted) or an error. */
typedef int64_t (*batch_step)(cm_map *m, const cm_key *q, int64_t i, const int64_t *vals);

/* A small software pipeline: the hash of key i + AHEAD is computed, and the memory its probe will
 * read first prefetched, while key i is served, so that up to AHEAD cache misses overlap. The
 * steps are the same find/insert/remove as single calls, so probe statistics do not change. */
static inline int64_t pipeline(cm_map *m, const int64_t *keys, const int64_t *vals, int64_t n,
                               batch_step step) {
    if (!m) return CM_ECLOSED;
    if (n < 0 || (n > 0 && !keys)) return CM_EINVAL;
    uint64_t ring[AHEAD];
    int64_t total = 0;
    for (int64_t i = 0; i < n && i < AHEAD; i++) {
        ring[i] = cm_hash_int(m, keys[i]);
        m->ops->prefetch(m, ring[i]);
    }
    for (int64_t i = 0; i < n; i++) {
        cm_key q = cm_int_key(keys[i], ring[i & (AHEAD - 1)]);
        if (i + AHEAD < n) {
            uint64_t h = cm_hash_int(m, keys[i + AHEAD]);
            ring[i & (AHEAD - 1)] = h;
            m->ops->prefetch(m, h);
        }
        int64_t r = step(m, &q, i, vals);
        if (r < 0) return r;
        total += r;
    }
    return total;
}

static int64_t insert_step(cm_map *m, const cm_key *q, int64_t i, const int64_t *vals) {
    int rc = put(m, q, vals[i], 0);
    return rc < 0 ? rc : 1;
}

static int64_t lookup_step(cm_map *m, const cm_key *q, int64_t i, const int64_t *vals) {
    (void)i, (void)vals;
    cm_ref at;
    int64_t probes;
    return m->ops->find(m, q, &probes, &at);
}

static int64_t delete_step(cm_map *m, const cm_key *q, int64_t i, const int64_t *vals) {
    (void)i, (void)vals;
    cm_gone gone;
    if (!m->ops->remove(m, q, &gone)) return 0;
    forget(m, &gone);
    return 1;
}

CM_API int64_t cm_insert_many(cm_map *m, const int64_t *keys, const int64_t *vals, int64_t n) {
    if (n > 0 && !vals) return CM_EINVAL;
    return pipeline(m, keys, vals, n, insert_step);
}

CM_API int64_t cm_lookup_many(cm_map *m, const int64_t *keys, int64_t n) {
    return pipeline(m, keys, NULL, n, lookup_step);
}

CM_API int64_t cm_delete_many(cm_map *m, const int64_t *keys, int64_t n) {
    return pipeline(m, keys, NULL, n, delete_step);
}

typedef struct {
    uint8_t *tags;
    int64_t *nums;
    uint8_t *blob;
    int64_t count, used;
} exporter;

static void export_one(void *ctx, cm_ref at) {
    exporter *x = ctx;
    if (!(kind_of(at) & CM_KBOX)) {
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
    cm_key q = stored_key(c->m, *at.key, kind_of(at));
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
