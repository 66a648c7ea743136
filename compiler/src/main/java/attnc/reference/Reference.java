package attnc.reference;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Semantics;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.tensor.Tensor;

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
        Binding binding = Binding.of(pattern, problem);
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
        int batch = binding.size("B"), heads = binding.size("H"), nq = binding.size("Nq"), headDim = binding.size("D");
        int kvHeads = binding.size("Hkv"), nkv = binding.size("Nkv"), valueDim = binding.size("Dv");
        int group = heads / kvHeads;
        boolean softmax = pattern.norm() instanceof Norm.Softmax;
        double[] out = new double[batch * heads * nq * valueDim];
        double[] lse = softmax ? new double[batch * heads * nq] : null;
        double[] preOutput = BackwardLaunch.needsPreOutput(pattern) ? new double[out.length] : null;
        double[] scores = new double[nkv];
        boolean[] kept = new boolean[nkv];
        double[] acc = new double[valueDim];
        Evaluator.Env env = new Evaluator.Env();
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int hk = h / group;
                for (int qi = 0; qi < nq; qi++) {
                    env.b = b;
                    env.h = h;
                    env.q = binding.queryOffset() + qi;
                    double rowScale = scale.eval(env);
                    int qBase = ((b * heads + h) * nq + qi) * headDim;
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
                    double rowLse = weigh(pattern.norm(), normValue, env, scores, kept, max, v, (b * kvHeads + hk) * nkv, valueDim, acc);
                    int row = (b * heads + h) * nq + qi;
                    if (lse != null) lse[row] = rowLse;
                    for (int d = 0; d < valueDim; d++) {
                        env.d = d;
                        env.o = acc[d];
                        out[row * valueDim + d] = output.eval(env);
                        if (preOutput != null) preOutput[row * valueDim + d] = acc[d];
                    }
                }
            }
        }
        return new Exact(out, lse, new int[] {batch, heads, nq, valueDim}, preOutput);
    }

    /** Accumulates the weighted sum of V into acc; returns the row's LSE (softmax) or NaN. */
    private static double weigh(Norm norm, Evaluator.FloatFn normValue, Evaluator.Env env, double[] scores, boolean[] kept,
                                double max, float[] values, int vRowBase, int valueDim, double[] acc) {
        switch (norm) {
            case Norm.Softmax softmax -> {
                double sink = normValue == null ? Double.NEGATIVE_INFINITY : normValue.eval(env);
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
            case Norm.Sigmoid sigmoid -> {
                double bias = normValue.eval(env);
                for (int kv = 0; kv < scores.length; kv++) {
                    if (!kept[kv]) continue;
                    double w = Semantics.sigmoid(scores[kv] + bias);
                    int base = (vRowBase + kv) * valueDim;
                    for (int d = 0; d < valueDim; d++) acc[d] += w * values[base + d];
                }
                return Double.NaN;
            }
            case Norm.Identity identity -> {
                for (int kv = 0; kv < scores.length; kv++) {
                    if (!kept[kv]) continue;
                    int base = (vRowBase + kv) * valueDim;
                    for (int d = 0; d < valueDim; d++) acc[d] += scores[kv] * values[base + d];
                }
                return Double.NaN;
            }
        }
    }
}
