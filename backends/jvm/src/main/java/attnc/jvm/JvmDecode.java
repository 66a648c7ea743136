package attnc.jvm;

import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.jvm.emit.Slots;
import attnc.jvm.kernel.DecodeDriver;
import attnc.jvm.kernel.DecodeKernel;
import attnc.jvm.kernel.DecodeLaunch;
import attnc.jvm.kernel.Driver;
import attnc.jvm.kernel.KvPages;
import attnc.jvm.kernel.Operand;
import attnc.jvm.kernel.OutputSink;
import attnc.jvm.kernel.TileRows;
import attnc.jvm.sparsity.AnalysedTiles;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Partial;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.lower.LoweredPattern;
import attnc.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Launches of the decode kernel ({@link attnc.jvm.kernel.DecodeTemplate}) for a compiled
 * pattern: dense problems with at most {@link DecodeLaunch#MAX_QUERIES} queries, and ragged
 * batches whose every sequence has that few, reading a paged cache through its block table (no
 * gathering). The class is generated with the main one ({@link JvmBackend}), or exported with it.
 */
final class JvmDecode {
    /** Keys per decode tile: enough to amortise the per-tile hooks, small enough that a tile's K and V stay in L1/L2. */
    static final int TILE_KV = 64;

    private final Pattern pattern;
    private final Slots slots;
    private final DecodeKernel kernel;
    private final boolean masked;

    JvmDecode(LoweredPattern lowered, Slots slots, DecodeKernel kernel) {
        this.pattern = lowered.pattern();
        this.slots = slots;
        this.kernel = kernel;
        this.masked = !lowered.alwaysVisible();
    }

    /** Whether every sequence of a ragged batch is short enough for the decode kernel. */
    static boolean fits(RaggedBinding binding) {
        return binding.sequences().stream().allMatch(s -> s.queries() <= DecodeLaunch.MAX_QUERIES);
    }

    /** A dense problem (Nq ≤ 16): each batch index a sequence, K and V [B, Hkv, Nkv, D] read in place. */
    void forward(Binding binding, Problem problem, Operand q, Operand k, Operand v, OutputSink out, float[] lse, OutputSink preOutput,
                 Driver.Pool pool) {
        int batch = binding.size("B"), heads = binding.size("H"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        var env = slots.env(binding, problem.inputs());
        TileRows tiles = masked ? AnalysedTiles.of(pattern, binding, problem.inputs(), DecodeLaunch.queryTile(nq), TILE_KV)
                : TileRows.allFull((nkv + TILE_KV - 1) / TILE_KV);
        List<DecodeLaunch.Sequence> sequences = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            sequences.add(new DecodeLaunch.Sequence(b, nq, nkv, 0, nkv, binding.queryOffset(), env, tiles, q, out, preOutput, lse,
                    b * heads * nq, nq, 1));
        }
        DecodeLaunch launch = new DecodeLaunch(KvPages.contiguous(k, batch), KvPages.contiguous(v, batch), sequences, heads,
                binding.size("Hkv"), binding.size("D"), binding.size("Dv"), false);
        DecodeDriver.run(kernel, launch, pool, 0);
    }

    /** A ragged batch ({@link #fits}), finished: the sink and output transform applied. */
    Result forward(RaggedBatch batch, RaggedBinding binding, Driver.Pool pool) {
        Rows rows = new Rows(binding, BackwardLaunch.needsPreOutput(pattern));
        run(batch, binding, rows, 0, Integer.MAX_VALUE, false, Math.max(0, binding.kvSplits()), pool);
        return new Result(rows.out, rows.lse, new int[] {binding.totalQueries(), binding.heads(), binding.valueDim()}, rows.preOutput);
    }

    /** Keys [kvFrom, kvTo) of every sequence as a {@link Partial}: neither sink nor output transform. */
    Partial partial(RaggedBatch batch, RaggedBinding binding, int kvFrom, int kvTo, Driver.Pool pool) {
        Rows rows = new Rows(binding, false);
        run(batch, binding, rows, kvFrom, kvTo, true, 1, pool);
        return new Partial(Tensor.wrap(rows.out, binding.totalQueries(), binding.heads(), binding.valueDim()),
                rows.lse == null ? null : Tensor.wrap(rows.lse, binding.totalQueries(), binding.heads()));
    }

    private void run(RaggedBatch batch, RaggedBinding binding, Rows rows, int kvFrom, int kvTo, boolean bare, int splits, Driver.Pool pool) {
        int heads = binding.heads(), dv = binding.valueDim(), rowStride = heads * dv;
        Tensor q = dense(batch.q());
        List<DecodeLaunch.Sequence> sequences = new ArrayList<>();
        for (RaggedBinding.Sequence s : binding.sequences()) {
            int nq = s.queries(), from = Math.min(kvFrom, s.keys()), to = Math.min(kvTo, s.keys()), first = s.firstQuery();
            Operand queries = operand(q, q.offset() + (long) first * q.stride(0), 0, q.stride(1), q.stride(0));
            OutputSink out = new OutputSink.Heap(rows.out, attnc.ir.DType.FLOAT32, (long) first * rowStride, 0, dv, rowStride);
            OutputSink pre = rows.preOutput == null ? null
                    : new OutputSink.Heap(rows.preOutput, attnc.ir.DType.FLOAT32, (long) first * rowStride, 0, dv, rowStride);
            TileRows tiles = masked ? AnalysedTiles.of(pattern, s.binding(), s.inputs(), DecodeLaunch.queryTile(nq), TILE_KV)
                    : TileRows.allFull((s.keys() + TILE_KV - 1) / TILE_KV);
            sequences.add(new DecodeLaunch.Sequence(s.index(), nq, s.keys(), from, to, s.queryOffset(), slots.env(s.binding(), s.inputs()),
                    tiles, queries, out, pre, rows.lse, first * heads, 1, heads));
        }
        DecodeLaunch launch = new DecodeLaunch(pages(batch.cache().k(), binding), pages(batch.cache().v(), binding), sequences, heads,
                binding.kvHeads(), binding.headDim(), dv, bare);
        DecodeDriver.run(kernel, launch, pool, splits);
    }

    /** A pool [P, page, Hkv, width] read through the block table; rows not contiguous are copied first. */
    private static KvPages pages(Tensor pool, RaggedBinding binding) {
        Tensor t = dense(pool);
        int shift = Integer.numberOfTrailingZeros(binding.pageSize());
        return switch (t.storage()) {
            case Tensor.Storage.Floats(float[] a) -> new KvPages(a, null, attnc.ir.DType.FLOAT32, t.offset(), t.stride(0), t.stride(1), t.stride(2),
                    t.dim(3), binding.blockTable(), binding.maxPages(), shift);
            case Tensor.Storage.Segment(MemorySegment s) -> new KvPages(null, s, t.dtype(), t.offset(), t.stride(0), t.stride(1), t.stride(2),
                    t.dim(3), binding.blockTable(), binding.maxPages(), shift);
            case Tensor.Storage.Ints ignored -> throw new IllegalStateException("cache: float tensor over int storage");
            case Tensor.Storage.Device ignored -> throw attnc.launch.ShapeException.onDevice("cache", "jvm");
        };
    }

    /** The tensor itself when its last dimension is contiguous, else a dense float32 copy. */
    private static Tensor dense(Tensor t) {
        int last = t.rank() - 1;
        return t.stride(last) == 1 || t.dim(last) == 1 ? t : Tensor.ofFloats(t.dtype(), t.shape(), t.floats());
    }

    /** Rows of {@code t} (last dimension contiguous) as an operand (b, head, n) with the given element strides. */
    private static Operand operand(Tensor t, long base, long strideB, long strideH, long strideN) {
        int width = t.dim(t.rank() - 1);
        return switch (t.storage()) {
            case Tensor.Storage.Floats(float[] a) -> new Operand.Heap(a, base, strideB, strideH, strideN, width);
            case Tensor.Storage.Segment(MemorySegment s) -> new Operand.Segment(s, t.dtype(), base, strideB, strideH, strideN, width);
            case Tensor.Storage.Ints ignored -> throw new IllegalStateException("q: float tensor over int storage");
            case Tensor.Storage.Device ignored -> throw attnc.launch.ShapeException.onDevice("q", "jvm");
        };
    }

    /** A ragged launch's packed rows: output [totalQ, H, Dv], LSE [totalQ, H] for softmax patterns, rows before the output transform. */
    private final class Rows {
        final float[] out, lse, preOutput;

        Rows(RaggedBinding binding, boolean keepPreOutput) {
            int rows = binding.totalQueries() * binding.heads();
            out = new float[Math.multiplyExact(rows, binding.valueDim())];
            lse = pattern.norm() instanceof Norm.Softmax ? new float[rows] : null;
            preOutput = keepPreOutput ? new float[out.length] : null;
        }
    }

}
