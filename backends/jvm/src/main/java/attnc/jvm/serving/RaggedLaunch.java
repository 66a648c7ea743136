package attnc.jvm.serving;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.KvCache;
import attnc.launch.Merge;
import attnc.launch.Partial;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.reference.RaggedReference;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Ragged launches over a paged KV cache on the JVM backend, by the dense kernel: each sequence
 * is a dense launch of its own ({@link SequencePattern} keeps its rows and the chunk's keys), its
 * queries a view of the packed rows and its keys a view of the pool when its pages are
 * consecutive there (packed sequences, pages handed out in order), else gathered once into
 * float32. Split launches compute each chunk's {@link Partial} with the sink and the output
 * transform left out, {@link Merge} them, and {@link #finish} the rows.
 *
 * <p>The finishing step (the sink joins each row once, then the output transform: O(rows · Dv),
 * no key read) is the reference's scalar epilogue, {@link RaggedReference#finish}, because the
 * generated kernels have no entry point for it yet. Chunks of a sequence run one after another,
 * each spread over the kernel's threads, so {@link RaggedBatch#AUTO_SPLITS} chooses one chunk:
 * splitting buys this path no parallelism yet.
 */
public final class RaggedLaunch {
    private final Pattern pattern;
    private final SequencePattern whole, partial;
    private final Kernel wholeKernel, partialKernel;
    private final int tileKv;

    /** Compiles the two sequence patterns with {@code compile} (the kernel's own backend and tiles); chunks are cut on {@code tileKv}. */
    public RaggedLaunch(Pattern pattern, Function<Pattern, Kernel> compile, int tileKv) {
        this.pattern = pattern;
        this.whole = SequencePattern.whole(pattern);
        this.partial = SequencePattern.partial(pattern);
        this.wholeKernel = compile.apply(whole.pattern());
        this.partialKernel = compile.apply(partial.pattern());
        this.tileKv = tileKv;
    }

    public Result forward(RaggedBatch batch) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        int splits = Math.max(1, binding.kvSplits());
        if (splits == 1) {
            PackedRows rows = new PackedRows(binding, wholeKernel.pattern(), true);
            for (RaggedBinding.Sequence s : binding.sequences()) {
                if (s.queries() > 0) rows.place(s, wholeKernel.forward(restrict(problem(binding, batch, s), batch, s, whole, 0, s.keys())));
            }
            return rows.result();
        }
        List<PackedRows> chunks = new ArrayList<>();
        for (int c = 0; c < splits; c++) chunks.add(new PackedRows(binding, partialKernel.pattern(), false));
        for (RaggedBinding.Sequence s : binding.sequences()) {
            if (s.queries() == 0) continue;
            Problem keys = problem(binding, batch, s);
            // Chunks of whole key tiles, so that no tile is read by two chunks.
            int tiles = (s.keys() + tileKv - 1) / tileKv, perChunk = (tiles + splits - 1) / splits * tileKv;
            for (int c = 0; c < splits; c++) {
                int from = Math.min(s.keys(), c * perChunk), to = Math.min(s.keys(), from + perChunk);
                chunks.get(c).place(s, partialKernel.forward(restrict(keys, batch, s, partial, from, to)));
            }
        }
        return finish(batch, Merge.merge(chunks.stream().map(PackedRows::partial).toList()));
    }

    /** Key positions [kvFrom, kvTo) of every sequence, clipped to its keys (see {@link Kernel#partial}). */
    public Partial partial(RaggedBatch batch, int kvFrom, int kvTo) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        Kernel.requireKeyRange(kvFrom, kvTo);
        PackedRows rows = new PackedRows(binding, partialKernel.pattern(), false);
        for (RaggedBinding.Sequence s : binding.sequences()) {
            if (s.queries() == 0) continue;
            int from = Math.min(kvFrom, s.keys()), to = Math.min(kvTo, s.keys());
            rows.place(s, partialKernel.forward(restrict(problem(binding, batch, s), batch, s, partial, from, to)));
        }
        return rows.partial();
    }

    public Result finish(RaggedBatch batch, Partial merged) {
        return RaggedReference.finish(pattern, batch, merged).toResult();
    }

    /** Sequence s as a dense problem over the batch's B indices, every index viewing s's queries and keys (stride 0); the batch's params. */
    private static Problem problem(RaggedBinding binding, RaggedBatch batch, RaggedBinding.Sequence s) {
        Tensor q = batch.q();
        Tensor queries = q.view(new int[] {binding.batch(), binding.heads(), s.queries(), binding.headDim()},
                new long[] {0, q.stride(1), q.stride(0), q.stride(2)}, q.offset() + (long) s.firstQuery() * q.stride(0));
        KvCache cache = batch.cache();
        return new Problem(queries, keys(binding, cache.k(), s), keys(binding, cache.v(), s), s.inputs(), batch.params(), s.queryOffset());
    }

    /** The same problem for the restricted pattern: it computes batch index s alone, over keys [from, to). */
    private static Problem restrict(Problem dense, RaggedBatch batch, RaggedBinding.Sequence s, SequencePattern restricted, int from, int to) {
        Map<String, Expr> params = new HashMap<>(batch.params());
        params.putAll(restricted.values(s.index(), from, to));
        return new Problem(dense.q(), dense.k(), dense.v(), dense.inputs(), params, dense.queryOffset());
    }

    /** [B, Hkv, Nkv, width] of sequence s, every batch index the same: a view of the pool when its pages lie in order, else a float32 copy. */
    private static Tensor keys(RaggedBinding binding, Tensor pool, RaggedBinding.Sequence s) {
        int b = s.index(), nkv = s.keys(), kvHeads = binding.kvHeads(), width = pool.dim(3), page = binding.pageSize();
        int[] shape = {binding.batch(), kvHeads, nkv, width};
        int used = (nkv + page - 1) / page;
        boolean inOrder = pool.stride(0) == page * pool.stride(1);
        for (int j = 1; j < used && inOrder; j++) inOrder = binding.page(b, j * page) == binding.page(b, 0) + j;
        if (inOrder) {
            long first = used == 0 ? 0 : binding.page(b, 0) * pool.stride(0);
            return pool.view(shape, new long[] {0, pool.stride(2), pool.stride(1), pool.stride(3)}, pool.offset() + first);
        }
        float[] rows = new float[Math.multiplyExact(kvHeads, Math.multiplyExact(nkv, width))];
        if (pool.storage() instanceof Tensor.Storage.Floats(float[] values) && (pool.stride(3) == 1 || width == 1)) {
            // float32 rows copied whole; other storage converts element by element.
            for (int hk = 0; hk < kvHeads; hk++) {
                for (int kv = 0; kv < nkv; kv++) {
                    long at = pool.offset() + binding.page(b, kv) * pool.stride(0) + (kv % page) * pool.stride(1) + hk * pool.stride(2);
                    System.arraycopy(values, Math.toIntExact(at), rows, (hk * nkv + kv) * width, width);
                }
            }
        } else {
            for (int hk = 0; hk < kvHeads; hk++) System.arraycopy(binding.gather(pool, b, hk, 0, nkv), 0, rows, hk * nkv * width, nkv * width);
        }
        return Tensor.wrap(rows, rows.length).view(shape, new long[] {0, (long) nkv * width, width, 1}, 0);
    }

    /** A launch's rows [totalQ, H, Dv] (and LSE [totalQ, H]) filled from each sequence's dense result. */
    private static final class PackedRows {
        private final RaggedBinding binding;
        private final float[] out, lse, preOutput;

        /** Rows of {@code pattern}'s results; {@code finished} ones keep o before the output transform, as {@link Result} does. */
        PackedRows(RaggedBinding binding, Pattern pattern, boolean finished) {
            this.binding = binding;
            int rows = binding.totalQueries() * binding.heads();
            out = new float[Math.multiplyExact(rows, binding.valueDim())];
            lse = pattern.norm() instanceof Norm.Softmax ? new float[rows] : null;
            preOutput = finished && BackwardLaunch.needsPreOutput(pattern) ? new float[out.length] : null;
        }

        /** Copies batch index s of the dense result [B, H, Nq, Dv] to s's packed rows. */
        void place(RaggedBinding.Sequence s, Result dense) {
            int heads = binding.heads(), dv = binding.valueDim(), nq = s.queries();
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) {
                    int from = (s.index() * heads + h) * nq + i, to = (s.firstQuery() + i) * heads + h;
                    System.arraycopy(dense.out(), from * dv, out, to * dv, dv);
                    if (lse != null) lse[to] = dense.lse()[from];
                    if (preOutput != null) System.arraycopy(dense.preOutput(), from * dv, preOutput, to * dv, dv);
                }
            }
        }

        Result result() {
            return new Result(out, lse, new int[] {binding.totalQueries(), binding.heads(), binding.valueDim()}, preOutput);
        }

        Partial partial() {
            return new Partial(Tensor.wrap(out, binding.totalQueries(), binding.heads(), binding.valueDim()),
                    lse == null ? null : Tensor.wrap(lse, binding.totalQueries(), binding.heads()));
        }
    }
}
