package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.reference.Reference;
import attnc.reference.ReferenceBackward;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Backends that exist only in the tests, so that {@code attnc run}'s comparison with the reference
 * is exercised before the real backends exist: one honest (the reference on the pattern it is
 * given, so folding must be right), one that is off by a fixed amount.
 */
final class TestBackends {
    private TestBackends() {}

    /** Runs the reference on exactly the pattern and problem it is handed; remembers the pattern. */
    public static final class Honest implements Backend {
        static volatile Pattern lastCompiled;

        @Override public String name() { return "test-honest"; }

        @Override
        public Kernel compile(Pattern pattern) {
            lastCompiled = pattern;
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }
                @Override public Result forward(Problem problem) { return Reference.run(pattern, problem).toResult(); }
            };
        }
    }

    /** Adds 0.01 to every output element: a relative error far above fp32's tolerance. */
    public static final class OffByOneHundredth implements Backend {
        @Override public String name() { return "test-off"; }

        @Override
        public Kernel compile(Pattern pattern) {
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }

                @Override
                public Result forward(Problem problem) {
                    Result exact = Reference.run(pattern, problem).toResult();
                    float[] out = exact.out().clone();
                    for (int i = 0; i < out.length; i++) out[i] += 0.01f;
                    return new Result(out, exact.lse(), exact.outShape());
                }
            };
        }
    }

    /**
     * The reference's forward and backward, with every dk element 0.001 too large: a gradient the
     * check must fail; its "deterministic" backward also differs from run to run.
     */
    public static final class WrongGradient implements Backend {
        @Override public String name() { return "test-bad-grad"; }

        @Override public boolean hasBackward() { return true; }

        @Override
        public Kernel compile(Pattern pattern) {
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }

                @Override public Result forward(Problem problem) { return Reference.run(pattern, problem).toResult(); }

                @Override
                public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
                    Map<Wrt, Tensor> values = new LinkedHashMap<>(ReferenceBackward.run(pattern, problem, forward, dOut, wanted).toGradients().values());
                    float[] dk = values.get(Wrt.K).floats().clone();
                    for (int i = 0; i < dk.length; i++) dk[i] += 0.001f;
                    values.put(Wrt.K, Tensor.ofFloats(DType.FLOAT32, problem.k().shape(), dk));
                    return new Gradients(values);
                }

                private int runs;

                /** Claims to be deterministic, but each run's dv[0] is a little larger than the last's. */
                @Override
                public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
                    Map<Wrt, Tensor> values = new LinkedHashMap<>(backward(problem, forward, dOut, wanted).values());
                    float[] dv = values.get(Wrt.V).floats().clone();
                    dv[0] += 1e-3f * ++runs;
                    values.put(Wrt.V, Tensor.ofFloats(DType.FLOAT32, problem.v().shape(), dv));
                    return new Gradients(values);
                }
            };
        }
    }

    /** Supports head dimensions up to 64 only, as a GPU backend limits them: the refusal must reach the user as one line. */
    public static final class Limited implements Backend {
        @Override public String name() { return "test-limited"; }

        @Override
        public Kernel compile(Pattern pattern) {
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }

                @Override
                public Result forward(Problem problem) {
                    int d = problem.q().dim(3);
                    if (d > 64) throw new IllegalArgumentException("head dims must be multiples of 16 up to 64, got " + d);
                    return Reference.run(pattern, problem).toResult();
                }
            };
        }
    }
}
