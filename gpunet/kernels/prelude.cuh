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

#endif  // GN_PRELUDE_CUH
