/* Go-style buckets (as in Go's runtime map before Swiss tables): 8 slots per bucket, each with a
 * 1-byte tophash checked before the key, overflow buckets chained per bucket, and growth that
 * evacuates old buckets incrementally.
 *
 * A probe is one bucket of a chain. The table grows (doubles) when the average bucket holds more
 * than 6.5 entries, or is rebuilt at the same size when overflow buckets pile up. With incremental
 * evacuation each write first moves the old bucket it needs plus one more, so no single insert pays
 * for the whole table; without it the table is rehashed at once, as most designs do.
 *
 * On POSIX systems bucket arrays come straight from mmap: pages arrive zeroed on first touch, and
 * an old array is handed back to the OS chunk by chunk as evacuation passes it, so neither zeroing
 * nor freeing a large array lands on one insert (free() of a 50 MB array alone takes milliseconds).
 * Elsewhere, or with -DCM_NO_MMAP (which the sanitizer build uses), calloc and free.
 */
#if (defined(__unix__) || defined(__APPLE__)) && !defined(CM_NO_MMAP)
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <sys/mman.h>
#include <unistd.h>
#define GO_MMAP 1
#else
#define GO_MMAP 0
#endif
#include <stdlib.h>

#include "cmap.h"

#define SLOTS 8
#define LOAD_NUM 13 /* growth when size > 13/2 = 6.5 entries per bucket */
#define LOAD_DEN 2

typedef struct bucket {
    uint8_t top[SLOTS]; /* 0 marks a free slot; a full slot holds its hash's top byte (>= 1) */
    struct bucket *overflow;
    cm_entry e[SLOTS];
} bucket;

typedef struct {
    bucket *buckets;
    uint64_t mask;
    int64_t nbuckets, noverflow;
    /* Growth in progress: the old array, which of its buckets are evacuated, and the next one. */
    bucket *old;
    uint64_t oldmask;
    int64_t oldn, old_overflow, nevacuate;
    uint8_t *evacuated;
    size_t old_released; /* bytes at the start of the old array already returned to the OS */
} go_table;

#define RELEASE_CHUNK ((size_t)1 << 16)

/* A zeroed array of n buckets. */
static bucket *array_alloc(int64_t n) {
#if GO_MMAP
    void *p = mmap(NULL, (size_t)n * sizeof(bucket), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#else
    return calloc((size_t)n, sizeof(bucket));
#endif
}

/* Return the array's bytes [*released, upto) to the OS; upto == the array's size frees it all. */
static void array_release(bucket *a, int64_t n, size_t *released, size_t upto) {
#if GO_MMAP
    (void)n;
    if (upto > *released) munmap((char *)a + *released, upto - *released);
#else
    if (upto == (size_t)n * sizeof(bucket)) free(a);
#endif
    *released = upto;
}

static void array_free(bucket *a, int64_t n) {
    size_t released = 0;
    array_release(a, n, &released, (size_t)n * sizeof(bucket));
}

static inline uint8_t tophash(uint64_t hash) {
    uint8_t top = (uint8_t)(hash >> 56);
    return top ? top : 1;
}

static int go_init(cm_map *m, int64_t capacity) {
    go_table *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->nbuckets = cm_pow2_at_least((capacity + SLOTS - 1) / SLOTS, 1);
    t->buckets = array_alloc(t->nbuckets);
    if (!t->buckets) {
        free(t);
        return -1;
    }
    t->mask = (uint64_t)t->nbuckets - 1;
    m->table = t;
    return 0;
}

static void free_overflow(bucket *head) {
    for (bucket *b = head->overflow, *next; b; b = next) {
        next = b->overflow;
        free(b);
    }
    head->overflow = NULL;
}

static void free_new_overflow(go_table *t) {
    for (int64_t i = 0; i < t->nbuckets; i++) free_overflow(&t->buckets[i]);
}

static void drop_old(go_table *t) {
    for (int64_t i = 0; i < t->oldn; i++) /* evacuated chains were freed when moved */
        if (!t->evacuated[i]) free_overflow(&t->old[i]);
    array_release(t->old, t->oldn, &t->old_released, (size_t)t->oldn * sizeof(bucket));
    free(t->evacuated);
    t->old = NULL;
    t->evacuated = NULL;
    t->oldn = t->old_overflow = t->nevacuate = 0;
    t->old_released = 0;
}

static void go_destroy(cm_map *m) {
    go_table *t = m->table;
    free_new_overflow(t);
    if (t->old) drop_old(t);
    array_free(t->buckets, t->nbuckets);
    free(t);
}

static void go_clear(cm_map *m) {
    go_table *t = m->table;
    free_new_overflow(t);
    if (t->old) drop_old(t);
    memset(t->buckets, 0, (size_t)t->nbuckets * sizeof *t->buckets);
    t->noverflow = 0;
}

/* The chain that holds hash's key: in the old array until its bucket is evacuated. */
static bucket *chain(const go_table *t, uint64_t hash) {
    if (t->old) {
        uint64_t ob = hash & t->oldmask;
        if (!t->evacuated[ob]) return &t->old[ob];
    }
    return &t->buckets[hash & t->mask];
}

static cm_entry *scan(bucket *b, const cm_entry *q, int64_t *probes, bucket **where, int *slot) {
    uint8_t top = tophash(q->hash);
    int64_t n = 0;
    for (; b; b = b->overflow) {
        n++;
        for (int i = 0; i < SLOTS; i++) {
            if (b->top[i] == top && cm_same_key(&b->e[i], q)) {
                *probes = n;
                if (where) *where = b, *slot = i;
                return &b->e[i];
            }
        }
    }
    *probes = n;
    return NULL;
}

static cm_entry *go_find(cm_map *m, const cm_entry *q, int64_t *probes) {
    return scan(chain(m->table, q->hash), q, probes, NULL, NULL);
}

/* Where evacuated entries are appended: a bucket of the new array and its next slot. */
typedef struct {
    bucket *b;
    int slot;
} dest;

static void append(dest *d, const cm_entry *e, uint8_t top) {
    if (d->slot == SLOTS) {
        d->b = d->b->overflow; /* preallocated by reserve_chain */
        d->slot = 0;
    }
    d->b->top[d->slot] = top;
    d->b->e[d->slot++] = *e;
}

/* Link enough overflow buckets behind the (empty) new bucket b for count entries. */
static int reserve_chain(go_table *t, bucket *b, int64_t count) {
    for (int64_t room = SLOTS; room < count; room += SLOTS, b = b->overflow) {
        b->overflow = calloc(1, sizeof *b);
        if (!b->overflow) return -1;
        t->noverflow++;
    }
    return 0;
}

/* Move old bucket ob's entries to the new array: to bucket ob, or (when doubling) ob + oldn. */
static int evacuate(cm_map *m, int64_t ob) {
    go_table *t = m->table;
    if (t->evacuated[ob]) return 0;
    bucket *src = &t->old[ob];
    int doubled = t->nbuckets != t->oldn;
    int64_t counts[2] = {0, 0};
    for (bucket *b = src; b; b = b->overflow)
        for (int i = 0; i < SLOTS; i++)
            if (b->top[i]) counts[doubled && (b->e[i].hash & t->mask) != (uint64_t)ob]++;
    /* New buckets ob and ob + oldn receive entries only from here, so they are still empty and
     * all the room is allocated up front: running out of memory leaves the bucket unevacuated. */
    dest to[2] = {{&t->buckets[ob], 0}, {&t->buckets[ob + (doubled ? t->oldn : 0)], 0}};
    int ndest = doubled ? 2 : 1;
    if (reserve_chain(t, to[0].b, counts[0]) < 0 || reserve_chain(t, to[1].b, counts[1]) < 0) {
        for (int d = 0; d < ndest; d++) {
            for (bucket *b = to[d].b->overflow; b; b = b->overflow) t->noverflow--;
            free_overflow(to[d].b);
        }
        return -1;
    }
    for (bucket *b = src, *next; b; b = next) {
        for (int i = 0; i < SLOTS; i++)
            if (b->top[i]) append(&to[doubled && (b->e[i].hash & t->mask) != (uint64_t)ob],
                                  &b->e[i], b->top[i]);
        next = b->overflow;
        if (b != src) {
            free(b);
            t->old_overflow--;
        }
    }
    m->moves += counts[0] + counts[1];
    t->evacuated[ob] = 1;
    while (t->nevacuate < t->oldn && t->evacuated[t->nevacuate]) t->nevacuate++;
    if (t->nevacuate == t->oldn) {
        drop_old(t);
        return 0;
    }
    size_t passed = (size_t)t->nevacuate * sizeof(bucket) / RELEASE_CHUNK * RELEASE_CHUNK;
    if (passed > t->old_released) array_release(t->old, t->oldn, &t->old_released, passed);
    return 0;
}

/* Go's growWork: evacuate the old bucket this write needs, then one more in order. */
static int grow_work(cm_map *m, uint64_t hash) {
    go_table *t = m->table;
    if (evacuate(m, (int64_t)(hash & t->oldmask)) < 0) return -1;
    return t->old ? evacuate(m, t->nevacuate) : 0;
}

static int finish_growth(cm_map *m) {
    go_table *t = m->table;
    while (t->old)
        if (evacuate(m, t->nevacuate) < 0) return -1;
    return 0;
}

static int over_load(int64_t count, int64_t nbuckets) {
    return count > SLOTS && count * LOAD_DEN > LOAD_NUM * nbuckets;
}

static int too_many_overflow(const go_table *t) {
    return t->noverflow >= (t->nbuckets < (1 << 15) ? t->nbuckets : (1 << 15));
}

/* Go's hashGrow: a new array (twice as large, or the same size to shed overflow buckets). */
static int start_growth(cm_map *m, int bigger) {
    go_table *t = m->table;
    int64_t n = bigger ? t->nbuckets * 2 : t->nbuckets;
    bucket *fresh = array_alloc(n);
    uint8_t *evacuated = calloc((size_t)t->nbuckets, 1);
    if (!fresh || !evacuated) {
        if (fresh) array_free(fresh, n);
        free(evacuated);
        return -1;
    }
    t->old = t->buckets;
    t->oldmask = t->mask;
    t->oldn = t->nbuckets;
    t->old_overflow = t->noverflow;
    t->evacuated = evacuated;
    t->nevacuate = 0;
    t->buckets = fresh;
    t->nbuckets = n;
    t->mask = (uint64_t)n - 1;
    t->noverflow = 0;
    m->resizes++;
    return m->incremental ? 0 : finish_growth(m);
}

static cm_entry *go_insert(cm_map *m, const cm_entry *q, int *created) {
    go_table *t = m->table;
    uint8_t top = tophash(q->hash);
    for (;;) {
        if (t->old && grow_work(m, q->hash) < 0) return NULL;
        bucket *b = &t->buckets[q->hash & t->mask], *last = b, *free_b = NULL;
        int free_i = 0;
        for (; b; last = b, b = b->overflow) {
            for (int i = 0; i < SLOTS; i++) {
                if (!b->top[i]) {
                    if (!free_b) free_b = b, free_i = i;
                } else if (b->top[i] == top && cm_same_key(&b->e[i], q)) {
                    *created = 0;
                    return &b->e[i];
                }
            }
        }
        if (!t->old && (over_load(m->size + 1, t->nbuckets) || too_many_overflow(t))) {
            if (start_growth(m, over_load(m->size + 1, t->nbuckets)) < 0) return NULL;
            continue;
        }
        if (!free_b) {
            free_b = last->overflow = calloc(1, sizeof *free_b);
            if (!free_b) return NULL;
            t->noverflow++;
            free_i = 0;
        }
        free_b->top[free_i] = top;
        cm_place(&free_b->e[free_i], q);
        *created = 1;
        return &free_b->e[free_i];
    }
}

static int go_remove(cm_map *m, const cm_entry *q, cm_entry *out) {
    go_table *t = m->table;
    /* Evacuation is only an optimisation for deletes: on failure the key is found where it is. */
    if (t->old) (void)grow_work(m, q->hash);
    bucket *b;
    int slot;
    int64_t probes;
    cm_entry *e = scan(chain(t, q->hash), q, &probes, &b, &slot);
    if (!e) return 0;
    *out = *e;
    memset(e, 0, sizeof *e);
    b->top[slot] = 0;
    return 1;
}

static int go_reserve(cm_map *m, int64_t n) {
    go_table *t = m->table;
    while (over_load(n, t->nbuckets)) {
        if (finish_growth(m) < 0) return -1;
        int incremental = m->incremental;
        m->incremental = 0;
        int failed = start_growth(m, 1) < 0;
        m->incremental = incremental;
        if (failed) return -1;
    }
    return 0;
}

static void each_in(bucket *b, void (*fn)(cm_entry *, void *), void *ctx) {
    for (; b; b = b->overflow)
        for (int i = 0; i < SLOTS; i++)
            if (b->top[i]) fn(&b->e[i], ctx);
}

static void go_each(cm_map *m, void (*fn)(cm_entry *, void *), void *ctx) {
    go_table *t = m->table;
    for (int64_t i = 0; t->old && i < t->oldn; i++)
        if (!t->evacuated[i]) each_in(&t->old[i], fn, ctx);
    for (int64_t i = 0; i < t->nbuckets; i++) each_in(&t->buckets[i], fn, ctx);
}

static int64_t go_homes(cm_map *m) { return ((go_table *)m->table)->nbuckets; }

static uint64_t go_home_hash(cm_map *m, int64_t home, uint64_t noise) {
    go_table *t = m->table;
    return (noise & ~t->mask) | (uint64_t)home;
}

static void go_shape(cm_map *m, cm_stats_out *out) {
    go_table *t = m->table;
    out->capacity = t->nbuckets * SLOTS;
    out->buckets = t->nbuckets;
    out->overflow_buckets = t->noverflow + t->old_overflow;
    out->growing = t->old != NULL;
    out->probe_unit = CM_UNIT_BUCKET;
}

const cm_ops cm_gobucket_ops = {
    go_init,    go_destroy, go_clear, go_find,      go_insert, go_remove,
    go_reserve, go_each,    go_homes, go_home_hash, go_shape,
};
