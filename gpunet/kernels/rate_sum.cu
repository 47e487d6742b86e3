// gpunet kernel template: rate_sum (weighted input sums of one rate-coded synapse model)
// placeholders: fn, model, real, index, from_zero, params, args, body
//
// CSR row kernel: one warp per post neuron; its lanes evaluate the psp of 32 synapses of the
// row (synapse model ${model}) at a time, then every lane adds them to sum(target) in storage
// order.  `from_zero` picks the summation order of the NumPy path: a sparse matrix-vector
// product sums a row from zero and then adds the row's total (psp = w * pre.r), a
// scatter-add adds each synapse to the running total.  Either way the result is bitwise
// the NumPy path's.

GN_HD ${real} ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                             const double t_host, const double dt_host${params})
{
${body}
}

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                ${real}* total${params})
{
    const bool from_zero = ${from_zero};
    GN_FOR_EACH_WARP(post, n) {
        const gn_i64 end = row_ptr[post + 1];
        ${real} sum = from_zero ? (${real})0 : total[post];
        for (gn_i64 first = row_ptr[post]; first < end; first += GN_LANES) {
            const gn_i64 s = first + GN_LANE;
            const ${real} psp = s < end ? ${fn}_element(s, pre_idx[s], post, step, t_host, dt_host${args})
                                        : (${real})0;
            for (gn_i64 lane = 0; lane < GN_LANES; ++lane) {
                const ${real} value = GN_SHFL(psp, lane);
                if (first + lane < end) {
                    sum += value;
                }
            }
        }
        if (GN_LANE == 0) {
            total[post] = from_zero ? total[post] + sum : sum;
        }
    }
}
