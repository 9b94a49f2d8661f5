/* A C driver for valgrind and the sanitizers: random operations on every scheme, checked against
 * a simple reference, then everything freed. Not part of the library; built by `nox -s valgrind`.
 * Exit status 0 means every check passed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmap.h"

#define UNIVERSE 3000 /* keys 0..UNIVERSE-1: ints below 2000, the rest bytes or str keys */
#define OPS 60000

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_random(void) { /* xorshift64 */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    int tag;
    int64_t num;
    uint8_t data[16];
} key;

static key make_key(int id) {
    key k = {CM_INT, id * 7919 - 1000000, {0}};
    if (id >= 2000) {
        k.tag = id % 2 ? CM_BYTES : CM_STR;
        k.num = snprintf((char *)k.data, sizeof k.data, "k%d", id % 1000); /* same bytes, both tags */
        if (id < 2002) k.num = 0; /* the empty str and the empty bytes key */
    }
    return k;
}

typedef struct {
    int present;
    int64_t val;
    int bytes_len; /* -1: int value */
} ref;

static void check_value(cm_map *m, key k, const ref *r) {
    int64_t out = 0;
    uint8_t buf[64];
    int got = cm_get(m, k.tag, k.num, k.data, &out, buf, sizeof buf);
    if (!r->present) {
        CHECK(got == 0);
        return;
    }
    if (r->bytes_len < 0) {
        CHECK(got == 1 && out == r->val);
    } else {
        CHECK(got == 2 && out == r->bytes_len);
        for (int i = 0; i < r->bytes_len && got == 2; i++) CHECK(buf[i] == (uint8_t)(r->val + i));
    }
}

static void check_stats(cm_map *m) {
    cm_stats_out s;
    CHECK(cm_stats(m, &s) == 0);
    int64_t *hit = calloc((size_t)s.hit_len + 1, sizeof *hit);
    int64_t *miss = calloc((size_t)s.miss_len + 1, sizeof *miss);
    CHECK(hit && miss);
    if (!hit || !miss) return;
    CHECK(cm_hist_copy(m, CM_HIST_HIT, hit, s.hit_len) == s.hit_len);
    CHECK(cm_hist_copy(m, CM_HIST_MISS, miss, s.miss_len) == s.miss_len);
    int64_t hits = 0, misses = 0;
    for (int64_t i = 0; i < s.hit_len; i++) hits += hit[i];
    for (int64_t i = 0; i < s.miss_len; i++) misses += miss[i];
    CHECK(hits == s.size && s.size == cm_len(m));
    CHECK(misses == s.homes); /* one unsuccessful search per home position */
    CHECK(s.hit_len == 0 || hit[0] == 0);
    free(hit);
    free(miss);
}

static void check_export(cm_map *m) {
    int64_t n = cm_len(m), nbytes = cm_key_bytes(m);
    uint8_t *tags = malloc((size_t)n + 1), *blob = malloc((size_t)nbytes + 1);
    int64_t *nums = malloc(((size_t)n + 1) * sizeof *nums);
    CHECK(tags && blob && nums);
    if (tags && blob && nums) {
        CHECK(n == 0 || cm_export_keys(m, tags, nums, blob, n - 1, nbytes) == -1);
        CHECK(cm_export_keys(m, tags, nums, blob, n, nbytes) == n);
    }
    free(tags);
    free(blob);
    free(nums);
}

static void run(int scheme, int incremental, double max_load) {
    cm_map *m = cm_new(scheme, 42, max_load, 0, incremental);
    CHECK(m != NULL);
    if (!m) return;
    static ref refs[UNIVERSE];
    memset(refs, 0, sizeof refs);
    int64_t live = 0;
    for (int op = 0; op < OPS; op++) {
        int id = (int)(next_random() % (op < OPS / 2 ? UNIVERSE : UNIVERSE / 3));
        key k = make_key(id);
        uint64_t r = next_random() % 100;
        if (r < 55) {
            uint8_t value[40];
            int len = (int)(next_random() % 41) - 1;
            for (int i = 0; i < len; i++) value[i] = (uint8_t)(op + i);
            int vtag = len < 0 ? CM_INT : CM_BYTES;
            CHECK(cm_put(m, k.tag, k.num, k.data, vtag, len < 0 ? op : len, value) == 0);
            live += !refs[id].present;
            refs[id] = (ref){1, op, len};
        } else if (r < 80) {
            CHECK(cm_del(m, k.tag, k.num, k.data) == refs[id].present);
            live -= refs[id].present;
            refs[id].present = 0;
        } else {
            check_value(m, k, &refs[id]);
        }
        if (op % 5000 == 0) {
            check_stats(m);
            check_export(m);
        }
        if (op == OPS / 3) CHECK(cm_reserve(m, 5000) == 0);
    }
    CHECK(cm_len(m) == live);
    for (int id = 0; id < UNIVERSE; id++) check_value(m, make_key(id), &refs[id]);
    check_stats(m);

    int64_t keys[20000], vals[20000];
    for (int i = 0; i < 20000; i++) keys[i] = (int64_t)next_random(), vals[i] = i;
    CHECK(cm_insert_many(m, keys, vals, 20000) == 20000);
    CHECK(cm_lookup_many(m, keys, 20000) == 20000);
    CHECK(cm_delete_many(m, keys, 10000) == 10000);
    CHECK(cm_lookup_many(m, keys, 20000) == 10000);
    check_stats(m);
    cm_clear(m);
    CHECK(cm_len(m) == 0 && cm_key_bytes(m) == 0);
    CHECK(cm_put(m, CM_STR, 1, (const uint8_t *)"a", CM_BYTES, 1, (const uint8_t *)"b") == 0);
    check_stats(m);
    cm_free(m);
}

/* Ints first, then a str key: the table starts keeping kind bytes midway (gobucket rebuilds). */
static void widen_midway(int scheme) {
    cm_map *m = cm_new(scheme, 7, 0.75, 0, 1);
    CHECK(m != NULL);
    if (!m) return;
    enum { N = 5000 };
    static int64_t keys[N];
    for (int i = 0; i < N; i++) keys[i] = (int64_t)next_random();
    CHECK(cm_insert_many(m, keys, keys, N) == N);
    cm_layout_out before, after;
    CHECK(cm_layout(m, &before) == 0);
    CHECK(cm_put(m, CM_STR, 3, (const uint8_t *)"abc", CM_BYTES, 2, (const uint8_t *)"xy") == 0);
    CHECK(cm_layout(m, &after) == 0);
    CHECK(cm_lookup_many(m, keys, N) == N && cm_len(m) == N + 1);
    int64_t out = 0;
    uint8_t buf[2];
    CHECK(cm_get(m, CM_STR, 3, (const uint8_t *)"abc", &out, buf, 2) == 2 && out == 2);
    if (scheme == CM_GOBUCKET) CHECK(before.unit_bytes == 144 && after.unit_bytes == 152);
    if (scheme == CM_SWISS) {
        CHECK(before.meta_bytes == before.units + before.group_width + 1);
        CHECK(before.kind_bytes == 0 && after.kind_bytes == after.units);
    }
    check_stats(m);
    cm_free(m);
}

/* Impossible sizes fail at once with an error, bad lengths and tags are rejected, and the map
 * stays usable afterwards. */
static void bad_input(int scheme) {
    cm_map *m = cm_new(scheme, 1, 0.75, 0, 1);
    CHECK(m != NULL);
    if (!m) return;
    CHECK(cm_put(m, CM_INT, 1, NULL, CM_INT, 1, NULL) == 0);
    CHECK(cm_reserve(m, INT64_MAX) == CM_ETOOBIG);
    CHECK(cm_reserve(m, (int64_t)1 << 62) == CM_ETOOBIG);
    int rc = cm_reserve(m, CM_MAX_SLOTS); /* within the bound, beyond any memory */
    CHECK(rc == CM_ETOOBIG || rc == CM_ENOMEM);
    CHECK(cm_reserve(m, -1) == CM_EINVAL);
    CHECK(cm_new(scheme, 0, 0.75, CM_MAX_SLOTS + 1, 0) == NULL);
    CHECK(cm_new(scheme, 0, 0.75, INT64_MAX, 0) == NULL);
    CHECK(cm_new(scheme, 0, 0.75, (int64_t)1 << 47, 0) == NULL); /* 2^47 slots: no memory */
    const uint8_t *x = (const uint8_t *)"x";
    int64_t out = 0, keys[1] = {1};
    CHECK(cm_put(m, CM_STR, -1, x, CM_INT, 0, NULL) == CM_EINVAL);
    CHECK(cm_put(m, CM_BYTES, INT64_MIN, x, CM_INT, 0, NULL) == CM_EINVAL);
    CHECK(cm_put(m, CM_INT, 2, NULL, CM_BYTES, -5, x) == CM_EINVAL);
    CHECK(cm_put(m, CM_INT, 2, NULL, CM_STR, 1, x) == CM_EINVAL); /* values: int or bytes */
    CHECK(cm_put(m, 7, 2, NULL, CM_INT, 0, NULL) == CM_EINVAL);
    CHECK(cm_put(m, CM_STR, 4, NULL, CM_INT, 0, NULL) == CM_EINVAL);
    CHECK(cm_get(m, CM_BYTES, -3, x, &out, NULL, 0) == CM_EINVAL);
    CHECK(cm_del(m, CM_STR, -1, x) == CM_EINVAL);
    CHECK(cm_insert_many(m, keys, keys, -1) == CM_EINVAL);
    CHECK(cm_lookup_many(m, keys, -1) == CM_EINVAL && cm_delete_many(m, keys, -2) == CM_EINVAL);
    CHECK(cm_export_keys(m, NULL, NULL, NULL, -1, -1) == -1);
    CHECK(cm_siphash(0, 0, x, -1, 1, 3) == 0);
    CHECK(cm_len(m) == 1 && cm_get(m, CM_INT, 1, NULL, &out, NULL, 0) == 1 && out == 1);
    cm_call c = {NULL, 1, 0};
    CHECK(cm_call_get(&c) == CM_ECLOSED && cm_call_put(&c) == CM_ECLOSED);
    CHECK(cm_call_del(&c) == CM_ECLOSED && cm_reserve(NULL, 1) == CM_ECLOSED);
    c.map = m;
    c.val = 5;
    CHECK(cm_call_put(&c) == 0 && cm_call_get(&c) == 1 && c.val == 5);
    CHECK(cm_call_del(&c) == 1 && cm_call_del(&c) == 0 && cm_call_get(&c) == 0);
    cm_free(m);
}

int main(void) {
    /* SipHash-2-4 test vector from the paper (key 00..0f, message 00..0e). */
    uint8_t msg[15];
    for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
    CHECK(cm_siphash(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, 15, 2, 4) ==
          0xa129ca6149be45e5ULL);
    CHECK(cm_new(99, 0, 0.5, 0, 0) == NULL);
    CHECK(cm_new(CM_LINEAR, 0, 1.5, 0, 0) == NULL);
    CHECK(cm_new(CM_LINEAR, 0, 0.5, -1, 0) == NULL);
    for (int scheme = CM_LINEAR; scheme <= CM_SWISS; scheme++) {
        for (int incremental = 0; incremental <= 1; incremental++) {
            if (incremental && scheme != CM_GOBUCKET) continue;
            run(scheme, incremental, 0.75);
            if (scheme != CM_GOBUCKET) run(scheme, 0, 0.95);
        }
        widen_midway(scheme);
        bad_input(scheme);
    }
    printf("selftest: %s (simd=%d)\n", failures ? "FAILED" : "ok", cm_simd());
    return failures ? 1 : 0;
}
