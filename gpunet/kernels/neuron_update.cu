// gpunet kernel template: neuron_update (one neuron model, one precision)
// placeholders: fn, model, params, args, body
//
// One thread per neuron of a population of model ${model}: noise draws, the equations
// (every right-hand side of a run of ODEs from the old values), the reset of conductances
// without an equation, the spike test on the new values, the reset statements, the
// refractory counter and the step of the last spike; the same order as the NumPy path.

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
