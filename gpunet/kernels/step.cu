// gpunet kernels: a step's bookkeeping on the device, for steps replayed as a CUDA graph.
//
// The step counter lives in clock[0]: the clocked kernels read it, gn_step_tick advances it
// after the step's last kernel.  No placeholders: this file is used as it is.

// The spike mask of this step into the spike ring's row clock[0] % depth (Population._push_spikes).
GN_KERNEL gn_step_push_spikes(const gn_i64 n, const gn_i64* __restrict__ clock, const gn_i64 depth,
                              const bool* __restrict__ spiked, bool* __restrict__ history)
{
    const gn_i64 row = gn_ring_index(clock[0], depth);
    GN_FOR_EACH(i, n) {
        history[row * n + i] = spiked[i];
    }
}

// The next step.
GN_KERNEL gn_step_tick(const gn_i64 n, gn_i64* clock)
{
    GN_FOR_EACH(i, n) {
        clock[i] += 1;
    }
}

// A population's input sums back to zero at the start of a step (Population._reset_inputs).
GN_KERNEL gn_step_zero_f64(const gn_i64 n, double* values)
{
    GN_FOR_EACH(i, n) {
        values[i] = 0.0;
    }
}

GN_KERNEL gn_step_zero_f32(const gn_i64 n, float* values)
{
    GN_FOR_EACH(i, n) {
        values[i] = 0.0f;
    }
}
