// gpunet kernels: fill arrays from the counter-based streams of rng.cuh (counters 0 .. n-1).
// Used to compare the device streams with gpunet.network.rng and to draw without NumPy.
// Needs prelude.cuh and rng.cuh.

GN_KERNEL gn_rng_bits(const gn_i64 n, const gn_u64 key, const gn_i64 step, gn_u64* out)
{
    const gn_u64 step_key = gn_step_key(key, step);
    GN_FOR_EACH(i, n) {
        out[i] = gn_bits(step_key, (gn_u64)i);
    }
}

GN_KERNEL gn_rng_uniform01(const gn_i64 n, const gn_u64 key, const gn_i64 step, double* out)
{
    const gn_u64 step_key = gn_step_key(key, step);
    GN_FOR_EACH(i, n) {
        out[i] = gn_uniform01(step_key, (gn_u64)i);
    }
}

GN_KERNEL gn_rng_uniform(const gn_i64 n, const gn_u64 key, const gn_i64 step, const double low,
                         const double high, double* out)
{
    GN_FOR_EACH(i, n) {
        out[i] = gn_uniform(key, step, (gn_u64)i, low, high);
    }
}

GN_KERNEL gn_rng_normal(const gn_i64 n, const gn_u64 key, const gn_i64 step, const double mean,
                        const double std, double* out)
{
    GN_FOR_EACH(i, n) {
        out[i] = gn_normal(key, step, (gn_u64)i, mean, std);
    }
}
