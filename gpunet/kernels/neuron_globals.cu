// gpunet kernel template: neuron_globals (one neuron model, one precision)
// placeholders: fn, model, params, args, body
//
// The equations of the global variables of a population of model ${model}, once per step
// (launched with n = 1, before the neuron-wise kernel, which reads their new values):
// population-wide noise draws, then the assignments, in the order of the NumPy path.

GN_HD void ${fn}_element(const gn_i64 i, const gn_i64 step, const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host${params})
{
    GN_FOR_EACH(i, n) {
        ${fn}_element(i, step, t_host, dt_host${args});
    }
}
