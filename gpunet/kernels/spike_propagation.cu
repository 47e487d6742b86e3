// gpunet kernel template: spike_propagation (pre-synaptic events of one synapse model)
// placeholders: fn, model, real, index, params, args, body
//
// Spikes emitted `delay` steps ago arrive (one launch per delay value, ascending): for each
// synapse of delay `delay` whose pre neuron spiked, the event-driven traces of synapse model
// ${model} decay to this event, then its pre_spike statements run; the element function
// returns what the synapse adds to the post neuron's conductance g_target.
// `spikes` is the row of the pre population's spike history for step - delay.

GN_HD ${real} ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                             const double t_host, const double dt_host${params})
{
${body}
}

// Ordered: one warp per post neuron walks its row in storage order (ascending pre rank).
// The lanes evaluate 32 synapses at a time; then every lane adds the 32 contributions in
// storage order, so the sum is the one of NumPy's add.at: bitwise reproducible and equal to
// the NumPy path's.  Work is proportional to all synapses.
GN_KERNEL ${fn}_ordered(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                        const bool* __restrict__ spikes, const gn_i64 delay,
                        const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                        const ${index}* __restrict__ post_idx, const int* __restrict__ delays,
                        const gn_i64* __restrict__ pre_ptr, const ${index}* __restrict__ pre_syn,
                        ${real}* g_target${params})
{
    (void)post_idx; (void)pre_ptr; (void)pre_syn;  // the atomic variant's, same signature
    GN_FOR_EACH_WARP(post, n) {
        const gn_i64 end = row_ptr[post + 1];
        ${real} total = g_target[post];
        bool touched = false;
        for (gn_i64 first = row_ptr[post]; first < end; first += GN_LANES) {
            const gn_i64 s = first + GN_LANE;
            ${real} contribution = (${real})0;
            int event = 0;
            if (s < end) {
                const gn_i64 pre = pre_idx[s];
                if (delays[s] == delay && spikes[pre]) {
                    contribution = ${fn}_element(s, pre, post, step, t_host, dt_host${args});
                    event = 1;
                }
            }
            for (gn_i64 lane = 0; lane < GN_LANES; ++lane) {
                const ${real} value = GN_SHFL(contribution, lane);
                if (GN_SHFL(event, lane)) {
                    total += value;
                    touched = true;
                }
            }
        }
        if (touched && GN_LANE == 0) {
            g_target[post] = total;
        }
    }
}

// Atomic: one warp per pre neuron of this delay's pre-major index (pre_ptr, pre_syn); the
// lanes share its synapses and add with atomicAdd.  Work is proportional to the events,
// but the order of the additions, hence the last bits of g_target, varies from run to run.
GN_KERNEL ${fn}_atomic(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                       const bool* __restrict__ spikes, const gn_i64 delay,
                       const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                       const ${index}* __restrict__ post_idx, const int* __restrict__ delays,
                       const gn_i64* __restrict__ pre_ptr, const ${index}* __restrict__ pre_syn,
                       ${real}* g_target${params})
{
    (void)delay; (void)row_ptr; (void)pre_idx; (void)delays;  // the ordered variant's, same signature
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
