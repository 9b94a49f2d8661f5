/* What every part uses: SipHash, SplitMix64, and large zeroed arrays. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */

#include <stdlib.h>

#include "cmap.h"

#if (defined(__unix__) || defined(__APPLE__)) && !defined(CM_NO_MMAP)
#include <sys/mman.h>
#include <unistd.h>
#define CM_MMAP 1
#else
#define CM_MMAP 0
#endif

#define MMAP_MIN ((size_t)1 << 20) /* smaller arrays come from calloc */

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

void cm_seed_hash(cm_map *m, uint64_t seed) {
    m->k0 = cm_mix64(seed);
    m->k1 = cm_mix64(m->k0);
    uint64_t k0 = tag_key(m, CM_INT);
    m->sip_int[0] = k0 ^ 0x736f6d6570736575ULL;
    m->sip_int[1] = m->k1 ^ 0x646f72616e646f6dULL;
    m->sip_int[2] = k0 ^ 0x6c7967656e657261ULL;
    m->sip_int[3] = m->k1 ^ 0x7465646279746573ULL;
}

uint64_t cm_hash_bytes(const cm_map *m, int tag, const uint8_t *data, int64_t len) {
    return siphash(tag_key(m, tag), m->k1, data, (size_t)len, 1, 3);
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
