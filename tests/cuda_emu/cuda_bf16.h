/* tests/cuda_emu/cuda_bf16.h - the bfloat16 type and conversions backends/cuda uses, on the
   host (round to nearest even, as the device's). */
#ifndef INFER_CUDA_EMU_BF16_H
#define INFER_CUDA_EMU_BF16_H

#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
    uint16_t x;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u;
    __nv_bfloat16 r;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) r.x = (uint16_t)((u >> 16) | 0x40u); /* NaN stays NaN */
    else r.x = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return r;
}

inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t u = (uint32_t)b.x << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

#endif
