package attnc.ptx.emit;

/**
 * How a forward kernel serves a serving launch: decoding, where a few queries meet a long KV cache
 * and a launch of B·H query blocks would leave most of the GPU idle and most of each block's rows
 * empty, and prefill over a ragged batch ({@link #RAGGED}).
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
    SPLIT_PACKED_PAGED,
    /**
     * Prefill over a ragged batch, no split: block x runs entry x of a host-built work list
     * (sequence b, head h, query block, offset of its tile list), longest lists first, so the
     * sequences of a batch share one grid; the queries, outputs and LSE are packed token-major
     * ([totalQ, H, ·], sequence b's rows from query_starts[b]); K and V are read through the block
     * table as {@link #SPLIT_PAGED}; Nq, Nkv and Q0 are the sequence's own; an input whose shape
     * names one of them is read at the sequence's offset in input_offsets (a copy in its own sizes).
     */
    RAGGED;

    public boolean splits() { return this != NONE && this != RAGGED; }

    public boolean packs() { return this == SPLIT_PACKED || this == SPLIT_PACKED_PAGED; }

    public boolean pages() { return this == SPLIT_PAGED || this == SPLIT_PACKED_PAGED || this == RAGGED; }

    public boolean ragged() { return this == RAGGED; }

    /** This mode reading its keys through a block table. */
    public Decode paged() { return packs() ? SPLIT_PACKED_PAGED : SPLIT_PAGED; }
}
