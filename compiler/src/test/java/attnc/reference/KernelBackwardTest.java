package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.run.Attnc;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernel#backward} through the reference backend: which gradients a pattern has, asking
 * for a subset, and arguments refused with one line naming what was expected.
 */
class KernelBackwardTest {
    private static final String GATED = """
            input slopes: float32[H]
            input gate: float32[B, H, Nq, Dv]
            input doc: int32[B, Nkv]
            input cut: float32[H]
            mask: q >= kv && doc[b, q] == doc[b, kv] && cut[h] < 2.0
            score: s - slopes[h] * float(q - kv)
            output: o * sigmoid(gate[b, h, q - Q0, d])
            """;

    private final Random random = new Random(5);
    private final Kernel kernel = Attnc.compile("gated", GATED, "reference", Map.of());
    private final Problem problem = new Problem(floats(2, 4, 3, 4), floats(2, 2, 6, 4), floats(2, 2, 6, 2), Map.of(
            "slopes", floats(4), "gate", floats(2, 4, 3, 2), "doc", Tensor.ofInts(DType.INT32, new int[] {2, 6}, new int[12]), "cut", floats(4)));
    private final Tensor dOut = floats(2, 4, 3, 2);

    KernelBackwardTest() throws CompileException {}

    @Test
    void everyGradientByDefaultInOrder() {
        Gradients g = kernel.backward(problem, kernel.forward(problem), dOut);
        assertEquals(List.of("dq", "dk", "dv", "slopes", "gate"), g.values().keySet().stream().map(Wrt::label).toList());
        assertArrayEquals(new int[] {2, 4, 3, 4}, g.dq().shape());
        assertArrayEquals(new int[] {2, 2, 6, 4}, g.dk().shape());
        assertArrayEquals(new int[] {2, 2, 6, 2}, g.dv().shape());
        assertArrayEquals(new int[] {4}, g.input("slopes").shape());
        assertEquals(DType.FLOAT32, g.input("gate").dtype());
    }

    @Test
    void aSubsetIsComputedAlone() {
        Result forward = kernel.forward(problem);
        Gradients all = kernel.backward(problem, forward, dOut);
        Gradients some = kernel.backward(problem, forward, dOut, Set.of(Wrt.K, Wrt.input("slopes")));
        assertEquals(Set.of(Wrt.K, Wrt.input("slopes")), some.values().keySet());
        assertArrayEquals(all.dk().floats(), some.dk().floats());
        assertArrayEquals(all.input("slopes").floats(), some.input("slopes").floats());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, some::dq);
        assertEquals("no gradient dq was computed; have dk, slopes", missing.getMessage());
    }

    @Test
    void inputsWithoutGradientsAreRefused() {
        Result forward = kernel.forward(problem);
        assertEquals("no gradient for 'doc': input 'doc' is int32, and only float inputs have gradients; the pattern's gradients are dq, dk, dv, slopes, gate",
                refusal(() -> kernel.backward(problem, forward, dOut, Set.of(Wrt.input("doc")))));
        assertEquals("no gradient for 'cut': input 'cut' is read only by the mask or selection, which have no gradient; the pattern's gradients are dq, dk, dv, slopes, gate",
                refusal(() -> kernel.backward(problem, forward, dOut, Set.of(Wrt.input("cut")))));
        assertEquals("no gradient for 'bias': the pattern has no input 'bias'; the pattern's gradients are dq, dk, dv, slopes, gate",
                refusal(() -> kernel.backward(problem, forward, dOut, Set.of(Wrt.input("bias")))));
    }

    @Test
    void argumentsThatDoNotFitAreRefused() {
        Result forward = kernel.forward(problem);
        assertEquals("dOut: expected shape [2, 4, 3, 2] [B, H, Nq, Dv], got [2, 4, 3, 4]",
                refusal(() -> kernel.backward(problem, forward, floats(2, 4, 3, 4))));
        assertEquals("forward result: the output transform's backward needs o, the weighted sum before it (Result.preOutput); got none",
                refusal(() -> kernel.backward(problem, new Result(forward.out(), forward.lse(), forward.outShape()), dOut)));
        assertEquals("forward result: a softmax pattern's backward needs its LSE [B, H, Nq]; got none",
                refusal(() -> kernel.backward(problem, new Result(forward.out(), null, forward.outShape(), forward.preOutput()), dOut)));
        assertEquals("forward result: expected out of 48 values [2, 4, 3, 2] [B, H, Nq, Dv], got 6 (pass the Result of forward on this problem)",
                refusal(() -> kernel.backward(problem, new Result(new float[6], forward.lse(), forward.outShape(), forward.preOutput()), dOut)));
    }

    @Test
    void forwardKeepsOBeforeTheOutputTransformOnlyWhenThereIsOne() throws CompileException {
        Result gated = kernel.forward(problem);
        assertNotNull(gated.preOutput());
        Reference.Exact exact = Reference.run(kernel.pattern(), problem);
        for (int i = 0; i < exact.out().length; i++) {
            double sigmoid = 1 / (1 + Math.exp(-problem.inputs().get("gate").getDouble(i)));
            assertEquals(exact.out()[i], exact.preOutput()[i] * sigmoid, 1e-12);
        }
        Kernel plain = Attnc.compile("causal", "mask: q >= kv", "reference", Map.of());
        Problem qkv = new Problem(problem.q(), problem.k(), problem.v(), Map.of());
        assertNull(plain.forward(qkv).preOutput());
    }

    @Test
    void backendsWithoutABackwardSaySo() {
        assertTrue(Backend.named("reference").orElseThrow().hasBackward());
        Pattern pattern = kernel.pattern();
        Kernel forwardOnly = new Kernel() {
            @Override public Pattern pattern() { return pattern; }
            @Override public Result forward(Problem p) { return kernel.forward(p); }
        };
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> forwardOnly.backward(problem, forwardOnly.forward(problem), dOut));
        assertTrue(e.getMessage().startsWith("this backend has no backward pass yet"), e.getMessage());
        assertFalse(new Backend() {
            @Override public String name() { return "none"; }
            @Override public Kernel compile(Pattern p) { return forwardOnly; }
        }.hasBackward());
    }

    private static String refusal(Runnable call) {
        return assertThrows(ShapeException.class, call::run).getMessage();
    }

    private Tensor floats(int... shape) {
        return Tensor.random(DType.FLOAT32, shape, random);
    }
}
