// gpunet kernel template: neuron_merged (the updates of several populations of one neuron model in one launch)
// placeholders: fn, model, table_args, chunk
//
// A step graph's launch for populations of model ${model}: row p of `table` (`width` words) holds population p's
// kernel arguments (its size, then every argument of ${fn} after dt_host: arrays as addresses, integers as
// values); block item k is (row, first neuron) and covers ${chunk} neurons of that population from there.  Each
// neuron runs its own population's element function with its own population's arguments.

GN_KERNEL ${fn}_merged(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                       const gn_u64* __restrict__ table, const gn_i64 width, const gn_i64* __restrict__ items)
{
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_u64* row = table + items[2 * item] * width;
        const gn_i64 first = items[2 * item + 1];
        const gn_i64 end = first + ${chunk} < (gn_i64)row[0] ? first + ${chunk} : (gn_i64)row[0];
        for (gn_i64 i = first + GN_BLOCK_LANE; i < end; i += GN_BLOCK_LANES) {
            ${fn}_element(i, step, t_host, dt_host${table_args});
        }
    }
}
