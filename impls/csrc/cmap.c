/* The scheme-independent API: keys, boxes, puts, gets, deletes and batch pipelines.
 *
 * Build with -DCM_TIME_INSERTS for the instrumented variant that reads the clock around every
 * insert and reports the longest (`longest_insert_ns`), as every build did before; the default
 * build reads no clock. (-DCM_NO_COUNTERS also drops the exact move counters: see cmap.h.)
 */
#define _DEFAULT_SOURCE /* clock_gettime */

#include <stdlib.h>

#include "cmap.h"

#ifdef CM_TIME_INSERTS
#include <time.h>
#endif

#define AHEAD 16 /* batch keys hashed and prefetched ahead of the one served (a power of two) */

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
    cm_key k = {cm_hash_bytes(m, tag, data, num), num, data, 0, (uint8_t)tag, CM_KBOX};
    *q = k;
    m->ops->prefetch(m, k.hash);
    return 0;
}

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
    uint8_t kind = cm_kind_of(at);
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
    if (!(cm_kind_of(at) & CM_VBOX)) {
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
    cm_seed_hash(m, seed);
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
    uint8_t kind = cm_kind_of(at);
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

