package attnc.reference;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Semantics;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;

/**
 * The oracle: the kernel semantics computed naively in double precision. For each row it
 * materialises every score, applies the score expression and the mask, normalises, sums V and
 * applies the output transform. O(Nkv) memory per row, no tiling, nothing clever.
 */
public final class Reference {
    private Reference() {}

    /**
     * Outputs in double precision, [B, H, Nq, Dv], LSE [B, H, Nq] (null unless softmax), and o
     * before the output transform (null when the output is o; see {@link Result#preOutput}).
     */
    public record Exact(double[] out, double[] lse, int[] outShape, double[] preOutput) {
        public Result toResult() {
            return new Result(floats(out), floats(lse), outShape, floats(preOutput));
        }

        private static float[] floats(double[] values) {
            if (values == null) return null;
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
            return f;
        }
    }

    public static Exact run(Pattern pattern, Problem problem) {
        return run(pattern, problem, null, done -> {});
    }

    /**
     * Only the given rows (flat (b·H + h)·Nq + qi, ascending), for checking a large launch on a
     * sample: out is [rows.length, Dv] and lse [rows.length], in the order given; null rows means
     * every row, shaped as {@link #run(Pattern, Problem)}. {@code rowsDone} hears the count of rows
     * finished, now and then, for a progress bar.
     */
    public static Exact run(Pattern pattern, Problem problem, int[] rows, java.util.function.IntConsumer rowsDone) {
        Binding binding = Binding.of(pattern, problem);
        int batch = binding.size("B"), heads = binding.size("H"), nq = binding.size("Nq"), headDim = binding.size("D");
        int kvHeads = binding.size("Hkv"), nkv = binding.size("Nkv"), valueDim = binding.size("Dv");
        long rowCount = rows == null ? (long) batch * heads * nq : rows.length;
        attnc.launch.Memory.elements("the reference's output [B, H, Nq, Dv]", rowCount, valueDim);
        attnc.launch.Memory.require(bytesNeeded(rowCount, BackwardLaunch.needsPreOutput(pattern) ? 2 * valueDim : valueDim, nkv),
                "the reference's double-precision output and LSE");
        Evaluator evaluator = new Evaluator(binding, problem.inputs());
        Evaluator.BoolFn visible = evaluator.bools(pattern.visibility());
        Evaluator.FloatFn score = evaluator.floats(pattern.score());
        Evaluator.FloatFn scale = evaluator.floats(pattern.scale());
        Evaluator.FloatFn output = evaluator.floats(pattern.output());
        Evaluator.FloatFn normValue = switch (pattern.norm()) {
            case Norm.Softmax(var sink) -> sink.map(evaluator::floats).orElse(null);
            case Norm.Sigmoid(Expr bias) -> evaluator.floats(bias);
            case Norm.Identity() -> null;
        };
        // Read once: a tensor over a segment or a strided view gives its values as a fresh array.
        float[] q = problem.q().floats(), k = problem.k().floats(), v = problem.v().floats();
        int group = heads / kvHeads;
        boolean softmax = pattern.norm() instanceof Norm.Softmax;
        double[] out = new double[Math.toIntExact(rowCount * valueDim)];
        double[] lse = softmax ? new double[(int) rowCount] : null;
        double[] preOutput = BackwardLaunch.needsPreOutput(pattern) ? new double[out.length] : null;
        double[] scores = new double[nkv];
        boolean[] kept = new boolean[nkv];
        double[] acc = new double[valueDim];
        Evaluator.Env env = new Evaluator.Env();
        for (int slot = 0; slot < rowCount; slot++) {
            int flat = rows == null ? slot : rows[slot];
            int qi = flat % nq, h = flat / nq % heads, b = flat / nq / heads;
            int hk = h / group;
            env.b = b;
            env.h = h;
            env.q = binding.queryOffset() + qi;
            double rowScale = scale.eval(env);
            int qBase = flat * headDim;
            double max = Double.NEGATIVE_INFINITY;
            for (int kv = 0; kv < nkv; kv++) {
                env.kv = kv;
                kept[kv] = visible.eval(env);
                if (!kept[kv]) continue;
                int kBase = ((b * kvHeads + hk) * nkv + kv) * headDim;
                double dot = 0;
                for (int d = 0; d < headDim; d++) dot += (double) q[qBase + d] * k[kBase + d];
                env.s = rowScale * dot;
                scores[kv] = score.eval(env);
                max = Math.max(max, scores[kv]);
            }
            java.util.Arrays.fill(acc, 0);
            int vRowBase = (b * kvHeads + hk) * nkv;
            if (softmax) lse[slot] = softmax(normValue, env, scores, kept, max, v, vRowBase, valueDim, acc);
            else weigh(pattern.norm(), normValue, env, scores, kept, v, vRowBase, valueDim, acc);
            for (int d = 0; d < valueDim; d++) {
                env.d = d;
                env.o = acc[d];
                out[slot * valueDim + d] = output.eval(env);
                if (preOutput != null) preOutput[slot * valueDim + d] = acc[d];
            }
            if ((slot & 255) == 255) rowsDone.accept(slot + 1);
        }
        rowsDone.accept((int) rowCount);
        int[] shape = rows == null ? new int[] {batch, heads, nq, valueDim} : new int[] {rows.length, valueDim};
        return new Exact(out, lse, shape, preOutput);
    }

    /**
     * What {@link #run} allocates: {@code columns} doubles (out, and o before a transform) and the
     * LSE for each row, and a score and a flag per key.
     */
    static long bytesNeeded(long rows, int columns, int keys) {
        return Double.BYTES * rows * (columns + 1L) + (Double.BYTES + 1L) * keys;
    }

    /** Softmax (with an optional sink logit): accumulates the normalised weighted sum of V into acc; returns the row's LSE. */
    private static double softmax(Evaluator.FloatFn sinkValue, Evaluator.Env env, double[] scores, boolean[] kept,
                                  double max, float[] values, int vRowBase, int valueDim, double[] acc) {
        double sink = sinkValue == null ? Double.NEGATIVE_INFINITY : sinkValue.eval(env);
        double m = Math.max(max, sink);
        if (m == Double.NEGATIVE_INFINITY) return Double.NEGATIVE_INFINITY;
        double sum = sink == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sink - m);
        for (int kv = 0; kv < scores.length; kv++) {
            if (!kept[kv]) continue;
            double w = Math.exp(scores[kv] - m);
            sum += w;
            int base = (vRowBase + kv) * valueDim;
            for (int d = 0; d < valueDim; d++) acc[d] += w * values[base + d];
        }
        for (int d = 0; d < valueDim; d++) acc[d] /= sum;
        return m + Math.log(sum);
    }

    /** Sigmoid or no normalisation: accumulates each kept key's weight times its V into acc; there is no row sum, so no LSE. */
    private static void weigh(Norm norm, Evaluator.FloatFn biasValue, Evaluator.Env env, double[] scores, boolean[] kept,
                              float[] values, int vRowBase, int valueDim, double[] acc) {
        double bias = norm instanceof Norm.Sigmoid ? biasValue.eval(env) : 0;
        for (int kv = 0; kv < scores.length; kv++) {
            if (!kept[kv]) continue;
            double w = norm instanceof Norm.Sigmoid ? Semantics.sigmoid(scores[kv] + bias) : scores[kv];
            int base = (vRowBase + kv) * valueDim;
            for (int d = 0; d < valueDim; d++) acc[d] += w * values[base + d];
        }
    }
}
