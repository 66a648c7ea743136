package attnc.gen;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Random ragged launches over paged caches, for any module's tests: up to 4 sequences, each with
 * its own query and key counts (0 included, but no sequence without keys when an input's shape
 * names Nkv), pages of a random power-of-two size placed at random in a pool larger than needed,
 * sometimes shared (a later sequence reuses an earlier one's first pages: a common prefix stored
 * once), table entries past a sequence's last page set to ids outside the pool (never read), a
 * random split count, and every input of the pattern at the batch's largest extent.
 */
public final class RaggedBatches {
    private RaggedBatches() {}

    /** The largest batch, query and key counts, and the page sizes and head dims drawn from. */
    public record Limits(int maxBatch, int maxQueries, int maxKeys, int[] pageSizes, int[] headDims) {
        public static final Limits SMALL = new Limits(4, 4, 12, new int[] {1, 2, 4, 8, 256}, new int[] {1, 2, 3, 4});
    }

    public static RaggedBatch batch(Pattern pattern, Random random) {
        return batch(pattern, random, Limits.SMALL, dtype -> dtype);
    }

    /**
     * A random batch; {@code storage} may replace the float32/bfloat16 choice of q, k and v (e.g.
     * with float16). Inputs are filled by {@link RandomProblems#tensor}.
     */
    public static RaggedBatch batch(Pattern pattern, Random random, Limits limits, Function<DType, DType> storage) {
        int batch = random.nextInt(limits.maxBatch() + 1), kvHeads = 1 + random.nextInt(2), heads = kvHeads * (1 + random.nextInt(2));
        int headDim = limits.headDims()[random.nextInt(limits.headDims().length)], valueDim = limits.headDims()[random.nextInt(limits.headDims().length)];
        int page = limits.pageSizes()[random.nextInt(limits.pageSizes().length)];
        DType dtype = storage.apply(random.nextInt(4) == 0 ? DType.BFLOAT16 : DType.FLOAT32);
        int[] nq = new int[batch], nkv = new int[batch], starts = new int[batch + 1];
        // A sequence without keys sees an input shaped by Nkv as empty: a load of it outside the mask
        // (in the output, say) is refused, as it is in a dense launch with Nkv = 0.
        boolean keysShapeInputs = pattern.inputs().stream().anyMatch(i -> i.shape().stream().anyMatch(
                d -> ExprTree.any(d, e -> e instanceof Expr.SizeRef(String n) && n.equals("Nkv"))));
        for (int b = 0; b < batch; b++) {
            nq[b] = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(limits.maxQueries());
            nkv[b] = random.nextInt(5) == 0 && !keysShapeInputs ? 0 : 1 + random.nextInt(limits.maxKeys());
            starts[b + 1] = starts[b] + nq[b];
        }
        PageTable table = PageTable.random(nkv, page, random);
        Tensor k = Tensor.random(dtype, new int[] {table.pages(), page, kvHeads, headDim}, random);
        Tensor v = Tensor.random(dtype, new int[] {table.pages(), page, kvHeads, valueDim}, random);
        KvCache cache = new KvCache(k, v, Tensor.wrap(table.entries(), batch, table.maxPages()), Tensor.wrap(nkv.clone(), batch));
        Tensor q = Tensor.random(dtype, new int[] {starts[batch], heads, headDim}, random);
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", batch, "H", heads, "Hkv", kvHeads, "D", headDim, "Dv", valueDim,
                "Nq", max(nq), "Nkv", max(nkv)));
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), RandomProblems.tensor(input, sizes, random));
        Map<String, Expr> params = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty() || random.nextBoolean()) params.put(p.name(), RandomProblems.paramValue(p, random));
        }
        return new RaggedBatch(q, Tensor.wrap(starts, batch + 1), cache, inputs, params, random.nextInt(6));
    }

    /**
     * Sequence b as a dense problem, built apart from the code under test: q [B, H, Nq, D] and
     * k, v [B, Hkv, Nkv, width] copied row by row from the packed queries and the pools (every
     * batch index the same rows), the sequence's bottom-right offset, the given inputs.
     */
    public static Problem dense(RaggedBatch batch, int b, Map<String, Tensor> inputs) {
        int[] starts = batch.queryStarts().ints(), lengths = batch.cache().kvLengths().ints();
        Tensor q = batch.q();
        int sequences = lengths.length, heads = q.dim(1), d = q.dim(2), nq = starts[b + 1] - starts[b], nkv = lengths[b];
        float[] packed = q.floats(), rows = new float[sequences * heads * nq * d];
        for (int s = 0; s < sequences; s++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) System.arraycopy(packed, ((starts[b] + i) * heads + h) * d, rows, ((s * heads + h) * nq + i) * d, d);
            }
        }
        return new Problem(Tensor.wrap(rows, sequences, heads, nq, d), keys(batch, batch.cache().k(), b), keys(batch, batch.cache().v(), b),
                inputs, batch.params(), Math.max(0, nkv - nq));
    }

    private static Tensor keys(RaggedBatch batch, Tensor pool, int b) {
        int[] table = batch.cache().blockTable().ints(), lengths = batch.cache().kvLengths().ints();
        int sequences = lengths.length, maxPages = batch.cache().blockTable().dim(1), nkv = lengths[b];
        int page = pool.dim(1), kvHeads = pool.dim(2), width = pool.dim(3);
        float[] values = pool.floats(), rows = new float[sequences * kvHeads * nkv * width];
        for (int s = 0; s < sequences; s++) {
            for (int hk = 0; hk < kvHeads; hk++) {
                for (int kv = 0; kv < nkv; kv++) {
                    int from = ((table[b * maxPages + kv / page] * page + kv % page) * kvHeads + hk) * width;
                    System.arraycopy(values, from, rows, ((s * kvHeads + hk) * nkv + kv) * width, width);
                }
            }
        }
        return Tensor.wrap(rows, sequences, kvHeads, nkv, width);
    }

    private static int max(int[] values) {
        int m = 0;
        for (int x : values) m = Math.max(m, x);
        return m;
    }

    /**
     * A block table for sequences of the given lengths: fresh pages in a shuffled pool with spare
     * pages, a later sequence sometimes starting with an earlier one's pages, and unread entries
     * set to ids outside the pool.
     */
    public record PageTable(int[] entries, int maxPages, int pages) {
        public static PageTable random(int[] lengths, int page, Random random) {
            int batch = lengths.length, maxPages = 0, needed = 0;
            int[] used = new int[batch];
            for (int b = 0; b < batch; b++) {
                used[b] = (lengths[b] + page - 1) / page;
                maxPages = Math.max(maxPages, used[b]);
                needed += used[b];
            }
            maxPages += random.nextInt(3);
            int pages = needed + 1 + random.nextInt(3);
            List<Integer> free = new ArrayList<>();
            for (int p = 0; p < pages; p++) free.add(p);
            Collections.shuffle(free, random);
            int[] entries = new int[batch * maxPages];
            for (int b = 0; b < batch; b++) {
                int shared = 0;
                if (b > 0 && random.nextInt(3) == 0) {
                    int donor = random.nextInt(b);
                    shared = Math.min(used[b], used[donor]) == 0 ? 0 : random.nextInt(Math.min(used[b], used[donor]) + 1);
                    System.arraycopy(entries, donor * maxPages, entries, b * maxPages, shared);
                }
                for (int j = shared; j < used[b]; j++) entries[b * maxPages + j] = free.removeLast();
                for (int j = used[b]; j < maxPages; j++) entries[b * maxPages + j] = random.nextBoolean() ? -1 : pages + random.nextInt(1000);
            }
            return new PageTable(entries, maxPages, pages);
        }
    }
}
