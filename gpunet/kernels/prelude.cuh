// gpunet kernel prelude: portable between NVRTC (cupy.RawModule), nvcc and a host C++ compiler.
//
// Every generated source starts with this file.  Per-element functions are GN_HD
// (__host__ __device__ under CUDA, plain inline otherwise) and kernels use the
// GN_* loop macros, so the same text compiles three ways:
//   * device code (NVRTC or nvcc): grid-stride loops over threads, warps or blocks;
//   * host code with a C++ compiler (no __CUDACC__), or with nvcc and -DGN_HOST_KERNELS:
//     every "kernel" becomes an extern "C" host function whose loops run sequentially,
//     which is how the kernels are tested on a machine without a GPU.
// No system header is included for device builds: NVRTC has none.
#ifndef GN_PRELUDE_CUH
#define GN_PRELUDE_CUH

#if defined(__CUDACC__)
#define GN_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#define GN_HD inline
using std::cos;
using std::exp;
using std::fabs;
using std::fmod;
using std::log;
using std::pow;
using std::sin;
using std::sqrt;
using std::tan;
using std::tanh;
#endif

#if defined(__CUDACC__) && !defined(GN_HOST_KERNELS)
#define GN_KERNEL extern "C" __global__ void
#define GN_THREAD_INDEX ((long long)blockIdx.x * (long long)blockDim.x + (long long)threadIdx.x)
#define GN_THREAD_COUNT ((long long)blockDim.x * (long long)gridDim.x)
#define GN_LANE ((long long)(threadIdx.x & 31u))
#define GN_LANES 32LL
#define GN_BLOCK_INDEX ((long long)blockIdx.x)
#define GN_BLOCK_COUNT ((long long)gridDim.x)
#define GN_BLOCK_LANE ((long long)threadIdx.x)
#define GN_BLOCK_LANES ((long long)blockDim.x)
// Value of `value` in lane `lane` of the warp; every lane of the warp must take part.
#define GN_SHFL(value, lane) __shfl_sync(0xffffffffu, (value), (int)(lane))
// Bit k set when `predicate` holds in lane k (the same mask in every lane); every lane must take part.
#define GN_BALLOT(predicate) ((gn_u32)__ballot_sync(0xffffffffu, (predicate)))
// The lowest lane whose bit is set in a non-zero ballot mask.
#define GN_FIRST_LANE(mask) (__ffs((int)(mask)) - 1)
// Every thread of the block waits here (block-wide kernels: GN_FOR_EACH_BLOCK in uniform control flow).
#define GN_SYNC() __syncthreads()
// Block-shared storage; GN_BLOCK_TILE is the most threads a block-wide kernel of gpunet is launched with.
#define GN_SHARED __shared__
#define GN_BLOCK_TILE 256
#else
#define GN_KERNEL extern "C" void
#define GN_THREAD_INDEX 0LL
#define GN_THREAD_COUNT 1LL
#define GN_LANE 0LL
#define GN_LANES 1LL
#define GN_BLOCK_INDEX 0LL
#define GN_BLOCK_COUNT 1LL
#define GN_BLOCK_LANE 0LL
#define GN_BLOCK_LANES 1LL
#define GN_SHFL(value, lane) (value)
#define GN_BALLOT(predicate) ((predicate) ? 1u : 0u)
#define GN_FIRST_LANE(mask) 0
#define GN_SYNC() ((void)0)
#define GN_SHARED
#define GN_BLOCK_TILE 1
#endif

// One item per thread.
#define GN_FOR_EACH(i, n) for (long long i = GN_THREAD_INDEX; i < (long long)(n); i += GN_THREAD_COUNT)
// One item per warp; the lanes of the warp share the item's inner loop (GN_LANE, GN_LANES).
#define GN_FOR_EACH_WARP(i, n) \
    for (long long i = GN_THREAD_INDEX / GN_LANES; i < (long long)(n); i += GN_THREAD_COUNT / GN_LANES)
// One item per block; its threads share the inner loop (GN_BLOCK_LANE, GN_BLOCK_LANES).
#define GN_FOR_EACH_BLOCK(i, n) for (long long i = GN_BLOCK_INDEX; i < (long long)(n); i += GN_BLOCK_COUNT)

typedef unsigned long long gn_u64;
typedef long long gn_i64;
typedef unsigned int gn_u32;

// Row of a spike ring of `depth` rows that holds the spikes of `step` (gpunet.io.pipeline.state_types.ring_row:
// step modulo depth, never negative).
GN_HD gn_i64 gn_ring_index(const gn_i64 step, const gn_i64 depth)
{
    const gn_i64 row = step % depth;
    return row < 0 ? row + depth : row;
}

// NumPy's maximum/minimum: NaN propagates from either side, the first argument wins ties.
GN_HD double gn_maximum(double a, double b) { return (a >= b || a != a) ? a : b; }
GN_HD float gn_maximum(float a, float b) { return (a >= b || a != a) ? a : b; }
GN_HD double gn_minimum(double a, double b) { return (a <= b || a != a) ? a : b; }
GN_HD float gn_minimum(float a, float b) { return (a <= b || a != a) ? a : b; }

GN_HD void gn_atomic_add(double* target, double value)
{
#if defined(__CUDA_ARCH__) && !defined(GN_HOST_KERNELS)
    atomicAdd(target, value);
#else
    *target += value;
#endif
}

GN_HD void gn_atomic_add(float* target, float value)
{
#if defined(__CUDA_ARCH__) && !defined(GN_HOST_KERNELS)
    atomicAdd(target, value);
#else
    *target += value;
#endif
}

GN_HD void gn_atomic_add(gn_u64* target, gn_u64 value)
{
#if defined(__CUDA_ARCH__) && !defined(GN_HOST_KERNELS)
    atomicAdd((unsigned long long*)target, (unsigned long long)value);
#else
    *target += value;
#endif
}

#endif  // GN_PRELUDE_CUH
