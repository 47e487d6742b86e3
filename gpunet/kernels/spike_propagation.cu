// gpunet kernel template: spike_propagation (pre-synaptic events of one synapse model)
// placeholders: fn, model, real, index, params, args, body
//
// Spikes arrive `delay` steps after they were emitted: for each synapse whose pre neuron
// spiked `delays[s]` steps ago, the event-driven traces of synapse model ${model} decay to
// this event, then its pre_spike statements run; the element function returns what the
// synapse adds to the post neuron's conductance g_target.

GN_HD ${real} ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                             const double t_host, const double dt_host${params})
{
${body}
}

// Ordered: one launch per step whatever the delays.  One warp per post neuron walks its row in
// the order (delay, pre rank): the storage order (ascending pre rank) when every synapse of a
// row has the same delay (permuted = 0), else through row_order, the row's synapses sorted by
// (delay, pre rank).  That is the NumPy path's order of additions per post neuron (one pass per
// delay value, ascending, each over the spiking pre neurons, ascending).  Each synapse reads the
// row of the pre population's spike ring (depth rows of pre_size masks) for step - delays[s].
// The lanes evaluate 32 synapses at a time; a ballot gives the lanes that have an event, and
// their contributions are added in lane order (storage order): bitwise the NumPy path's sums.
GN_KERNEL ${fn}_ordered(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                        const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                        const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                        const int* __restrict__ delays, const ${index}* __restrict__ row_order,
                        const gn_i64 permuted, ${real}* g_target${params})
{
    GN_FOR_EACH_WARP(post, n) {
        const gn_i64 end = row_ptr[post + 1];
        ${real} total = g_target[post];
        bool touched = false;
        for (gn_i64 first = row_ptr[post]; first < end; first += GN_LANES) {
            const gn_i64 k = first + GN_LANE;
            ${real} contribution = (${real})0;
            int event = 0;
            if (k < end) {
                const gn_i64 s = permuted ? (gn_i64)row_order[k] : k;
                const gn_i64 pre = pre_idx[s];
                if (history[gn_ring_index(step - (gn_i64)delays[s], depth) * pre_size + pre]) {
                    contribution = ${fn}_element(s, pre, post, step, t_host, dt_host${args});
                    event = 1;
                }
            }
            for (gn_u32 events = GN_BALLOT(event); events != 0u; events &= events - 1u) {
                total += GN_SHFL(contribution, GN_FIRST_LANE(events));
                touched = true;
            }
        }
        if (touched && GN_LANE == 0) {
            g_target[post] = total;
        }
    }
}

// Atomic: one launch per delay value, with `spikes` the ring's row for step - delay.  One warp per
// pre neuron of this delay's pre-major index (pre_ptr, pre_syn); the lanes share its synapses and
// add with atomicAdd.  Work is proportional to the events, but the order of the additions, hence the last bits of g_target, varies from run to run.
GN_KERNEL ${fn}_atomic(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                       const bool* __restrict__ spikes, const gn_i64 delay,
                       const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                       const ${index}* __restrict__ post_idx, const int* __restrict__ delays,
                       const gn_i64* __restrict__ pre_ptr, const ${index}* __restrict__ pre_syn,
                       ${real}* g_target${params})
{
    (void)delay; (void)row_ptr; (void)pre_idx; (void)delays;  // not used by this variant
    GN_FOR_EACH_WARP(pre, n) {
        if (!spikes[pre]) {
            continue;
        }
        for (gn_i64 k = pre_ptr[pre] + GN_LANE; k < pre_ptr[pre + 1]; k += GN_LANES) {
            const gn_i64 s = pre_syn[k];
            const gn_i64 post = post_idx[s];
            gn_atomic_add(&g_target[post], ${fn}_element(s, pre, post, step, t_host, dt_host${args}));
        }
    }
}

// Atomic, one launch per step whatever the delays: one warp per (delay group, pre neuron), groups in
// ascending delay.  groups[3 g] is group g's delay, groups[3 g + 1] and groups[3 g + 2] the device
// addresses of its pre-major index (pre_ptr, pre_syn, as in the variant above); each warp reads the
// spike ring's row for step - delay.  Run sequentially (a host build) the additions come in the NumPy
// path's order; on a GPU their order, hence the last bits of g_target, varies from run to run.
GN_KERNEL ${fn}_atomic_groups(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                              const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                              const gn_u64* __restrict__ groups, const ${index}* __restrict__ post_idx,
                              ${real}* g_target${params})
{
    GN_FOR_EACH_WARP(item, n) {
        const gn_i64 g = item / pre_size;
        const gn_i64 pre = item - g * pre_size;
        if (!history[gn_ring_index(step - (gn_i64)groups[3 * g], depth) * pre_size + pre]) {
            continue;
        }
        const gn_i64* pre_ptr = (const gn_i64*)groups[3 * g + 1];
        const ${index}* pre_syn = (const ${index}*)groups[3 * g + 2];
        for (gn_i64 k = pre_ptr[pre] + GN_LANE; k < pre_ptr[pre + 1]; k += GN_LANES) {
            const gn_i64 s = pre_syn[k];
            const gn_i64 post = post_idx[s];
            gn_atomic_add(&g_target[post], ${fn}_element(s, pre, post, step, t_host, dt_host${args}));
        }
    }
}
