// gpunet kernel template: global_update (equations of the global variables of one model)
// placeholders: fn, model, params, args, body
//
// One thread integrates the equations of the global (`population` / `projection`) variables of
// model ${model}, before the per-element kernel of the same step reads their new values.

GN_HD void ${fn}_element(const gn_i64 step, const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host${params})
{
    GN_FOR_EACH(i, n) {
        ${fn}_element(step, t_host, dt_host${args});
    }
}
