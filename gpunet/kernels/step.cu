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

// The spike masks of several populations in one launch: row r of `table` (5 words) holds one population's
// first index in 0 .. n - 1 (ascending, sizes > 0), its size, its ring's depth, and the addresses of its
// spike mask and spike ring.
GN_KERNEL gn_step_push_spikes_merged(const gn_i64 n, const gn_i64* __restrict__ clock, const gn_i64 rows,
                                     const gn_u64* __restrict__ table)
{
    GN_FOR_EACH(i, n) {
        gn_i64 low = 0;
        gn_i64 high = rows - 1;
        while (low < high) {  // the last population whose first index is at most i
            const gn_i64 middle = low + (high - low + 1) / 2;
            if ((gn_i64)table[5 * middle] <= i) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        const gn_u64* ring = table + 5 * low;
        const gn_i64 size = (gn_i64)ring[1];
        const gn_i64 row = gn_ring_index(clock[0], (gn_i64)ring[2]);
        ((bool*)ring[4])[row * size + i - (gn_i64)ring[0]] = ((const bool*)ring[3])[i - (gn_i64)ring[0]];
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
