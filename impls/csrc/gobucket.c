/* Go's runtime map before Swiss tables (Go <= 1.23): buckets of 8 slots, overflow chains, and
 * growth by incremental evacuation.
 *
 * A bucket is laid out as Go lays out a bucket of 8-byte keys and values: tophash[8], keys[8],
 * values[8], overflow pointer (144 bytes). A tophash byte is the hash's top byte (raised by
 * MIN_TOPHASH when below it) or one of Go's marks: EMPTY_REST (this slot and every later one in
 * the chain are empty, so a lookup stops), EMPTY_ONE, and in old buckets EVACUATED_X/Y (the entry
 * went to the low/high half of the doubled array) or EVACUATED_EMPTY. str/bytes keys and bytes
 * values live out of line (the key or value word points to a cm_box); a table that holds one
 * keeps 8 kind bytes after each bucket (152 bytes), and becomes such a table by a rebuild.
 *
 * A probe is one bucket of a chain. The table grows (doubles) when the average bucket holds more
 * than 6.5 entries, or is rebuilt at the same size when overflow buckets pile up. With incremental
 * evacuation each write first moves the old bucket it needs plus one more, so no single insert pays
 * for the whole table; without it the table is evacuated at once, as most designs do. Bucket arrays
 * come from cm_array (mmap on POSIX), and the old array is handed back to the OS chunk by chunk as
 * evacuation passes it, so neither zeroing nor freeing a large array lands on one insert.
 */
#include <stdlib.h>

#include "cmap.h"

#define SLOTS 8
#define LOAD_NUM 13 /* growth when size > 13/2 = 6.5 entries per bucket */
#define LOAD_DEN 2
#define MAX_BUCKETS (CM_MAX_SLOTS / SLOTS)
#define RELEASE_CHUNK ((size_t)1 << 16)
#define ADVANCE_LIMIT 1024 /* evacuated buckets one write may step over, as in Go */

enum { EMPTY_REST = 0, EMPTY_ONE = 1, EVACUATED_X = 2, EVACUATED_Y = 3, EVACUATED_EMPTY = 4 };
#define MIN_TOPHASH 5

typedef struct bucket {
    uint8_t top[SLOTS];
    int64_t keys[SLOTS];
    int64_t vals[SLOTS];
    struct bucket *overflow;
} bucket;

_Static_assert(sizeof(bucket) == 144, "Go's bucket for 8-byte keys and values is 144 bytes");

typedef struct {
    cm_array arr, old_arr;
    bucket *buckets, *old;
    size_t stride; /* sizeof(bucket), plus SLOTS kind bytes in a wide table */
    uint64_t mask, oldmask;
    int64_t nbuckets, noverflow;
    /* Growth in progress (old != NULL): old buckets below nevacuate are evacuated. */
    int64_t oldn, old_overflow, nevacuate;
} go_table;

static inline bucket *bucket_at(const go_table *t, bucket *base, uint64_t i) {
    return (bucket *)(void *)((char *)base + i * t->stride);
}

static inline uint8_t *kinds_of(const go_table *t, bucket *b) {
    return t->stride > sizeof(bucket) ? (uint8_t *)(b + 1) : NULL;
}

static inline cm_ref ref_at(const go_table *t, bucket *b, int i) {
    uint8_t *kinds = kinds_of(t, b);
    cm_ref r = {&b->keys[i], &b->vals[i], kinds ? &kinds[i] : NULL};
    return r;
}

static inline uint8_t tophash(uint64_t hash) {
    uint8_t top = (uint8_t)(hash >> 56);
    return top < MIN_TOPHASH ? (uint8_t)(top + MIN_TOPHASH) : top;
}

static inline int is_empty(uint8_t top) { return top <= EMPTY_ONE; }

static inline int evacuated(const bucket *b) {
    return b->top[0] > EMPTY_ONE && b->top[0] < MIN_TOPHASH;
}

static int over_load(int64_t count, int64_t nbuckets) {
    return count > SLOTS && (uint64_t)count * LOAD_DEN > (uint64_t)LOAD_NUM * (uint64_t)nbuckets;
}

static int too_many_overflow(const go_table *t) {
    return t->noverflow >= (t->nbuckets < (1 << 15) ? t->nbuckets : (1 << 15));
}

static int alloc_array(go_table *t, cm_array *a, int64_t n) {
    if (n < 0) return (int)n;
    if (n > MAX_BUCKETS) return CM_ETOOBIG;
    return cm_array_alloc(a, n, t->stride); /* zeroed: every slot EMPTY_REST */
}

static bucket *new_overflow(go_table *t) { return calloc(1, t->stride); }

static void free_overflow(bucket *head) {
    for (bucket *b = head->overflow, *next; b; b = next) {
        next = b->overflow;
        free(b);
    }
    head->overflow = NULL;
}

static int go_init(cm_map *m, int64_t capacity) {
    go_table *t = calloc(1, sizeof *t);
    if (!t) return CM_ENOMEM;
    t->stride = sizeof(bucket);
    t->nbuckets = cm_pow2_at_least((capacity + SLOTS - 1) / SLOTS, 1);
    int rc = alloc_array(t, &t->arr, t->nbuckets);
    if (rc < 0) {
        free(t);
        return rc;
    }
    t->buckets = t->arr.p;
    t->mask = (uint64_t)t->nbuckets - 1;
    m->table = t;
    return 0;
}

static inline int old_pending(const go_table *t, uint64_t ob) {
    return (int64_t)ob >= t->nevacuate && !evacuated(bucket_at(t, t->old, ob));
}

static void drop_old(go_table *t) {
    for (int64_t i = t->nevacuate; i < t->oldn; i++) /* evacuated chains were freed when moved */
        if (old_pending(t, (uint64_t)i)) free_overflow(bucket_at(t, t->old, (uint64_t)i));
    cm_array_free(&t->old_arr);
    t->old = NULL;
    t->oldn = t->old_overflow = t->nevacuate = 0;
}

static void free_chains(go_table *t) {
    for (int64_t i = 0; i < t->nbuckets; i++) free_overflow(bucket_at(t, t->buckets, (uint64_t)i));
    if (t->old) drop_old(t);
    t->noverflow = 0;
}

static void go_destroy(cm_map *m) {
    go_table *t = m->table;
    free_chains(t);
    cm_array_free(&t->arr);
    free(t);
}

static void go_clear(cm_map *m) {
    go_table *t = m->table;
    free_chains(t);
    cm_array_zero(&t->arr);
}

/* The chain that holds hash's key: in the old array until its bucket is evacuated. */
static bucket *chain(const go_table *t, uint64_t hash) {
    if (t->old && old_pending(t, hash & t->oldmask)) return bucket_at(t, t->old, hash & t->oldmask);
    return bucket_at(t, t->buckets, hash & t->mask);
}

/* q's slot in the chain from b: 1 with *where and *slot set, or 0; *probes counts buckets. */
static int scan(const go_table *t, bucket *b, const cm_key *q, int64_t *probes, bucket **where,
                int *slot) {
    const uint8_t top = tophash(q->hash);
    int64_t n = 0;
    for (; b; b = b->overflow) {
        n++;
        const uint8_t *kinds = kinds_of(t, b);
        for (int i = 0; i < SLOTS; i++) {
            if (b->top[i] != top) {
                if (b->top[i] == EMPTY_REST) goto absent;
                continue;
            }
            if (cm_matches(q, b->keys[i], kinds ? kinds[i] : 0)) {
                *probes = n;
                *where = b;
                *slot = i;
                return 1;
            }
        }
    }
absent:
    *probes = n;
    return 0;
}

static int go_find(cm_map *m, const cm_key *q, int64_t *probes, cm_ref *at) {
    go_table *t = m->table;
    bucket *b;
    int i;
    if (!scan(t, chain(t, q->hash), q, probes, &b, &i)) return 0;
    *at = ref_at(t, b, i);
    return 1;
}

/* Where evacuated entries are appended: a bucket of the new array and its next slot. */
typedef struct {
    bucket *b;
    int slot;
} dest;

static void append(const go_table *t, dest *d, bucket *src, int i) {
    if (d->slot == SLOTS) {
        d->b = d->b->overflow; /* preallocated by reserve_chain */
        d->slot = 0;
    }
    const uint8_t *from = kinds_of(t, src);
    uint8_t *to = kinds_of(t, d->b);
    d->b->top[d->slot] = src->top[i];
    d->b->keys[d->slot] = src->keys[i];
    d->b->vals[d->slot] = src->vals[i];
    if (to) to[d->slot] = from[i];
    d->slot++;
}

/* Link enough overflow buckets behind the (empty) new bucket b for count entries. */
static int reserve_chain(go_table *t, bucket *b, int64_t count) {
    for (int64_t room = SLOTS; room < count; room += SLOTS, b = b->overflow) {
        if (!(b->overflow = new_overflow(t))) return CM_ENOMEM;
        t->noverflow++;
    }
    return 0;
}

static void unreserve_chain(go_table *t, bucket *b) {
    for (bucket *o = b->overflow; o; o = o->overflow) t->noverflow--;
    free_overflow(b);
}

/* Step nevacuate over evacuated buckets (at most ADVANCE_LIMIT, so each write stays O(1)); at
 * the end drop the old array, else hand the passed part of it back to the OS. */
static void advance_mark(go_table *t) {
    for (int64_t stop = t->nevacuate + ADVANCE_LIMIT;
         t->nevacuate < t->oldn && t->nevacuate < stop &&
         evacuated(bucket_at(t, t->old, (uint64_t)t->nevacuate));
         t->nevacuate++) {
    }
    if (t->nevacuate == t->oldn) {
        drop_old(t);
        return;
    }
    size_t passed = (size_t)t->nevacuate * t->stride / RELEASE_CHUNK * RELEASE_CHUNK;
    cm_array_release(&t->old_arr, passed);
}

/* Which half each entry of the chain from src goes to (0 = X: bucket ob, 1 = Y: ob + oldn),
 * in chain order; counts[] gets the totals. */
static void split(cm_map *m, bucket *src, int doubled, uint8_t *halves, int64_t counts[2]) {
    go_table *t = m->table;
    int64_t k = 0;
    for (bucket *b = src; b; b = b->overflow) {
        const uint8_t *kinds = kinds_of(t, b);
        for (int i = 0; i < SLOTS; i++) {
            if (is_empty(b->top[i])) continue;
            uint64_t hash = doubled ? cm_stored_hash(m, b->keys[i], kinds ? kinds[i] : 0) : 0;
            halves[k] = (hash & (uint64_t)t->oldn) != 0;
            counts[halves[k++]]++;
        }
    }
}

/* Copy the chain's entries to their halves, marking each old slot EVACUATED_X/Y/EMPTY, and free
 * the chain's overflow buckets. */
static void move_chain(go_table *t, bucket *src, dest to[2], const uint8_t *halves) {
    int64_t k = 0;
    for (bucket *b = src, *next; b; b = next) {
        for (int i = 0; i < SLOTS; i++) {
            if (is_empty(b->top[i])) {
                b->top[i] = EVACUATED_EMPTY;
                continue;
            }
            append(t, &to[halves[k]], b, i);
            b->top[i] = (uint8_t)(EVACUATED_X + halves[k++]);
        }
        next = b->overflow;
        if (b != src) {
            free(b);
            t->old_overflow--;
        }
    }
    src->overflow = NULL;
}

/* Go's evacuate: move old bucket ob's entries to the new array, to bucket ob (X) or, when
 * doubling, ob + oldn (Y). */
static int evacuate(cm_map *m, uint64_t ob) {
    go_table *t = m->table;
    if (!old_pending(t, ob)) return 0;
    bucket *src = bucket_at(t, t->old, ob);
    int doubled = t->nbuckets != t->oldn;
    int64_t len = 0, counts[2] = {0, 0};
    for (bucket *b = src; b; b = b->overflow) len++;
    uint8_t few[4 * SLOTS], *halves = len <= 4 ? few : malloc((size_t)len * SLOTS);
    if (!halves) return CM_ENOMEM;
    split(m, src, doubled, halves, counts);
    /* New buckets X and Y receive entries only from here, so they are still empty, and all the
     * room is allocated up front: running out of memory leaves the bucket unevacuated. */
    dest to[2] = {{bucket_at(t, t->buckets, ob), 0},
                  {bucket_at(t, t->buckets, ob + (doubled ? (uint64_t)t->oldn : 0)), 0}};
    int rc = reserve_chain(t, to[0].b, counts[0]);
    if (rc == 0) rc = reserve_chain(t, to[1].b, counts[1]);
    if (rc == 0) {
        move_chain(t, src, to, halves);
    } else {
        unreserve_chain(t, to[0].b);
        if (doubled) unreserve_chain(t, to[1].b);
    }
    if (halves != few) free(halves);
    if (rc < 0) return rc;
    CM_MOVED(m, counts[0] + counts[1]);
    if ((int64_t)ob == t->nevacuate) {
        t->nevacuate++;
        advance_mark(t);
    }
    return 0;
}

/* Go's growWork: evacuate the old bucket this write needs, then one more in order. */
static int grow_work(cm_map *m, uint64_t hash) {
    go_table *t = m->table;
    int rc = evacuate(m, hash & t->oldmask);
    if (rc == 0 && t->old) rc = evacuate(m, (uint64_t)t->nevacuate);
    return rc;
}

static int finish_growth(cm_map *m) {
    go_table *t = m->table;
    while (t->old) {
        int rc = evacuate(m, (uint64_t)t->nevacuate);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Go's hashGrow: a new array (twice as large, or the same size to shed overflow buckets). */
static int start_growth(cm_map *m, int bigger) {
    go_table *t = m->table;
    int64_t n = bigger ? t->nbuckets * 2 : t->nbuckets;
    cm_array fresh;
    int rc = alloc_array(t, &fresh, n);
    if (rc < 0) return rc;
    t->old_arr = t->arr;
    t->old = t->buckets;
    t->oldmask = t->mask;
    t->oldn = t->nbuckets;
    t->old_overflow = t->noverflow;
    t->nevacuate = 0;
    t->arr = fresh;
    t->buckets = fresh.p;
    t->nbuckets = n;
    t->mask = (uint64_t)n - 1;
    t->noverflow = 0;
    m->resizes++;
    return m->incremental ? 0 : finish_growth(m);
}

static int go_insert(cm_map *m, const cm_key *q, cm_ref *at) {
    go_table *t = m->table;
    const uint8_t top = tophash(q->hash);
    for (;;) {
        if (t->old) {
            int rc = grow_work(m, q->hash);
            if (rc < 0) return rc;
        }
        bucket *b = bucket_at(t, t->buckets, q->hash & t->mask), *last = b, *free_b = NULL;
        int free_i = 0;
        for (; b; last = b, b = b->overflow) {
            const uint8_t *kinds = kinds_of(t, b);
            for (int i = 0; i < SLOTS; i++) {
                if (b->top[i] != top) {
                    if (is_empty(b->top[i]) && !free_b) free_b = b, free_i = i;
                    if (b->top[i] == EMPTY_REST) goto absent;
                } else if (cm_matches(q, b->keys[i], kinds ? kinds[i] : 0)) {
                    *at = ref_at(t, b, i);
                    return 0;
                }
            }
        }
    absent:
        if (!t->old && (over_load(m->size + 1, t->nbuckets) || too_many_overflow(t))) {
            int rc = start_growth(m, over_load(m->size + 1, t->nbuckets));
            if (rc < 0) return rc;
            continue;
        }
        if (!free_b) { /* the chain is full: scanned to its end, so last is its tail */
            if (!(free_b = last->overflow = new_overflow(t))) return CM_ENOMEM;
            t->noverflow++;
            free_i = 0;
        }
        free_b->top[free_i] = top;
        free_b->keys[free_i] = q->word;
        free_b->vals[free_i] = 0;
        *at = ref_at(t, free_b, free_i);
        if (at->kind) *at->kind = q->kind;
        return 1;
    }
}

/* After slot i of b became EMPTY_ONE: if nothing follows it in the chain, turn it and the empty
 * slots before it into EMPTY_REST, walking back towards the chain's head (Go's mapdelete). */
static void mark_rest(bucket *head, bucket *b, int i) {
    int last = i == SLOTS - 1;
    if (last ? b->overflow && b->overflow->top[0] != EMPTY_REST : b->top[i + 1] != EMPTY_REST)
        return;
    for (;;) {
        b->top[i] = EMPTY_REST;
        if (i == 0) {
            if (b == head) return;
            bucket *prev = head;
            while (prev->overflow != b) prev = prev->overflow;
            b = prev;
            i = SLOTS - 1;
        } else {
            i--;
        }
        if (b->top[i] != EMPTY_ONE) return;
    }
}

static int go_remove(cm_map *m, const cm_key *q, cm_gone *gone) {
    go_table *t = m->table;
    /* Evacuation is only an optimisation for deletes: on failure the key is found where it is. */
    if (t->old) (void)grow_work(m, q->hash);
    bucket *head = chain(t, q->hash), *b;
    int i;
    int64_t probes;
    if (!scan(t, head, q, &probes, &b, &i)) return 0;
    cm_ref at = ref_at(t, b, i);
    gone->key = *at.key;
    gone->val = *at.val;
    gone->kind = at.kind ? *at.kind : 0;
    *at.key = *at.val = 0;
    if (at.kind) *at.kind = 0;
    b->top[i] = EMPTY_ONE;
    mark_rest(head, b, i);
    return 1;
}

typedef struct {
    const cm_map *m;
    go_table *fresh;
    int failed;
} rebuilder;

/* Append one entry to its chain in the table being rebuilt (its first empty slot). */
static void rebuild_one(void *ctx, cm_ref at) {
    rebuilder *r = ctx;
    go_table *t = r->fresh;
    if (r->failed) return;
    uint8_t kind = at.kind ? *at.kind : 0;
    uint64_t hash = cm_stored_hash(r->m, *at.key, kind);
    bucket *b = bucket_at(t, t->buckets, hash & t->mask);
    int i = 0;
    for (;;) {
        while (i < SLOTS && !is_empty(b->top[i])) i++;
        if (i < SLOTS) break;
        if (!b->overflow) {
            if (!(b->overflow = new_overflow(t))) {
                r->failed = 1;
                return;
            }
            t->noverflow++;
        }
        b = b->overflow;
        i = 0;
    }
    b->top[i] = tophash(hash);
    b->keys[i] = *at.key;
    b->vals[i] = *at.val;
    uint8_t *kinds = kinds_of(t, b);
    if (kinds) kinds[i] = kind;
}

static void go_each(cm_map *m, void (*fn)(void *, cm_ref), void *ctx);

/* Move every entry (old buckets included) into a fresh array of n buckets of the given stride at
 * once. Entries are copied, so running out of memory drops the copy and changes nothing. */
static int rebuild(cm_map *m, int64_t n, size_t stride) {
    go_table *t = m->table;
    go_table fresh = {0};
    fresh.stride = stride;
    int rc = alloc_array(&fresh, &fresh.arr, n);
    if (rc < 0) return rc;
    fresh.buckets = fresh.arr.p;
    fresh.nbuckets = n;
    fresh.mask = (uint64_t)n - 1;
    rebuilder r = {m, &fresh, 0};
    go_each(m, rebuild_one, &r);
    if (r.failed) {
        free_chains(&fresh);
        cm_array_free(&fresh.arr);
        return CM_ENOMEM;
    }
    free_chains(t);
    cm_array_free(&t->arr);
    *t = fresh;
    CM_MOVED(m, m->size);
    return 0;
}

static int go_reserve(cm_map *m, int64_t n) {
    go_table *t = m->table;
    int64_t want = t->nbuckets;
    while (over_load(n, want)) {
        if (want >= MAX_BUCKETS) return CM_ETOOBIG;
        want *= 2;
    }
    if (want == t->nbuckets) return 0;
    int rc = rebuild(m, want, t->stride);
    m->resizes += rc == 0;
    return rc;
}

/* Keep kind bytes from now on: a rebuild into buckets of SLOTS more bytes (at the same size, so
 * not counted as a resize; its moves count). */
static int go_widen(cm_map *m) {
    go_table *t = m->table;
    return rebuild(m, t->nbuckets, sizeof(bucket) + SLOTS);
}

static void each_in(const go_table *t, bucket *b, void (*fn)(void *, cm_ref), void *ctx) {
    for (; b; b = b->overflow)
        for (int i = 0; i < SLOTS; i++)
            if (b->top[i] >= MIN_TOPHASH) fn(ctx, ref_at(t, b, i));
}

static void go_each(cm_map *m, void (*fn)(void *, cm_ref), void *ctx) {
    go_table *t = m->table;
    for (int64_t i = t->nevacuate; t->old && i < t->oldn; i++)
        if (old_pending(t, (uint64_t)i)) each_in(t, bucket_at(t, t->old, (uint64_t)i), fn, ctx);
    for (int64_t i = 0; i < t->nbuckets; i++)
        each_in(t, bucket_at(t, t->buckets, (uint64_t)i), fn, ctx);
}

static void go_prefetch(const cm_map *m, uint64_t hash) {
    const go_table *t = m->table;
    const char *b = (const char *)bucket_at(t, t->buckets, hash & t->mask);
    CM_PREFETCH(b);      /* tophash and the first keys */
    CM_PREFETCH(b + 64); /* the other keys */
    if (t->old && (int64_t)(hash & t->oldmask) >= t->nevacuate)
        CM_PREFETCH(bucket_at(t, t->old, hash & t->oldmask));
}

static int64_t go_homes(cm_map *m) { return ((go_table *)m->table)->nbuckets; }

static uint64_t go_home_hash(cm_map *m, int64_t home, uint64_t noise) {
    go_table *t = m->table;
    return (noise & ~t->mask) | (uint64_t)home;
}

static void go_shape(cm_map *m, cm_stats_out *out) {
    go_table *t = m->table;
    out->capacity = t->nbuckets * SLOTS;
    out->homes = t->nbuckets;
    out->overflow_buckets = t->noverflow + t->old_overflow;
    out->growing = t->old != NULL;
    out->probe_unit = CM_UNIT_BUCKET;
}

static void go_layout(cm_map *m, cm_layout_out *out) {
    go_table *t = m->table;
    out->unit_bytes = (int64_t)t->stride;
    out->units = t->nbuckets;
}

const cm_ops cm_gobucket_ops = {
    go_init,    go_destroy, go_clear, go_find,     go_insert,    go_remove, go_reserve,
    go_widen,   go_each,    go_prefetch, go_homes, go_home_hash, go_shape,  go_layout,
};
