package attnc.jvm;

import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.jvm.emit.Slots;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Driver;
import attnc.jvm.kernel.Launch;
import attnc.jvm.kernel.Operand;
import attnc.jvm.kernel.OutputSink;
import attnc.jvm.kernel.TileKernel;
import attnc.jvm.kernel.TileRows;
import attnc.jvm.sparsity.AnalysedTiles;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.lower.LoweredPattern;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Set;

/**
 * A pattern compiled for the CPU: its generated classes, loaded, plus what a launch needs to feed
 * them. Two classes of the same pattern: the main one with the requested tiles, and a narrow one
 * (one vector of queries per tile) for launches with at most that many queries, such as decode,
 * where a wide query tile would compute mostly padding. Holds no per-call state (scratch is per
 * thread), so concurrent {@code forward} calls are safe.
 */
public final class JvmKernel implements Kernel {
    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final Slots slots;
    private final TileKernel tiles, narrow;
    private final boolean masked;
    /** Generated on the first backward call. */
    private volatile JvmBackward backward;

    JvmKernel(LoweredPattern lowered, Slots slots, TileKernel tiles, TileKernel narrow) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.slots = slots;
        this.tiles = tiles;
        this.narrow = narrow;
        this.masked = !lowered.alwaysVisible();
    }

    @Override public Pattern pattern() { return pattern; }

    /** The default options ({@link BackwardOptions#standard}). */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        return backward(problem, forward, dOut, wanted, BackwardOptions.standard());
    }

    /**
     * The gradients in {@code wanted} ({@link Kernel#backward}), run as {@code options} say: in
     * deterministic mode they are bitwise identical on every run and any number of threads.
     */
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, BackwardOptions options) {
        JvmBackward pass = backward;
        if (pass == null) {
            synchronized (this) {
                if (backward == null) backward = JvmBackward.compile(pattern, new Tiling(tiles.tileQ(), tiles.tileKv()));
                pass = backward;
            }
        }
        return pass.run(problem, forward, dOut, wanted, options);
    }

    private TileKernel pick(int queries) { return queries <= narrow.tileQ() ? narrow : tiles; }

    public boolean producesLse() { return lowered.writesLse(); }

    @Override
    public Result forward(Problem problem) {
        Binding binding = Binding.of(pattern, problem);
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
        float[] out = new float[b * h * nq * dv];
        float[] lse = producesLse() ? new float[b * h * nq] : null;
        // The backward pass needs o before an output transform (BackwardLaunch.needsPreOutput).
        float[] preOutput = BackwardLaunch.needsPreOutput(pattern) ? new float[out.length] : null;
        TileKernel kernel = pick(nq);
        Launch launch = launch(kernel, binding, problem.inputs(),
                Operand.Heap.dense(problem.q().floats(), h, nq, binding.size("D")),
                Operand.Heap.dense(problem.k().floats(), binding.size("Hkv"), binding.size("Nkv"), binding.size("D")),
                Operand.Heap.dense(problem.v().floats(), binding.size("Hkv"), binding.size("Nkv"), dv),
                rows(out, h, nq, dv), lse, preOutput == null ? null : rows(preOutput, h, nq, dv));
        Driver.run(kernel, launch);
        return new Result(out, lse, new int[] {b, h, nq, dv}, preOutput);
    }

    private static OutputSink rows(float[] data, int heads, int nq, int dv) {
        return new OutputSink.Heap(data, (long) heads * nq * dv, (long) nq * dv, dv);
    }

    /**
     * Runs on tensors in place (heap or off-heap, [B, H, N, D] or [B, N, H, D], fp32/bf16/fp16),
     * writing fp32 output through {@code out} and, when {@code lse} is not null, the natural-log
     * LSE [B, H, Nq]. {@code queryOffset} < 0 means bottom-right aligned, as in {@link Problem}.
     * Segments must be readable from the kernel's pool threads (a shared or global arena).
     */
    public void forward(StridedTensor q, StridedTensor k, StridedTensor v, OutputSink out, float[] lse,
                        Map<String, Tensor> inputs, Map<String, Expr> params, int queryOffset) {
        Binding binding = LaunchBinding.of(pattern, q, k, v, inputs, params, queryOffset);
        if (lse != null && (!producesLse() || lse.length < q.batch() * q.heads() * q.n())) {
            throw new IllegalArgumentException("lse: needs a softmax pattern and B·H·Nq = " + q.batch() * q.heads() * q.n() + " floats");
        }
        TileKernel kernel = pick(q.n());
        Driver.run(kernel, launch(kernel, binding, inputs, q.operand(), k.operand(), v.operand(), out, lse, null));
    }

    private Launch launch(TileKernel kernel, Binding binding, Map<String, Tensor> inputs, Operand q, Operand k, Operand v,
                          OutputSink out, float[] lse, OutputSink preOutput) {
        var env = slots.env(binding, inputs);
        int kvTiles = (binding.size("Nkv") + kernel.tileKv() - 1) / kernel.tileKv();
        TileRows classify = masked
                ? AnalysedTiles.of(pattern, binding, inputs, kernel.tileQ(), kernel.tileKv())
                : TileRows.allFull(kvTiles);
        return new Launch(q, k, v, out, lse, env, classify,
                binding.size("B"), binding.size("H"), binding.size("Hkv"), binding.size("Nq"), binding.size("Nkv"),
                binding.size("D"), binding.size("Dv"), binding.queryOffset(), preOutput);
    }
}
