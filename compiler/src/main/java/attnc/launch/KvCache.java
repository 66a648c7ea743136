package attnc.launch;

import attnc.ir.DType;
import attnc.tensor.Tensor;

/**
 * A paged KV cache as one launch sees it: K and V in pools of pages, and which pages hold the
 * keys of each sequence.
 *
 * <ul>
 *   <li>{@code k} [P, page, Hkv, D] and {@code v} [P, page, Hkv, Dv]: P pages of {@code page}
 *       consecutive positions each; the page size is the pools' second dimension, a power of two
 *       from 1 to 256. Any float dtype and any strides.</li>
 *   <li>{@code blockTable} int32 [B, maxPages]: key position {@code kv} of sequence {@code b} is
 *       slot {@code kv % page} of page {@code blockTable[b, kv / page]}. Only the first
 *       ⌈kvLengths[b] / page⌉ entries of a row are read (the rest may hold anything); several
 *       sequences may name the same page (a prompt prefix stored once).</li>
 *   <li>{@code kvLengths} int32 [B]: the keys of each sequence, at most maxPages · page.</li>
 * </ul>
 *
 * The cache is a view: nothing is copied, and a kernel reads only the pages the table names.
 * Checked against the queries by {@link RaggedBinding#of}.
 */
public record KvCache(Tensor k, Tensor v, Tensor blockTable, Tensor kvLengths) {

    /** Positions per page: the pools' second dimension. */
    public int pageSize() { return k.dim(1); }

    /** Sequences: the length of {@code kvLengths}. */
    public int batch() { return kvLengths.dim(0); }

    /**
     * Sequences stored one after another, as variable-length ("varlen") attention packs them:
     * {@code k} [totalKv, Hkv, D], {@code v} [totalKv, Hkv, Dv] and {@code kvStarts} int32 [B + 1],
     * sequence b owning rows kvStarts[b] .. kvStarts[b + 1] − 1. Seen as pools of one-position
     * pages (views of the same memory) with a block table that lists each sequence's rows in
     * order; the table, [B, longest sequence] ints, is the only allocation.
     */
    public static KvCache packed(Tensor k, Tensor v, Tensor kvStarts) {
        Binding.requireRank("k", k, 3, "[totalKv, Hkv, D]");
        Binding.requireRank("v", v, 3, "[totalKv, Hkv, Dv]");
        Binding.requireRank("kvStarts", kvStarts, 1, "[B + 1]");
        if (kvStarts.dtype() != DType.INT32) throw new ShapeException("kvStarts: expected dtype int32, got " + kvStarts.dtype());
        if (kvStarts.dim(0) == 0) throw new ShapeException("kvStarts: expected [B + 1] offsets (at least one, 0), got shape []");
        int[] starts = kvStarts.ints();
        int batch = starts.length - 1;
        RaggedBinding.requireOffsets("kvStarts", starts, k.dim(0), "k's dimension 0, totalKv");
        int longest = 0;
        for (int b = 0; b < batch; b++) longest = Math.max(longest, starts[b + 1] - starts[b]);
        int[] table = new int[Math.toIntExact(Memory.elements("the block table [B, longest sequence]", batch, longest))];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            lengths[b] = starts[b + 1] - starts[b];
            for (int j = 0; j < lengths[b]; j++) table[b * longest + j] = starts[b] + j;
        }
        return new KvCache(onePositionPages(k), onePositionPages(v), Tensor.wrap(table, batch, longest), Tensor.wrap(lengths, batch));
    }

    /** [N, Hkv, D] seen as [N, 1, Hkv, D]. */
    private static Tensor onePositionPages(Tensor rows) {
        return rows.view(new int[] {rows.dim(0), 1, rows.dim(1), rows.dim(2)},
                new long[] {rows.stride(0), rows.stride(0), rows.stride(1), rows.stride(2)}, rows.offset());
    }
}
