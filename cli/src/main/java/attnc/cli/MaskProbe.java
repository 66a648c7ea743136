package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.util.Arrays;

/**
 * Which (q, kv) pairs a pattern keeps, found by running the reference itself on a probe: the same
 * mask and selection, every weight fixed at 1 (score 1, no normalisation, output o) and V chosen
 * so that the output counts the visible keys (V all ones) or lists them (V a bit per key). The
 * counts are therefore exactly the reference's own mask evaluation, with no second evaluator.
 */
final class MaskProbe {
    private MaskProbe() {}

    /** The number of visible (b, h, q, kv) elements of the problem. */
    static long visibleCount(Pattern pattern, Problem problem) {
        return visibleCount(pattern, problem, null);
    }

    /** The number of visible elements in the given rows (flat (b·H + h)·Nq + qi; null for all). */
    static long visibleCount(Pattern pattern, Problem problem, int[] rows) {
        Tensor v = problem.v();
        attnc.launch.Memory.require(4L * v.size(), "the mask probe's values");
        float[] ones = new float[v.size()];
        Arrays.fill(ones, 1f);
        Problem probe = withV(problem, Tensor.ofFloats(DType.FLOAT32, v.shape(), ones));
        double[] counts = Reference.run(probe(pattern), probe, rows, done -> {}).out();
        int valueDim = v.dim(3);
        double total = 0;
        for (int row = 0; row < counts.length / valueDim; row++) total += counts[row * valueDim];
        return Math.round(total);
    }

    /** Keys packed into one output channel of the grid probe: distinct powers of two below 2^32 sum exactly in double. */
    private static final int KEYS_PER_CHANNEL = 32;

    /** The Dv a problem must have for {@link #grid}: one channel per 32 keys. */
    static int gridValueDim(int keys) {
        return (keys + KEYS_PER_CHANNEL - 1) / KEYS_PER_CHANNEL;
    }

    /**
     * The visibility of every (q, kv) at one batch and head: [Nq][Nkv]. The problem's V must be
     * [B, Hkv, Nkv, gridValueDim(Nkv)]: key kv gets the value 2^(kv % 32) in channel kv / 32, so
     * each output channel is the bit set of the visible keys of its group.
     */
    static boolean[][] grid(Pattern pattern, Problem problem, int b, int h) {
        Tensor v = problem.v();
        int keys = v.dim(2), channels = gridValueDim(keys);
        if (v.dim(3) != channels) throw new IllegalArgumentException("the probe needs Dv = " + channels + ", got V " + v.shapeText());
        float[] bits = new float[v.size()];
        for (int bh = 0; bh < v.dim(0) * v.dim(1); bh++) {
            for (int kv = 0; kv < keys; kv++) bits[(bh * keys + kv) * channels + kv / KEYS_PER_CHANNEL] = (float) Math.scalb(1.0, kv % KEYS_PER_CHANNEL);
        }
        Problem probe = withV(problem, Tensor.ofFloats(DType.FLOAT32, v.shape(), bits));
        double[] out = Reference.run(probe(pattern), probe).out();
        int heads = problem.q().dim(1), queries = problem.q().dim(2);
        boolean[][] visible = new boolean[queries][keys];
        for (int qi = 0; qi < queries; qi++) {
            int row = ((b * heads + h) * queries + qi) * channels;
            for (int kv = 0; kv < keys; kv++) {
                long set = (long) out[row + kv / KEYS_PER_CHANNEL];
                visible[qi][kv] = (set >>> (kv % KEYS_PER_CHANNEL) & 1) != 0;
            }
        }
        return visible;
    }

    private static Pattern probe(Pattern pattern) {
        return pattern.withScore(new Expr.FloatLit(1.0)).withScale(new Expr.FloatLit(1.0))
                .withNorm(new Norm.Identity()).withOutput(new Expr.OutputRef());
    }

    private static Problem withV(Problem problem, Tensor v) {
        return new Problem(problem.q(), problem.k(), v, problem.inputs(), problem.params(), problem.queryOffset());
    }
}
