package attnc.ptx.emit;

/**
 * How a forward kernel serves decoding, where a few queries meet a long KV cache and a launch of
 * B·H query blocks would leave most of the GPU idle and most of each block's rows empty.
 */
public enum Decode {
    /** The ordinary kernel: one block per query block, the finished output. */
    NONE,
    /**
     * Split-KV: grid z splits each block's tile list into chunks; each block writes its chunk's
     * partial output (normalised by its own row sums, no sink, no output transform) and LSE into
     * slice z of the partial buffers, which the merge entry ({@link MergeEmitter}) combines.
     */
    SPLIT,
    /**
     * Split-KV with the query heads of a GQA group packed into one block's rows (row r is query
     * r % Nq of head hk·group + r / Nq), so K and V are read once per kv head: for patterns whose
     * mask and score do not depend on the head.
     */
    SPLIT_PACKED,
    /**
     * {@link #SPLIT} over a paged KV cache: K and V rows read from pools [P, page, Hkv, ·] through
     * a block table, each sequence with its own number of keys (its row of kv_lengths) and its
     * queries at the bottom right of them.
     */
    SPLIT_PAGED,
    /** {@link #SPLIT_PACKED} over a paged KV cache, as {@link #SPLIT_PAGED}. */
    SPLIT_PACKED_PAGED;

    public boolean splits() { return this != NONE; }

    public boolean packs() { return this == SPLIT_PACKED || this == SPLIT_PACKED_PAGED; }

    public boolean pages() { return this == SPLIT_PAGED || this == SPLIT_PACKED_PAGED; }

    /** This mode reading its keys through a block table. */
    public Decode paged() { return packs() ? SPLIT_PACKED_PAGED : SPLIT_PAGED; }
}
