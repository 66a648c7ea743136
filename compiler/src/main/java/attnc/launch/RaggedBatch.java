package attnc.launch;

import attnc.ir.Expr;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * One serving launch: sequences of their own lengths, queries packed one after another, keys in
 * a paged {@link KvCache}. The sibling of {@link Problem} for batches that are not rectangles.
 *
 * <ul>
 *   <li>{@code q} [totalQ, H, D]: the queries of every sequence, token-major (the layout a
 *       projection of packed tokens leaves); rows (D) contiguous are read in place.</li>
 *   <li>{@code queryStarts} int32 [B + 1]: sequence b owns query rows queryStarts[b] ..
 *       queryStarts[b + 1] − 1, so Nq_b = queryStarts[b + 1] − queryStarts[b] (0 is allowed);
 *       queryStarts[0] = 0, never decreasing, queryStarts[B] = totalQ.</li>
 *   <li>{@code cache}: the keys and values, Nkv_b = kvLengths[b] (0 is allowed).</li>
 *   <li>{@code inputs}, {@code params}: the pattern's, as in {@link Problem}; an input whose shape
 *       names Nq, Nkv or Q0 is given at the batch's largest extent, and sequence b sees its leading
 *       part (see {@link RaggedBinding}).</li>
 *   <li>{@code kvSplits}: how many chunks each sequence's keys are split into, computed apart and
 *       merged by their LSE ({@link Merge}); {@link #AUTO_SPLITS} lets the backend choose. A
 *       schedule, not a meaning: every count gives the unsplit result within rounding.</li>
 * </ul>
 *
 * Each sequence b is a launch of its own: its first query sits at the bottom right of its keys
 * (Q0_b = Nkv_b − Nq_b when Nq_b ≤ Nkv_b, else 0), and inside the pattern {@code Nq}, {@code Nkv}
 * and {@code Q0} are the sequence's, {@code b} is its index and {@code B} the number of sequences.
 */
public record RaggedBatch(Tensor q, Tensor queryStarts, KvCache cache, Map<String, Tensor> inputs, Map<String, Expr> params, int kvSplits) {

    /** {@code kvSplits} value that lets the backend choose the split per launch. */
    public static final int AUTO_SPLITS = 0;
    /** The most chunks a launch may ask for. */
    public static final int MAX_SPLITS = 4096;

    public RaggedBatch {
        inputs = Map.copyOf(inputs);
        params = Map.copyOf(params);
    }

    public RaggedBatch(Tensor q, Tensor queryStarts, KvCache cache, Map<String, Tensor> inputs) {
        this(q, queryStarts, cache, inputs, Map.of(), AUTO_SPLITS);
    }

    /**
     * One query per sequence, the decode step: {@code q} [B, H, D] with row b the query of
     * sequence b (a [B, H, 1, D] tensor viewed without its third dimension also fits).
     */
    public static RaggedBatch decode(Tensor q, KvCache cache, Map<String, Tensor> inputs) {
        Binding.requireRank("q", q, 3, "[B, H, D]");
        int[] starts = new int[q.dim(0) + 1];
        for (int b = 0; b < starts.length; b++) starts[b] = b;
        return new RaggedBatch(q, Tensor.wrap(starts, starts.length), cache, inputs);
    }

    public RaggedBatch withParams(Map<String, Expr> values) {
        return new RaggedBatch(q, queryStarts, cache, inputs, values, kvSplits);
    }

    public RaggedBatch withKvSplits(int splits) {
        return new RaggedBatch(q, queryStarts, cache, inputs, params, splits);
    }
}
