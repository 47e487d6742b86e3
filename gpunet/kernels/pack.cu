// gpunet kernels: gather many small device arrays into one contiguous buffer and scatter back.
//
// A snapshot packs every state array into one device buffer with one launch (device to
// device, so the compute stream never waits for PCIe), then copies that buffer to pinned
// host memory in one transfer.  Segment `k` is `sizes[k]` bytes at address `addresses[k]`
// and at byte `offsets[k]` of the buffer.  One block per segment; its threads copy 8-byte
// words when both sides are 8-byte aligned, bytes otherwise (and for the tail).
// Needs prelude.cuh.

GN_HD void gn_copy_segment(unsigned char* dst, const unsigned char* src, const gn_i64 nbytes,
                           const gn_i64 lane, const gn_i64 lanes)
{
    gn_i64 done = 0;
    if ((((gn_u64)dst | (gn_u64)src) & 7ULL) == 0ULL) {
        const gn_i64 words = nbytes >> 3;
        gn_u64* dst_words = (gn_u64*)dst;
        const gn_u64* src_words = (const gn_u64*)src;
        for (gn_i64 k = lane; k < words; k += lanes) {
            dst_words[k] = src_words[k];
        }
        done = words << 3;
    }
    for (gn_i64 k = done + lane; k < nbytes; k += lanes) {
        dst[k] = src[k];
    }
}

GN_KERNEL gn_pack(const gn_i64 count, const gn_u64* __restrict__ addresses, const gn_i64* __restrict__ offsets,
                  const gn_i64* __restrict__ sizes, unsigned char* buffer)
{
    GN_FOR_EACH_BLOCK(k, count) {
        gn_copy_segment(buffer + offsets[k], (const unsigned char*)addresses[k], sizes[k],
                        GN_BLOCK_LANE, GN_BLOCK_LANES);
    }
}

GN_KERNEL gn_unpack(const gn_i64 count, const gn_u64* __restrict__ addresses, const gn_i64* __restrict__ offsets,
                    const gn_i64* __restrict__ sizes, const unsigned char* buffer)
{
    GN_FOR_EACH_BLOCK(k, count) {
        gn_copy_segment((unsigned char*)addresses[k], buffer + offsets[k], sizes[k],
                        GN_BLOCK_LANE, GN_BLOCK_LANES);
    }
}
