// gpunet kernel template: spike_propagation (pre-synaptic events of one synapse model)
// placeholders: fn, model, real, index, params, args, body, table_args
//
// A step delivers the spikes arriving at it in a fixed number of launches whatever the delays:
// ${fn}_spike_count and ${fn}_spike_list keep, for each row of the pre population's spike ring,
// the list of its spiking ranks (ascending) and their count, made at the first step that reads
// the row: step - lag, lag being the projection's smallest delay (under comm the rows of other
// processes' neurons are complete by then), or from every row after a jump of the step counter
// or a new ring; then
// ${fn}_ordered (or ${fn}_atomic_groups) walks only those lists: its work grows with the
// spikes that arrive, not with the synapses.  `groups` holds per delay value (ascending) its
// delay and the device addresses of its pre-major index: the synapses of pre neuron p with that
// delay are pre_syn[pre_ptr[p]] .. pre_syn[pre_ptr[p + 1] - 1], in storage order (ascending post).
// `work` counts [events x post slices visited, synapses delivered] (tests, benchmarks).
//
// Spikes arrive `delay` steps after they were emitted: for each synapse whose pre neuron
// spiked `delays[s]` steps ago, the event-driven traces of synapse model ${model} decay to
// this event, then its pre_spike statements run; the element function returns what the
// synapse adds to the post neuron's conductance g_target.

GN_HD ${real} ${fn}_element(const gn_i64 s, const gn_i64 pre, const gn_i64 post, const gn_i64 step,
                             const double t_host, const double dt_host${params})
{
${body}
}

#ifndef GN_SPIKE_CHUNK
// Neurons per block item of the spike-list kernels, and the most post neurons of an ordered slice
// (gpunet.codegen.cuda.synapse.SPIKE_CHUNK).
#define GN_SPIKE_CHUNK 256
#endif

// What one block item of a kernel does (a device function all the block's threads run).
#ifndef GN_SLICE_BODY
#if defined(__CUDACC__) && !defined(GN_HOST_KERNELS)
#define GN_SLICE_BODY static __device__ __forceinline__ void
#else
#define GN_SLICE_BODY static inline void
#endif
#endif


// Spikes in chunk c of GN_SPIKE_CHUNK neurons of the row that holds step - lag - k.
GN_SLICE_BODY ${fn}_count_chunk(const gn_i64 k, const gn_i64 c, const gn_i64 step,
                               const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                               const gn_i64 chunks, const gn_i64 lag, gn_i64* __restrict__ chunk_counts)
{
    GN_SHARED gn_u64 total;
    const gn_i64 row = gn_ring_index(step - lag - k, depth);
    const bool* spikes = history + row * pre_size;
    const gn_i64 first = c * GN_SPIKE_CHUNK;
    const gn_i64 stop = first + GN_SPIKE_CHUNK < pre_size ? first + GN_SPIKE_CHUNK : pre_size;
    gn_u64 mine = 0;
    for (gn_i64 i = first + GN_BLOCK_LANE; i < stop; i += GN_BLOCK_LANES) {
        mine += spikes[i] ? 1u : 0u;
    }
    if (GN_BLOCK_LANE == 0) {
        total = 0;
    }
    GN_SYNC();
    gn_atomic_add(&total, mine);
    GN_SYNC();
    if (GN_BLOCK_LANE == 0) {
        chunk_counts[row * chunks + c] = (gn_i64)total;
    }
    GN_SYNC();
}

// The spiking ranks of chunk c of the same row, ascending, from the sum of the counts of the chunks
// before it: lists[row * pre_size + j] for j < counts[row] (written by the row's last chunk).
GN_SLICE_BODY ${fn}_list_chunk(const gn_i64 k, const gn_i64 c, const gn_i64 step,
                              const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                              const gn_i64 chunks, const gn_i64 lag, const gn_i64* __restrict__ chunk_counts,
                              gn_i64* __restrict__ counts, ${index}* __restrict__ lists)
{
    GN_SHARED gn_u64 base;
    const gn_i64 row = gn_ring_index(step - lag - k, depth);
    const bool* spikes = history + row * pre_size;
    ${index}* out = lists + row * pre_size;
    const gn_i64 first = c * GN_SPIKE_CHUNK;
    const gn_i64 stop = first + GN_SPIKE_CHUNK < pre_size ? first + GN_SPIKE_CHUNK : pre_size;
    gn_u64 before = 0;
    for (gn_i64 other = GN_BLOCK_LANE; other < c; other += GN_BLOCK_LANES) {
        before += (gn_u64)chunk_counts[row * chunks + other];
    }
    if (GN_BLOCK_LANE == 0) {
        base = 0;
    }
    GN_SYNC();
    gn_atomic_add(&base, before);
    GN_SYNC();
    gn_i64 position = (gn_i64)base;
#if defined(__CUDACC__) && !defined(GN_HOST_KERNELS)
    // sub-chunks of blockDim.x neurons: a ballot per warp, the warps' counts in order
    __shared__ int warp_counts[32];
    const int warp = (int)(threadIdx.x >> 5);
    const int lane = (int)(threadIdx.x & 31u);
    for (gn_i64 sub = first; sub < stop; sub += GN_BLOCK_LANES) {
        const gn_i64 i = sub + GN_BLOCK_LANE;
        const bool spiked = i < stop && spikes[i];
        const unsigned ballot = __ballot_sync(0xffffffffu, spiked);
        if (lane == 0) {
            warp_counts[warp] = __popc(ballot);
        }
        __syncthreads();
        gn_i64 mine = position + __popc(ballot & ((1u << lane) - 1u));
        gn_i64 all = 0;
        for (int w = 0; w < (int)((blockDim.x + 31u) >> 5); ++w) {
            mine += w < warp ? warp_counts[w] : 0;
            all += warp_counts[w];
        }
        if (spiked) {
            out[mine] = (${index})i;
        }
        position += all;
        __syncthreads();
    }
#else
    for (gn_i64 i = first; i < stop; ++i) {
        if (spikes[i]) {
            out[position++] = (${index})i;
        }
    }
#endif
    if (c == chunks - 1 && GN_BLOCK_LANE == 0) {
        counts[row] = position;
    }
    GN_SYNC();
}

// Spikes per chunk of GN_SPIKE_CHUNK neurons of the rows to list: item k * chunks + c is chunk c
// of the row that holds step - lag - k.
GN_KERNEL ${fn}_spike_count(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                            const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                            const gn_i64 chunks, const gn_i64 lag, gn_i64* __restrict__ chunk_counts)
{
    (void)t_host; (void)dt_host;
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_i64 k = item / chunks;
        ${fn}_count_chunk(k, item - k * chunks, step, history, depth, pre_size, chunks, lag, chunk_counts);
    }
}

// The spiking ranks of the same rows, ascending: lists[row * pre_size + j] for j < counts[row].
// Each chunk writes from the sum of the counts of the chunks before it.
GN_KERNEL ${fn}_spike_list(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                           const bool* __restrict__ history, const gn_i64 depth, const gn_i64 pre_size,
                           const gn_i64 chunks, const gn_i64 lag, const gn_i64* __restrict__ chunk_counts,
                           gn_i64* __restrict__ counts, ${index}* __restrict__ lists)
{
    (void)t_host; (void)dt_host;
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_i64 k = item / chunks;
        ${fn}_list_chunk(k, item - k * chunks, step, history, depth, pre_size, chunks, lag, chunk_counts, counts,
                         lists);
    }
}

// Merged listing: the spike rings of several populations in one launch (one for the counts, one for the
// lists).  Row r of `table` (8 words) holds one ring's history, depth, pre_size, chunks, lag,
// chunk_counts, counts and lists (addresses and values); `items` holds per block item (ring row r, k, c).
GN_KERNEL ${fn}_spike_count_merged(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                                   const gn_u64* __restrict__ table, const gn_i64* __restrict__ items)
{
    (void)t_host; (void)dt_host;
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_u64* ring = table + 8 * items[3 * item];
        ${fn}_count_chunk(items[3 * item + 1], items[3 * item + 2], step, (const bool*)ring[0], (gn_i64)ring[1],
                          (gn_i64)ring[2], (gn_i64)ring[3], (gn_i64)ring[4], (gn_i64*)ring[5]);
    }
}

GN_KERNEL ${fn}_spike_list_merged(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                                  const gn_u64* __restrict__ table, const gn_i64* __restrict__ items)
{
    (void)t_host; (void)dt_host;
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_u64* ring = table + 8 * items[3 * item];
        ${fn}_list_chunk(items[3 * item + 1], items[3 * item + 2], step, (const bool*)ring[0], (gn_i64)ring[1],
                         (gn_i64)ring[2], (gn_i64)ring[3], (gn_i64)ring[4], (const gn_i64*)ring[5],
                         (gn_i64*)ring[6], (${index}*)ring[7]);
    }
}

// First position k in [low, high) of the ascending pre_syn whose synapse is at least `s`.
GN_HD gn_i64 ${fn}_lower_bound(const ${index}* pre_syn, gn_i64 low, gn_i64 high, const gn_i64 s)
{
    while (low < high) {
        const gn_i64 middle = low + (high - low) / 2;
        if ((gn_i64)pre_syn[middle] < s) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

// Ordered: the NumPy path's order of additions to each post neuron's conductance, which is the
// order (delay, pre rank, storage position) of its arriving synapses: np.add.at over the batch of
// delay groups (ascending), each of the spiking pre neurons (ascending), each of their synapses
// (pre-major, storage order).  One block per slice of `slice` (at most GN_SPIKE_CHUNK) post
// neurons walks the arriving events in that order, a tile of events at a time (the events of
// groups whose delay ends the spike lists' counts are numbered across the groups):
//   1. each thread takes one event (delay group g, pre neuron p) and finds by two binary searches
//      the storage positions of p's synapses of delay g that end in the slice (pre_syn is
//      ascending, the slice's synapses are row_ptr[lo] .. row_ptr[hi] - 1);
//   2. a scan numbers these synapses in event order; each thread takes one, runs its element
//      function (synapses are independent) and keeps its post neuron and contribution in shared
//      memory;
//   3. each thread owns one post neuron of the slice and adds the contributions to it in that
//      order into its running sum, written to g_target at the end.
// The work is the arriving events and their synapses (plus reading the groups' counts), never
// the synapses of silent neurons.
// The slice of post neurons lo .. lo + slice - 1 of one projection (a block, all its threads).
GN_SLICE_BODY ${fn}_ordered_slice(const gn_i64 lo, const gn_i64 step, const double t_host, const double dt_host,
                                 const gn_i64 depth, const gn_i64 pre_size, const gn_u64* __restrict__ groups,
                                 const gn_i64 n_groups, const gn_i64* __restrict__ counts,
                                 const ${index}* __restrict__ lists, const ${index}* __restrict__ row_ptr,
                                 const ${index}* __restrict__ post_idx, const gn_i64 slice, const gn_i64 post_size,
                                 gn_u64* __restrict__ work, ${real}* g_target${params})
{
    GN_SHARED gn_i64 group_end[GN_BLOCK_TILE];    // events of the groups of a batch, inclusive prefix
    GN_SHARED gn_i64 event_pre[GN_BLOCK_TILE];    // the pre neuron of each event of a tile
    GN_SHARED gn_i64 event_group[GN_BLOCK_TILE];  // its delay group
    GN_SHARED gn_i64 event_low[GN_BLOCK_TILE];    // its first storage position in the slice
    GN_SHARED gn_i64 event_end[GN_BLOCK_TILE];    // synapses in the slice, inclusive prefix over the tile
    GN_SHARED int entry_post[GN_BLOCK_TILE];      // a round's synapses: post neuron (from lo)
    GN_SHARED ${real} entry_value[GN_BLOCK_TILE]; //                    and contribution
    GN_SHARED ${real} sums[GN_SPIKE_CHUNK];       // the slice's conductances
    const gn_i64 lanes = GN_BLOCK_LANES;
    const gn_i64 lane = GN_BLOCK_LANE;
    {
        const gn_i64 hi = lo + slice < post_size ? lo + slice : post_size;
        const gn_i64 width = hi - lo;
        const gn_i64 s_lo = (gn_i64)row_ptr[lo];
        const gn_i64 s_hi = (gn_i64)row_ptr[hi];
        bool loaded = false;
        gn_u64 visited = 0;
        gn_u64 delivered = 0;
        for (gn_i64 batch = 0; batch < n_groups; batch += lanes) {  // up to `lanes` delay groups at a time
            const gn_i64 batch_groups = n_groups - batch < lanes ? n_groups - batch : lanes;
            gn_i64 mine = 0;
            if (lane < batch_groups) {
                mine = counts[gn_ring_index(step - (gn_i64)groups[3 * (batch + lane)], depth)];
            }
            group_end[lane] = mine;
            GN_SYNC();
            for (gn_i64 offset = 1; offset < lanes; offset <<= 1) {
                const gn_i64 add = lane >= offset ? group_end[lane - offset] : 0;
                GN_SYNC();
                group_end[lane] += add;
                GN_SYNC();
            }
            const gn_i64 arriving = group_end[batch_groups - 1];
            for (gn_i64 tile = 0; tile < arriving; tile += lanes) {
                const gn_i64 events = arriving - tile < lanes ? arriving - tile : lanes;
                gn_i64 found = 0;
                if (lane < events) {  // 1. this thread's event and its synapses in the slice
                    const gn_i64 e = tile + lane;
                    gn_i64 low = 0;
                    gn_i64 high = batch_groups - 1;
                    while (low < high) {  // its group: the first whose prefix passes e
                        const gn_i64 middle = low + (high - low) / 2;
                        if (group_end[middle] > e) {
                            high = middle;
                        } else {
                            low = middle + 1;
                        }
                    }
                    const gn_i64 g = batch + low;
                    const gn_i64 within = e - (low > 0 ? group_end[low - 1] : 0);
                    const gn_i64 row = gn_ring_index(step - (gn_i64)groups[3 * g], depth);
                    const gn_i64* pre_ptr = (const gn_i64*)groups[3 * g + 1];
                    const ${index}* pre_syn = (const ${index}*)groups[3 * g + 2];
                    const gn_i64 pre = (gn_i64)lists[row * pre_size + within];
                    const gn_i64 first = ${fn}_lower_bound(pre_syn, pre_ptr[pre], pre_ptr[pre + 1], s_lo);
                    found = ${fn}_lower_bound(pre_syn, first, pre_ptr[pre + 1], s_hi) - first;
                    event_pre[lane] = pre;
                    event_group[lane] = g;
                    event_low[lane] = first;
                }
                event_end[lane] = found;
                GN_SYNC();
                for (gn_i64 offset = 1; offset < lanes; offset <<= 1) {
                    const gn_i64 add = lane >= offset ? event_end[lane - offset] : 0;
                    GN_SYNC();
                    event_end[lane] += add;
                    GN_SYNC();
                }
                const gn_i64 total = event_end[events - 1];
                visited += (gn_u64)events;
                delivered += (gn_u64)total;
                if (total > 0 && !loaded) {
                    for (gn_i64 q = lane; q < width; q += lanes) {
                        sums[q] = g_target[lo + q];
                    }
                    loaded = true;
                }
                for (gn_i64 round = 0; round < total; round += lanes) {
                    const gn_i64 entries = total - round < lanes ? total - round : lanes;
                    if (lane < entries) {  // 2. one synapse per thread, numbered in event order
                        const gn_i64 j = round + lane;
                        gn_i64 low = 0;
                        gn_i64 high = events - 1;
                        while (low < high) {
                            const gn_i64 middle = low + (high - low) / 2;
                            if (event_end[middle] > j) {
                                high = middle;
                            } else {
                                low = middle + 1;
                            }
                        }
                        const ${index}* pre_syn = (const ${index}*)groups[3 * event_group[low] + 2];
                        const gn_i64 s = (gn_i64)pre_syn[event_low[low] + j - (low > 0 ? event_end[low - 1] : 0)];
                        const gn_i64 post = (gn_i64)post_idx[s];
                        entry_post[lane] = (int)(post - lo);
                        entry_value[lane] = ${fn}_element(s, event_pre[low], post, step, t_host, dt_host${args});
                    }
                    GN_SYNC();
                    for (gn_i64 q = lane; q < width; q += lanes) {  // 3. each post neuron's sum, in order
                        ${real} sum = sums[q];
                        for (gn_i64 j = 0; j < entries; ++j) {
                            if (entry_post[j] == (int)q) {
                                sum += entry_value[j];
                            }
                        }
                        sums[q] = sum;
                    }
                    GN_SYNC();
                }
                GN_SYNC();  // the next tile overwrites the events
            }
            GN_SYNC();  // the next batch overwrites group_end
        }
        if (loaded) {
            for (gn_i64 q = lane; q < width; q += lanes) {
                g_target[lo + q] = sums[q];
            }
        }
        if (lane == 0 && visited != 0) {
            gn_atomic_add(&work[0], visited);
            gn_atomic_add(&work[1], delivered);
        }
        GN_SYNC();  // the next slice reuses the shared tables
    }
}

GN_KERNEL ${fn}_ordered(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                        const gn_i64 depth, const gn_i64 pre_size, const gn_u64* __restrict__ groups,
                        const gn_i64 n_groups, const gn_i64* __restrict__ counts,
                        const ${index}* __restrict__ lists, const ${index}* __restrict__ row_ptr,
                        const ${index}* __restrict__ post_idx, const gn_i64 slice, const gn_i64 post_size,
                        gn_u64* __restrict__ work, ${real}* g_target${params})
{
    GN_FOR_EACH_BLOCK(part, n) {
        ${fn}_ordered_slice(part * slice, step, t_host, dt_host, depth, pre_size, groups, n_groups, counts, lists,
                            row_ptr, post_idx, slice, post_size, work, g_target${args});
    }
}

// Merged: the ordered propagation of several projections of this synapse model in one launch.  Row p of
// `table` (`width` words) holds projection p's arguments of ${fn}_ordered after dt_host, in order (a
// pointer as its address, an integer as its value); `items` holds per block item (first row, end row,
// first post neuron of the slice): the block adds, to its slice, the projections first .. end - 1 onto
// one post population and target in that order, the network's order (the NumPy path's order of additions
// to a conductance that several projections add to).
GN_KERNEL ${fn}_merged(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                       const gn_u64* __restrict__ table, const gn_i64 width, const gn_i64* __restrict__ items)
{
    GN_FOR_EACH_BLOCK(item, n) {
        const gn_i64 lo = items[3 * item + 2];
        for (gn_i64 p = items[3 * item]; p < items[3 * item + 1]; ++p) {
            const gn_u64* row = table + p * width;
            ${fn}_ordered_slice(lo, step, t_host, dt_host${table_args});
        }
    }
}

// Atomic: one launch per delay value, with `spikes` the ring's row for step - delay.  One warp per
// pre neuron of this delay's pre-major index (pre_ptr, pre_syn); the lanes share its synapses and
// add with atomicAdd.  Work is proportional to the events, but the order of the additions, hence the last bits of g_target, varies from run to run.
GN_KERNEL ${fn}_atomic(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                       const bool* __restrict__ spikes, const gn_i64 delay,
                       const ${index}* __restrict__ row_ptr, const ${index}* __restrict__ pre_idx,
                       const ${index}* __restrict__ post_idx, const int* __restrict__ delays,
                       const gn_i64* __restrict__ pre_ptr, const ${index}* __restrict__ pre_syn,
                       ${real}* g_target${params})
{
    (void)delay; (void)row_ptr; (void)pre_idx; (void)delays;  // not used by this variant
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

// Atomic, one launch per step whatever the delays: the warps share the arriving events (the spike
// lists of each delay group, ascending delay); the lanes of a warp share the event's synapses and
// add with atomicAdd.  Run sequentially (a host build) the additions come in the NumPy path's
// order; on a GPU their order, hence the last bits of g_target, varies from run to run.
GN_KERNEL ${fn}_atomic_groups(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host,
                              const gn_i64 depth, const gn_i64 pre_size, const gn_u64* __restrict__ groups,
                              const gn_i64 n_groups, const gn_i64* __restrict__ counts,
                              const ${index}* __restrict__ lists, const ${index}* __restrict__ post_idx,
                              gn_u64* __restrict__ work, ${real}* g_target${params})
{
#if defined(__CUDACC__) && !defined(GN_HOST_KERNELS)
    const gn_i64 workers = n;
#else
    const gn_i64 workers = 1;  // run sequentially, one worker takes the events in order: NumPy's additions
#endif
    GN_FOR_EACH_WARP(worker, workers) {
        gn_u64 visited = 0;
        gn_u64 delivered = 0;
        for (gn_i64 g = 0; g < n_groups; ++g) {
            const gn_i64 row = gn_ring_index(step - (gn_i64)groups[3 * g], depth);
            const gn_i64* pre_ptr = (const gn_i64*)groups[3 * g + 1];
            const ${index}* pre_syn = (const ${index}*)groups[3 * g + 2];
            const gn_i64 arriving = counts[row];
            for (gn_i64 e = worker; e < arriving; e += workers) {
                const gn_i64 pre = (gn_i64)lists[row * pre_size + e];
                visited += 1;
                delivered += (gn_u64)(pre_ptr[pre + 1] - pre_ptr[pre]);
                for (gn_i64 k = pre_ptr[pre] + GN_LANE; k < pre_ptr[pre + 1]; k += GN_LANES) {
                    const gn_i64 s = pre_syn[k];
                    const gn_i64 post = post_idx[s];
                    gn_atomic_add(&g_target[post], ${fn}_element(s, pre, post, step, t_host, dt_host${args}));
                }
            }
        }
        if (GN_LANE == 0 && visited != 0) {
            gn_atomic_add(&work[0], visited);
            gn_atomic_add(&work[1], delivered);
        }
    }
}
