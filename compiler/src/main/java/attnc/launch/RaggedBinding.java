package attnc.launch;

import attnc.analysis.IndexRanges;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link RaggedBatch} checked against a pattern, before any work: every mismatch is one
 * {@link ShapeException} naming what was expected and what came (ranks, dtypes, the pools'
 * agreement with the queries, the page size, offsets that never decrease, lengths within the
 * table, every page id a sequence reads inside the pool, the split count, inputs, params, and the
 * index ranges of every input load, per sequence).
 *
 * <p>Each sequence gets a {@link Binding} of its own, the one a dense launch of that sequence
 * would have: {@code Nq}, {@code Nkv} and {@code Q0} are the sequence's, the other sizes the
 * batch's ({@code B} counts the sequences). An input whose declared shape names Nq, Nkv or Q0
 * cannot have that shape for every sequence at once, so it is given at the largest extent any
 * sequence needs (its declared shape evaluated per sequence, the largest of each dimension), and
 * each sequence sees the leading part of it that its own sizes declare: a view, nothing copied.
 * With those views, sequence b of a ragged launch is exactly the dense launch of that sequence at
 * batch index b.
 *
 * @param blockTable the table's entries, row-major [B, maxPages]
 */
public record RaggedBinding(int heads, int kvHeads, int headDim, int valueDim, int pageSize, int pages, int totalQueries,
                            int maxPages, int[] blockTable, List<Sequence> sequences, int kvSplits) {

    /** The standard sizes that differ between the sequences of a batch. */
    static final Set<String> PER_SEQUENCE = Set.of("Nq", "Nkv", "Q0");

    /**
     * One sequence: its index b, its first row in the packed queries, its dense binding and the
     * pattern's inputs as it sees them.
     */
    public record Sequence(int index, int firstQuery, Binding binding, Map<String, Tensor> inputs) {
        public int queries() { return binding.size("Nq"); }
        public int keys() { return binding.size("Nkv"); }
        public int queryOffset() { return binding.queryOffset(); }
    }

    public int batch() { return sequences.size(); }

    /** The pool page that holds key position {@code kv} of sequence {@code b}. */
    public int page(int b, int kv) { return blockTable[b * maxPages + kv / pageSize]; }

    /**
     * Rows [from, to) of one KV head of sequence {@code b} read from a pool ([P, page, Hkv, width],
     * the cache's k or v) through the block table, as float32 values [to − from, width].
     */
    public float[] gather(Tensor pool, int b, int kvHead, int from, int to) {
        int width = pool.dim(3);
        float[] rows = new float[Math.toIntExact(Memory.elements("a sequence's gathered keys", to - from, width))];
        for (int kv = from; kv < to; kv++) {
            int base = ((page(b, kv) * pageSize + kv % pageSize) * kvHeads + kvHead) * width;
            for (int d = 0; d < width; d++) rows[(kv - from) * width + d] = (float) pool.getDouble(base + d);
        }
        return rows;
    }

    /** A partial fit to finish this launch: [totalQ, H, Dv], with an LSE exactly when the pattern is softmax. */
    public void requireMerged(Pattern pattern, Partial merged) {
        if (merged == null) throw new ShapeException("partial: missing; expected the merged Partial of this launch");
        int[] shape = {totalQueries, heads, valueDim};
        if (!Arrays.equals(merged.out().shape(), shape)) {
            throw new ShapeException("partial out: expected shape " + Arrays.toString(shape) + " [totalQ, H, Dv], got " + merged.out().shapeText());
        }
        boolean softmax = pattern.norm() instanceof Norm.Softmax;
        if (softmax != (merged.lse() != null)) {
            throw new ShapeException("partial lse: pattern '" + pattern.name() + "' is " + (softmax ? "softmax; expected an LSE [totalQ, H], got none"
                    : "not softmax, so its partials are sums; expected no LSE (null)"));
        }
    }

    public static RaggedBinding of(Pattern pattern, RaggedBatch batch) {
        if (batch == null) throw new ShapeException("batch: missing; expected a RaggedBatch");
        KvCache cache = batch.cache();
        if (cache == null) throw new ShapeException("cache: missing; expected a KvCache (pools, block table, KV lengths)");
        Tensor q = batch.q(), k = cache.k(), v = cache.v();
        Binding.requireRank("q", q, 3, "[totalQ, H, D]");
        Binding.requireRank("cache.k", k, 4, "[P, page, Hkv, D]");
        Binding.requireRank("cache.v", v, 4, "[P, page, Hkv, Dv]");
        Binding.requireRank("cache.blockTable", cache.blockTable(), 2, "[B, maxPages]");
        Binding.requireRank("cache.kvLengths", cache.kvLengths(), 1, "[B]");
        Binding.requireRank("queryStarts", batch.queryStarts(), 1, "[B + 1]");
        requireFloat("q", q);
        requireFloat("cache.k", k);
        requireFloat("cache.v", v);
        requireInt("cache.blockTable", cache.blockTable());
        requireInt("cache.kvLengths", cache.kvLengths());
        requireInt("queryStarts", batch.queryStarts());
        int pages = k.dim(0), page = k.dim(1), kvHeads = k.dim(2), headDim = q.dim(2), heads = q.dim(1);
        if (page < 1 || page > 256 || Integer.bitCount(page) != 1) {
            throw new ShapeException("cache.k: page size " + page + " (dimension 1 of " + k.shapeText() + " [P, page, Hkv, D]) must be a power of two from 1 to 256");
        }
        if (k.dim(3) != headDim) {
            throw new ShapeException("cache.k: expected head dim D = " + headDim + " (q " + q.shapeText() + " [totalQ, H, D]) in " + k.shapeText() + " [P, page, Hkv, D], got " + k.dim(3));
        }
        int[] expectedV = {pages, page, kvHeads, v.dim(3)};
        if (!Arrays.equals(v.shape(), expectedV)) {
            throw new ShapeException("cache.v: expected shape " + Arrays.toString(expectedV) + " [P, page, Hkv, Dv] to match cache.k " + k.shapeText() + ", got " + v.shapeText());
        }
        if (kvHeads == 0 || heads % kvHeads != 0) throw new ShapeException("heads: H = " + heads + " must be a multiple of Hkv = " + kvHeads + " (GQA/MQA)");
        int batchSize = cache.kvLengths().dim(0), maxPages = cache.blockTable().dim(1);
        if (cache.blockTable().dim(0) != batchSize) {
            throw new ShapeException("cache.blockTable: expected " + batchSize + " rows [B, maxPages] (B = " + batchSize + " sequences in cache.kvLengths), got " + cache.blockTable().shapeText());
        }
        if (batch.queryStarts().dim(0) != batchSize + 1) {
            throw new ShapeException("queryStarts: expected shape [" + (batchSize + 1) + "] [B + 1] (B = " + batchSize + " sequences in cache.kvLengths), got " + batch.queryStarts().shapeText());
        }
        int[] starts = batch.queryStarts().ints(), lengths = cache.kvLengths().ints(), table = cache.blockTable().ints();
        requireOffsets("queryStarts", starts, q.dim(0), "q's dimension 0, totalQ");
        requirePages(starts.length - 1, lengths, table, maxPages, page, pages);
        if (batch.kvSplits() < 0 || batch.kvSplits() > RaggedBatch.MAX_SPLITS) {
            throw new ShapeException("kvSplits = " + batch.kvSplits() + "; expected " + RaggedBatch.AUTO_SPLITS + " (the backend chooses) or a count from 1 to " + RaggedBatch.MAX_SPLITS);
        }
        Binding.requireDeclared(pattern, batch.inputs());
        Map<String, Expr> params = Binding.params(pattern, batch.params());
        long outputs = Memory.elements("the output [totalQ, H, Dv]", q.dim(0), heads, v.dim(3));
        Memory.require(4 * (outputs + (long) q.dim(0) * heads), "output " + Memory.human(4 * outputs) + ", lse " + Memory.human(4L * q.dim(0) * heads));

        Map<String, Integer> shared = new LinkedHashMap<>(Map.of("B", batchSize, "H", heads, "Hkv", kvHeads, "D", headDim, "Dv", v.dim(3)));
        List<Map<String, Integer>> sizes = new ArrayList<>();
        for (int b = 0; b < batchSize; b++) {
            int nq = starts[b + 1] - starts[b], nkv = lengths[b];
            Map<String, Integer> own = new LinkedHashMap<>(shared);
            own.putAll(Map.of("Nq", nq, "Nkv", nkv, "Q0", Math.max(0, nkv - nq)));
            sizes.add(own);
        }
        Map<String, List<Tensor>> views = inputViews(pattern, batch.inputs(), shared, sizes);
        List<Sequence> sequences = new ArrayList<>();
        for (int b = 0; b < batchSize; b++) {
            Map<String, Integer> own = sizes.get(b);
            Binding binding = new Binding(Map.copyOf(own), own.get("Q0"), params);
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (var entry : views.entrySet()) inputs.put(entry.getKey(), entry.getValue().get(b));
            try {
                IndexRanges.check(pattern, binding, inputs);
            } catch (ShapeException e) {
                throw new ShapeException("sequence " + b + " (Nq = " + own.get("Nq") + ", Nkv = " + own.get("Nkv") + "): " + e.getMessage());
            }
            sequences.add(new Sequence(b, starts[b], binding, Map.copyOf(inputs)));
        }
        return new RaggedBinding(heads, kvHeads, headDim, v.dim(3), page, pages, q.dim(0), maxPages, table, List.copyOf(sequences), batch.kvSplits());
    }

    /**
     * Each input as each sequence sees it. The symbolic sizes (bound by the tensors) are added to
     * every sequence's sizes; the tensor must have, in each dimension, the largest extent the
     * sequences declare (at Nq = Nkv = Q0 = 0 for an empty batch).
     */
    private static Map<String, List<Tensor>> inputViews(Pattern pattern, Map<String, Tensor> given, Map<String, Integer> shared,
                                                        List<Map<String, Integer>> sizes) {
        Map<String, Integer> symbolic = new LinkedHashMap<>(shared);
        for (String name : PER_SEQUENCE) symbolic.put(name, 0);
        for (Input input : pattern.inputs()) Binding.bindSymbolicSizes(input, given.get(input.name()), symbolic);
        for (Map<String, Integer> own : sizes) symbolic.forEach(own::putIfAbsent);
        Map<String, Integer> empty = new HashMap<>(symbolic);
        Map<String, List<Tensor>> views = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) {
            Tensor tensor = given.get(input.name());
            int rank = input.shape().size();
            List<int[]> shapes = new ArrayList<>();
            int[] largest = sizes.isEmpty() ? dims(input, empty) : new int[rank];
            for (Map<String, Integer> own : sizes) {
                int[] dims = dims(input, own);
                for (int i = 0; i < rank; i++) largest[i] = Math.max(largest[i], dims[i]);
                shapes.add(dims);
            }
            if (!Arrays.equals(largest, tensor.shape())) {
                boolean ragged = input.shape().stream().anyMatch(d -> ExprTree.any(d, e -> e instanceof Expr.SizeRef(String n) && PER_SEQUENCE.contains(n)));
                throw new ShapeException("input '" + input.name() + "': expected shape " + Arrays.toString(largest) + " " + Binding.declared(input)
                        + (ragged ? " (each dimension the largest any sequence declares)" : "") + ", got " + tensor.shapeText());
            }
            List<Tensor> perSequence = new ArrayList<>();
            for (int[] dims : shapes) perSequence.add(Arrays.equals(dims, largest) ? tensor : tensor.view(dims, tensor.strides(), tensor.offset()));
            views.put(input.name(), perSequence);
        }
        return views;
    }

    private static int[] dims(Input input, Map<String, Integer> sizes) {
        int[] dims = new int[input.shape().size()];
        for (int i = 0; i < dims.length; i++) dims[i] = Binding.evaluateSize(input.shape().get(i), sizes, input);
        for (int d : dims) if (d < 0) throw new ShapeException("input '" + input.name() + "': declared shape " + Binding.declared(input) + " is negative at " + sizes);
        return dims;
    }

    /** Offsets into {@code total} rows: starting at 0, never decreasing, ending at {@code total}. */
    static void requireOffsets(String name, int[] starts, int total, String totalName) {
        if (starts[0] != 0) throw new ShapeException(name + "[0] = " + starts[0] + "; expected 0");
        for (int b = 1; b < starts.length; b++) {
            if (starts[b] < starts[b - 1]) {
                throw new ShapeException(name + " must not decrease: " + name + "[" + b + "] = " + starts[b] + " < " + name + "[" + (b - 1) + "] = " + starts[b - 1]);
            }
        }
        int last = starts[starts.length - 1];
        if (last != total) throw new ShapeException(name + "[" + (starts.length - 1) + "] = " + last + "; expected " + total + " (" + totalName + ")");
    }

    /** Lengths that fit their table rows, and every page a sequence reads inside the pool. */
    private static void requirePages(int batch, int[] lengths, int[] table, int maxPages, int page, int pages) {
        for (int b = 0; b < batch; b++) {
            if (lengths[b] < 0 || lengths[b] > (long) maxPages * page) {
                throw new ShapeException("cache.kvLengths[" + b + "] = " + lengths[b] + "; expected 0 <= length <= maxPages * page = "
                        + maxPages + " * " + page + " = " + (long) maxPages * page);
            }
            int used = (lengths[b] + page - 1) / page;
            for (int j = 0; j < used; j++) {
                int id = table[b * maxPages + j];
                if (id < 0 || id >= pages) {
                    throw new ShapeException("cache.blockTable[" + b + ", " + j + "] = " + id + " is not a page of the pool; expected 0 <= id < P = " + pages
                            + " (sequence " + b + " reads entries 0.." + (used - 1) + " for its " + lengths[b] + " keys)");
                }
            }
        }
    }

    private static void requireFloat(String name, Tensor t) {
        if (t.dtype().loadsAs() != Type.FLOAT) throw new ShapeException(name + ": expected a float dtype (float32, bfloat16, float16), got " + t.dtype());
    }

    private static void requireInt(String name, Tensor t) {
        if (t.dtype() != DType.INT32) throw new ShapeException(name + ": expected dtype int32, got " + t.dtype());
    }
}
