package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The reference against direct loops ({@link DirectAttention}) for the patterns every backend
 * meets first. Both compute in double precision from the same float inputs, in nearly the same
 * order, so they agree to 1e-12 (relative to the value, absolute below 1).
 */
class ReferenceDirectTest {
    private static final double TOLERANCE = 1e-12;
    // Nq < Nkv with the default bottom-right alignment, GQA with two query heads per kv head.
    private static final int B = 2, H = 4, HKV = 2, NQ = 5, NKV = 9, D = 8, DV = 6;

    private final Random random = new Random(42);
    private final Tensor q = Tensor.random(DType.FLOAT32, new int[] {B, H, NQ, D}, random);
    private final Tensor k = Tensor.random(DType.FLOAT32, new int[] {B, HKV, NKV, D}, random);
    private final Tensor v = Tensor.random(DType.FLOAT32, new int[] {B, HKV, NKV, DV}, random);
    private final int offset = NKV - NQ;

    @Test
    void causal() throws CompileException {
        check("mask: q >= kv", Map.of(), Map.of(), DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s));
    }

    @Test
    void slidingWindow() throws CompileException {
        check("param window: int = 1024\nmask: q >= kv && q - kv < window", Map.of(), Map.of("window", new Expr.IntLit(3)),
                DirectAttention.Rules.softmax((b, h, i, j) -> i >= j && i - j < 3, (b, h, i, j, s) -> s));
    }

    @Test
    void alibi() throws CompileException {
        float[] slopes = {0.5f, 0.25f, 0.125f, 0.0625f};
        check("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)",
                Map.of("slopes", Tensor.ofFloats(DType.FLOAT32, new int[] {H}, slopes)), Map.of(),
                DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s - slopes[h] * (double) (i - j)));
    }

    @Test
    void softcap() throws CompileException {
        // A cap of 0.3 is below the larger scores here, so tanh bends them.
        check("param cap: float = 30.0\nmask: true\nscore: cap * tanh(s / cap)", Map.of(), Map.of("cap", new Expr.FloatLit(0.3)),
                DirectAttention.Rules.softmax((b, h, i, j) -> true, (b, h, i, j, s) -> 0.3 * Math.tanh(s / 0.3)));
    }

    @Test
    void documentMask() throws CompileException {
        // Unsorted ids, so a document's tokens need not be contiguous.
        int[] ids = {0, 0, 1, 1, 1, 0, 2, 2, 1, 3, 3, 3, 0, 0, 1, 1, 2, 2};
        check("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]",
                Map.of("doc", Tensor.ofInts(DType.INT32, new int[] {B, NKV}, ids)), Map.of(),
                DirectAttention.Rules.softmax((b, h, i, j) -> ids[b * NKV + i] == ids[b * NKV + j], (b, h, i, j, s) -> s));
    }

    @Test
    void sigmoidGateOnTheOutput() throws CompileException {
        float[] gate = new float[B * H * NKV];
        for (int i = 0; i < gate.length; i++) gate[i] = random.nextFloat() * 6 - 3;
        // Gates indexed by absolute q need a dimension that covers every position: Nkv here.
        check("input gate: float32[B, H, Nkv]\nmask: q >= kv\noutput: o * sigmoid(gate[b, h, q])",
                Map.of("gate", Tensor.ofFloats(DType.FLOAT32, new int[] {B, H, NKV}, gate)), Map.of(),
                DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s)
                        .withOutput((b, h, i, d, o) -> o / (1 + Math.exp(-gate[(b * H + h) * NKV + i]))));
    }

    @Test
    void sigmoidNormalisationWithBias() throws CompileException {
        check("mask: q >= kv\nnorm: sigmoid(bias = -1.5)", Map.of(), Map.of(),
                new DirectAttention.Rules((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s, DirectAttention.Normalisation.SIGMOID, -1.5,
                        (b, h, i, d, o) -> o));
    }

    @Test
    void unnormalisedDecayedLinearAttention() throws CompileException {
        check("mask: q >= kv\nscore: s * exp(-0.25 * float(q - kv))\nnorm: none", Map.of(), Map.of(),
                new DirectAttention.Rules((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s * Math.exp(-0.25 * (i - j)),
                        DirectAttention.Normalisation.NONE, 0, (b, h, i, d, o) -> o));
    }

    private void check(String source, Map<String, Tensor> inputs, Map<String, Expr> params, DirectAttention.Rules rules) throws CompileException {
        Pattern pattern = Frontend.compile("direct.attn", source);
        Reference.Exact reference = Reference.run(pattern, new Problem(q, k, v, inputs, params, Problem.BOTTOM_RIGHT));
        DirectAttention.Outcome direct = DirectAttention.run(q, k, v, offset, rules);
        assertClose(direct.out(), reference.out(), "output");
        if (rules.norm() == DirectAttention.Normalisation.SOFTMAX) assertClose(direct.lse(), reference.lse(), "LSE");
        else assertEquals(null, reference.lse(), "LSE exists only for softmax");
    }

    static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        boolean someNonZero = false;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            assertTrue(!Double.isNaN(a), what + "[" + i + "] is NaN");
            someNonZero |= a != 0;
            if (e == a) continue;
            assertTrue(Math.abs(e - a) <= TOLERANCE * Math.max(1, Math.abs(e)), what + "[" + i + "]: expected " + e + ", got " + a);
        }
        assertTrue(someNonZero, what + " is all zeros: the comparison would prove nothing");
    }
}
