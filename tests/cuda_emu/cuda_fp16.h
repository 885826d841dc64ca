/* tests/cuda_emu/cuda_fp16.h - the half type and conversions backends/cuda uses, on the
   host (round to nearest even, subnormals, overflow to inf, as the device's). */
#ifndef INFER_CUDA_EMU_FP16_H
#define INFER_CUDA_EMU_FP16_H

#include <cmath>
#include <cstdint>
#include <cstring>

struct __half {
    uint16_t x;
};

inline __half __float2half_rn(float f) {
    uint32_t u, sign, e, m, h, rem, shift;
    int ee;
    __half r;
    std::memcpy(&u, &f, 4);
    sign = (u >> 16) & 0x8000u, e = (u >> 23) & 0xffu, m = u & 0x7fffffu;
    if (e == 255) r.x = (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0u)); /* inf, NaN */
    else if ((ee = (int)e - 112) >= 31) r.x = (uint16_t)(sign | 0x7c00u);
    else if (ee <= 0) { /* a subnormal half: units of 2^-24 */
        if (ee < -10) r.x = (uint16_t)sign;
        else {
            m |= 0x800000u;
            shift = (uint32_t)(14 - ee);
            h = m >> shift, rem = m & ((1u << shift) - 1u);
            if (rem > (1u << (shift - 1)) || (rem == (1u << (shift - 1)) && (h & 1u))) h++;
            r.x = (uint16_t)(sign | h);
        }
    } else {
        h = ((uint32_t)ee << 10) | (m >> 13), rem = m & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry into the exponent is right */
        r.x = (uint16_t)(sign | h);
    }
    return r;
}

inline float __half2float(__half h) {
    uint32_t e = (h.x >> 10) & 0x1fu, m = h.x & 0x3ffu;
    float v = e == 0 ? std::ldexp((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp((float)(m | 0x400u), (int)e - 25);
    return h.x & 0x8000u ? -v : v;
}

#endif
