package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.pass.Passes;
import attnc.reference.ReferenceBackward;
import attnc.tensor.Tensor;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every pattern in examples/ runs backward on the JVM and agrees with the reference backward
 * ({@link GradientAgreement}) on random inputs, as {@link ExamplesTest} does for the forward: sizes
 * that cross tile boundaries (odd N, Nq ≠ Nkv, bottom-right offset, GQA), every gradient the
 * pattern has, in deterministic mode and not.
 */
class GradientExamplesTest {
    static java.util.stream.Stream<Path> examples() throws java.io.IOException {
        return ExamplesTest.examples();
    }

    @ParameterizedTest
    @MethodSource("examples")
    void agreesWithReference(Path file) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
        int b = 2, h = 4, hkv = 2, nq = 97, nkv = 131, d = 32, dv = 24;
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", b, "H", h, "Hkv", hkv, "Nq", nq, "Nkv", nkv, "D", d, "Dv", dv));
        Random r = new Random(file.getFileName().toString().hashCode());
        Map<String, Tensor> inputs = new HashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), ExamplesTest.randomInput(input, sizes, r));
        Map<String, Expr> params = new HashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty()) params.put(p.name(), p.type() == Type.FLOAT ? new Expr.FloatLit(0.5) : p.type() == Type.INT ? new Expr.IntLit(3) : new Expr.BoolLit(true));
        }
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {b, h, nq, d}, r), Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, d}, r),
                Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, dv}, r), inputs, params, Problem.BOTTOM_RIGHT);
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Result forward = kernel.forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {b, h, nq, dv}, r);
        var reference = ReferenceBackward.run(pattern, problem, forward, dOut, Wrt.all(pattern));
        for (BackwardOptions options : new BackwardOptions[] {BackwardOptions.standard(), BackwardOptions.reproducible()}) {
            Gradients gradients = kernel.backward(problem, forward, dOut, Wrt.all(pattern), options);
            GradientAgreement.check(reference, gradients, Wrt.all(pattern), GradientAgreement.terms(problem), file + " with " + options);
            // Not vacuous: something flowed into every gradient.
            gradients.values().forEach((wrt, g) -> {
                boolean nonZero = false;
                for (float x : g.floats()) nonZero |= x != 0f;
                assertTrue(nonZero, file + ": " + wrt.label() + " is all zeros");
            });
        }
    }
}
