package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.reference.Reference;
import attnc.run.Problem;
import attnc.tensor.Tensor;
import java.util.Arrays;

/**
 * Which (q, kv) pairs a pattern keeps, found by running the reference itself on a probe: the same
 * mask and selection, every weight fixed at 1 (score 1, no normalisation, output o) and V chosen
 * so that the output counts the visible keys (V all ones) or lists them (V one-hot over kv). The
 * counts are therefore exactly the reference's own mask evaluation, with no second evaluator.
 */
final class MaskProbe {
    private MaskProbe() {}

    /** The number of visible (b, h, q, kv) elements of the problem. */
    static long visibleCount(Pattern pattern, Problem problem) {
        Tensor v = problem.v();
        float[] ones = new float[v.size()];
        Arrays.fill(ones, 1f);
        Problem probe = withV(problem, Tensor.ofFloats(DType.FLOAT32, v.shape(), ones));
        double[] counts = Reference.run(probe(pattern), probe).out();
        int valueDim = v.dim(3);
        double total = 0;
        for (int row = 0; row < counts.length / valueDim; row++) total += counts[row * valueDim];
        return Math.round(total);
    }

    /**
     * The visibility of every (q, kv) at one batch and head: [Nq][Nkv]. The problem's V must be
     * [B, Hkv, Nkv, Nkv] (Dv = Nkv), so that each output channel stands for one key.
     */
    static boolean[][] grid(Pattern pattern, Problem problem, int b, int h) {
        Tensor v = problem.v();
        int kvHeads = v.dim(1), keys = v.dim(2);
        if (v.dim(3) != keys) throw new IllegalArgumentException("the probe needs Dv = Nkv, got V " + v.shapeText());
        float[] oneHot = new float[v.size()];
        for (int bh = 0; bh < v.dim(0) * kvHeads; bh++) {
            for (int kv = 0; kv < keys; kv++) oneHot[(bh * keys + kv) * keys + kv] = 1f;
        }
        Problem probe = withV(problem, Tensor.ofFloats(DType.FLOAT32, v.shape(), oneHot));
        double[] out = Reference.run(probe(pattern), probe).out();
        int heads = problem.q().dim(1), queries = problem.q().dim(2);
        boolean[][] visible = new boolean[queries][keys];
        for (int qi = 0; qi < queries; qi++) {
            int row = ((b * heads + h) * queries + qi) * keys;
            for (int kv = 0; kv < keys; kv++) visible[qi][kv] = out[row + kv] != 0;
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
