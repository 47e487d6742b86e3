// gpunet kernel template: synapse_update (continuous equations of one synapse model)
// placeholders: fn, model, index, params, args, body
//
// One thread per synapse integrates the continuous equations of synapse model ${model}
// (plasticity rules such as Hebb or Oja) once per step.

GN_HD void ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                         const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                const ${index}* __restrict__ pre_idx, const ${index}* __restrict__ post_idx${params})
{
    GN_FOR_EACH(s, n) {
        ${fn}_element(s, pre_idx[s], post_idx[s], step, t_host, dt_host${args});
    }
}
