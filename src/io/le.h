/* Little-endian bytes of the file formats (checkpoint.bin, .npy), whatever the host's order.
 * Internal to src/io/. */
#ifndef TAUNET_IO_LE_H
#define TAUNET_IO_LE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void tn_put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void tn_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void tn_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t tn_get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t tn_get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static inline uint64_t tn_get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* float32 host order <-> little-endian bytes (the same operation both ways). */
static inline void tn_copy_f32_le(void *dst, const void *src, size_t n) {
    const uint16_t one = 1;
    if (*(const unsigned char *)&one == 1) {
        memcpy(dst, src, n * 4);
        return;
    }
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++, s += 4, d += 4) d[0] = s[3], d[1] = s[2], d[2] = s[1], d[3] = s[0];
}
#endif
