// gpunet kernel template: semiglobal_update (equations of the postsynaptic variables of one synapse model)
// placeholders: fn, model, params, args, body
//
// One thread per neuron of the post-synaptic population integrates the semiglobal (ANNarchy's
// `postsynaptic`) equations of synapse model ${model}: one value per post neuron, updated once per
// step before the synapse-wise equations (which then read the new value at their post rank).

GN_HD void ${fn}_element(const gn_i64 post, const gn_i64 step, const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host${params})
{
    GN_FOR_EACH(post, n) {
        ${fn}_element(post, step, t_host, dt_host${args});
    }
}
