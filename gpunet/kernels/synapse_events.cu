// gpunet kernel template: synapse_events (post-synaptic events of one synapse model)
// placeholders: fn, model, index, params, args, body
//
// For every post neuron that spiked in this step, each synapse of its row decays the
// event-driven traces of synapse model ${model} to this event and runs the post_spike
// statements.  One warp per post neuron; synapses are independent of one another.

GN_HD void ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                         const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                const bool* __restrict__ spiked, const ${index}* __restrict__ row_ptr,
                const ${index}* __restrict__ pre_idx${params})
{
    GN_FOR_EACH_WARP(post, n) {
        if (!spiked[post]) {
            continue;
        }
        for (gn_i64 s = row_ptr[post] + GN_LANE; s < row_ptr[post + 1]; s += GN_LANES) {
            ${fn}_element(s, pre_idx[s], post, step, t_host, dt_host${args});
        }
    }
}
