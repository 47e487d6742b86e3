// gpunet counter-based random numbers: the integer algorithm of gpunet/network/rng.py, bit for bit.
//
// A draw is a pure function of (key, step, counter); there is no generator state.
//   mix(z)     = SplitMix64 finaliser
//   key        = mix(seed + G * (stream + 1))              (computed on the host: rng.stream_key)
//   step_key   = mix(key ^ (G * (step + 1)))
//   bits(i)    = mix(step_key + G * (i + 1))
//   uniform(i) = (bits(i) >> 11) * 2^-53                   in [0, 1), exact in double
//   normal(i)  = sqrt(-2 log(1 - uniform(2i))) * cos(2 pi uniform(2i + 1))
// All integer arithmetic is modulo 2^64 (unsigned overflow is defined in C++).  The
// uniform doubles are exact, hence identical everywhere; normals go through log and cos,
// whose last bit may differ between libraries (CUDA's are within 1 ulp of NumPy's).
// Needs prelude.cuh.
#ifndef GN_RNG_CUH
#define GN_RNG_CUH

#define GN_RNG_GOLDEN 0x9E3779B97F4A7C15ULL
#define GN_RNG_MIX1 0xBF58476D1CE4E5B9ULL
#define GN_RNG_MIX2 0x94D049BB133111EBULL
// 2^-53 and 2 pi as Python prints them (both round-trip exactly).
#define GN_RNG_U53 1.1102230246251565e-16
#define GN_RNG_TWO_PI 6.283185307179586

GN_HD gn_u64 gn_mix64(gn_u64 z)
{
    z ^= z >> 30;
    z *= GN_RNG_MIX1;
    z ^= z >> 27;
    z *= GN_RNG_MIX2;
    return z ^ (z >> 31);
}

GN_HD gn_u64 gn_stream_key(gn_u64 seed, gn_u64 stream)
{
    return gn_mix64(seed + GN_RNG_GOLDEN * (stream + 1ULL));
}

GN_HD gn_u64 gn_step_key(gn_u64 key, gn_i64 step)
{
    return gn_mix64(key ^ (GN_RNG_GOLDEN * ((gn_u64)step + 1ULL)));
}

GN_HD gn_u64 gn_bits(gn_u64 step_key, gn_u64 counter)
{
    return gn_mix64(step_key + (counter + 1ULL) * GN_RNG_GOLDEN);
}

GN_HD double gn_uniform01(gn_u64 step_key, gn_u64 counter)
{
    return (double)(gn_bits(step_key, counter) >> 11) * GN_RNG_U53;
}

// Standard normal number `index` of a step (Box-Muller on the counters 2 index, 2 index + 1).
GN_HD double gn_standard_normal(gn_u64 step_key, gn_u64 index)
{
    const double u1 = gn_uniform01(step_key, 2ULL * index);
    const double u2 = gn_uniform01(step_key, 2ULL * index + 1ULL);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(GN_RNG_TWO_PI * u2);
}

// Normal(mean, std) number `index` of stream `key` at `step`, as rng.normal computes it (in double).
GN_HD double gn_normal(gn_u64 key, gn_i64 step, gn_u64 index, double mean, double std)
{
    return mean + std * gn_standard_normal(gn_step_key(key, step), index);
}

// Uniform(low, high) number `index` of stream `key` at `step`, as rng.uniform computes it (in double).
GN_HD double gn_uniform(gn_u64 key, gn_i64 step, gn_u64 index, double low, double high)
{
    return low + (high - low) * gn_uniform01(gn_step_key(key, step), index);
}

#endif  // GN_RNG_CUH
