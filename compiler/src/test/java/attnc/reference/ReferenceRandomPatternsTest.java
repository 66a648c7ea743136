package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.ScalarEvaluator;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Semantics;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The reference on random patterns against the kernel semantics spelled out in loops over
 * {@link ScalarEvaluator} (a tree walker written apart from the reference's closure compiler).
 * Same formulas in the same order, so values agree to 1e-12, and a NaN only where the loops also give NaN.
 */
class ReferenceRandomPatternsTest {

    @Property(tries = 300)
    void referenceFollowsTheKernelSemantics(@ForAll("launches") Launch launch) {
        Pattern pattern = launch.pattern();
        Problem problem = launch.problem();
        Binding binding = Binding.of(pattern, problem);
        Reference.Exact reference = Reference.run(pattern, problem);
        Loops expected = new Loops(pattern, problem, binding);
        compare(expected.out, reference.out(), "output", launch);
        if (pattern.norm() instanceof Norm.Softmax) compare(expected.lse, reference.lse(), "LSE", launch);
        else assertEquals(null, reference.lse());
    }

    private static void compare(double[] expected, double[] actual, String what, Launch launch) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            boolean agree = Double.isNaN(e) ? Double.isNaN(a) : e == a || Math.abs(e - a) <= 1e-12 * Math.max(1, Math.abs(e));
            int index = i;
            assertTrue(agree, () -> what + "[" + index + "]: expected " + e + ", got " + a + "\n" + launch);
        }
    }

    /** One pass over every (b, h, q) row, straight from DESIGN.md. */
    private static final class Loops {
        final double[] out;
        final double[] lse;

        Loops(Pattern pattern, Problem problem, Binding binding) {
            ScalarEvaluator eval = ScalarEvaluator.of(binding, problem.inputs());
            Tensor q = problem.q(), k = problem.k(), v = problem.v();
            int batch = q.dim(0), heads = q.dim(1), nq = q.dim(2), headDim = q.dim(3);
            int kvHeads = k.dim(1), nkv = k.dim(2), valueDim = v.dim(3);
            out = new double[batch * heads * nq * valueDim];
            lse = new double[batch * heads * nq];
            Expr visibility = pattern.visibility();
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int kvHead = h / (heads / kvHeads);
                    for (int i = 0; i < nq; i++) {
                        int position = binding.queryOffset() + i;
                        Point row = new Point(b, h, position, 0, 0, 0, 0);
                        double scale = (Double) eval.eval(pattern.scale(), row);
                        double[] x = new double[nkv];
                        boolean[] visible = new boolean[nkv];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < nkv; j++) {
                            visible[j] = (Boolean) eval.eval(visibility, new Point(b, h, position, j, 0, 0, 0));
                            if (!visible[j]) continue;
                            double dot = 0;
                            for (int c = 0; c < headDim; c++) {
                                dot += (double) q.floats()[((b * heads + h) * nq + i) * headDim + c] * k.floats()[((b * kvHeads + kvHead) * nkv + j) * headDim + c];
                            }
                            x[j] = (Double) eval.eval(pattern.score(), new Point(b, h, position, j, 0, scale * dot, 0));
                            max = Math.max(max, x[j]);
                        }
                        double[] weights = new double[nkv];
                        double denominator = 1;
                        int r = (b * heads + h) * nq + i;
                        switch (pattern.norm()) {
                            case Norm.Softmax(var sinkExpr) -> {
                                double sink = sinkExpr.map(e -> (Double) eval.eval(e, row)).orElse(Double.NEGATIVE_INFINITY);
                                double m = Math.max(max, sink);
                                double sum = sink == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sink - m);
                                // Scores of −∞ weigh nothing: a row whose scores are all −∞ is a masked row, never 0/0.
                                if (m != Double.NEGATIVE_INFINITY) for (int j = 0; j < nkv; j++) if (visible[j]) sum += weights[j] = Math.exp(x[j] - m);
                                denominator = m == Double.NEGATIVE_INFINITY ? 1 : sum;
                                lse[r] = m == Double.NEGATIVE_INFINITY ? m : m + Math.log(sum);
                            }
                            case Norm.Sigmoid(Expr biasExpr) -> {
                                double bias = (Double) eval.eval(biasExpr, row);
                                for (int j = 0; j < nkv; j++) if (visible[j]) weights[j] = Semantics.sigmoid(x[j] + bias);
                            }
                            case Norm.Identity none -> {
                                for (int j = 0; j < nkv; j++) if (visible[j]) weights[j] = x[j];
                            }
                        }
                        for (int d = 0; d < valueDim; d++) {
                            double o = 0;
                            for (int j = 0; j < nkv; j++) if (visible[j]) o += weights[j] * v.floats()[((b * kvHeads + kvHead) * nkv + j) * valueDim + d];
                            out[r * valueDim + d] = (Double) eval.eval(pattern.output(), new Point(b, h, position, 0, d, 0, o / denominator));
                        }
                    }
                }
            }
        }
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}
