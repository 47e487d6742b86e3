// gpunet kernel template: current_injection (one precision, one index type)
// placeholders: fn, real, index
//
// ANNarchy's CurrentInjection: one thread per post-synaptic neuron adds the rates `r` of
// its pre-synaptic neurons (as they stand after the previous step) to its conductance
// `g_target`, one synapse after the other in storage order, as the NumPy path's np.add.at.

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
    const ${index}* row_ptr,
    const ${index}* pre_idx,
    const ${real}* r,
    ${real}* g_target)
{
    (void)step;
    (void)t_host;
    (void)dt_host;
    GN_FOR_EACH(post, n) {
        ${real} g = g_target[post];
        for (gn_i64 s = (gn_i64)row_ptr[post]; s < (gn_i64)row_ptr[post + 1]; ++s) {
            g = g + r[pre_idx[s]];
        }
        g_target[post] = g;
    }
}
