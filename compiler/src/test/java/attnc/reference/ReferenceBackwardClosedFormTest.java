package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The reference backward on patterns whose gradients have a closed form, written out by
 * {@link DenseBackward} and by hand per input: plain softmax, ALiBi's slopes, a sink logit (with
 * fully masked rows), sigmoid with a per-head bias, no normalisation (decayed linear attention's
 * G), a gate, and a temperature input in the scale. All shapes have GQA (H = 4, Hkv = 2),
 * Nq ≠ Nkv and a query offset. Both sides sum the same terms in double precision: 1e-12.
 */
class ReferenceBackwardClosedFormTest {
    private static final int B = 2, H = 4, HKV = 2, NQ = 5, NKV = 7, D = 3, DV = 2, OFFSET = 2;
    private static final double SCALE = 1 / Math.sqrt(D);

    private final Random random = new Random(7);
    private final Tensor q = Tensor.random(DType.FLOAT32, new int[] {B, H, NQ, D}, random);
    private final Tensor k = Tensor.random(DType.FLOAT32, new int[] {B, HKV, NKV, D}, random);
    private final Tensor v = Tensor.random(DType.FLOAT32, new int[] {B, HKV, NKV, DV}, random);
    private final Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {B, H, NQ, DV}, random);

    @Test
    void plainSoftmaxAttention() throws CompileException {
        Pattern p = pattern("mask: q >= kv");
        ReferenceBackward.Exact g = backward(p, Map.of());
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j, (b, h, i, j, s) -> s,
                (b, h, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, null, null, flat(dOut));
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dk(), g.values().get(Wrt.K), "dk");
        assertClose(dense.dv(), g.values().get(Wrt.V), "dv");
    }

    @Test
    void alibiSlopes() throws CompileException {
        Pattern p = pattern("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)");
        Tensor slopes = Tensor.random(DType.FLOAT32, new int[] {H}, random);
        ReferenceBackward.Exact g = backward(p, Map.of("slopes", slopes));
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j,
                (b, h, i, j, s) -> s - (double) slopes.floats()[h] * (i - j), (b, h, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, null, null, flat(dOut));
        // d score/d slope_h = −(q − kv): dslope_h = −Σ dZ·(q − kv) over b, q and the visible kv.
        double[] expected = new double[H];
        forEach((b, h, i, j) -> expected[h] -= dense.dZ()[b][h][i][j] * (OFFSET + i - j));
        assertClose(expected, g.values().get(Wrt.input("slopes")), "dslopes");
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dk(), g.values().get(Wrt.K), "dk");
    }

    @Test
    void sinkLogit() throws CompileException {
        // Rows before position 3 see nothing: their LSE is the sink and every gradient from them is 0.
        Pattern p = pattern("input sinks: float32[H]\nmask: q >= kv && q >= 3\nnorm: softmax(sink = sinks[h])");
        Tensor sinks = Tensor.random(DType.FLOAT32, new int[] {H}, random);
        ReferenceBackward.Exact g = backward(p, Map.of("sinks", sinks));
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j && i >= 3, (b, h, i, j, s) -> s,
                (b, h, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, h -> sinks.floats()[h], null, flat(dOut));
        // The sink's weight is exp(z − LSE); its logit moves the denominator only: dz = −Σ P_sink · rowsum(dO∘O).
        double[] expected = new double[H];
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < NQ; i++) expected[h] -= dense.sinkWeight()[b][h][i] * dense.delta()[b][h][i];
        assertClose(expected, g.values().get(Wrt.input("sinks")), "dsinks");
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dv(), g.values().get(Wrt.V), "dv");
        double[] dq = g.values().get(Wrt.Q);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int c = 0; c < D; c++) assertEquals(0.0, dq[((b * H + h) * NQ) * D + c], "dq of the fully masked row at q = 2");
            }
        }
    }

    @Test
    void sigmoidWithAPerHeadBias() throws CompileException {
        Pattern p = pattern("input beta: float32[H]\nmask: q >= kv\nnorm: sigmoid(bias = beta[h])");
        Tensor beta = Tensor.random(DType.FLOAT32, new int[] {H}, random);
        ReferenceBackward.Exact g = backward(p, Map.of("beta", beta));
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j, (b, h, i, j, s) -> s,
                (b, h, i, j, s) -> 1, DenseBackward.Norm.SIGMOID, null, h -> beta.floats()[h], flat(dOut));
        // dS = dP∘P(1−P); the bias joins every logit of the head: dβ_h = Σ dS.
        double[] expected = new double[H];
        forEach((b, h, i, j) -> expected[h] += dense.dZ()[b][h][i][j]);
        assertClose(expected, g.values().get(Wrt.input("beta")), "dbeta");
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dk(), g.values().get(Wrt.K), "dk");
        assertClose(dense.dv(), g.values().get(Wrt.V), "dv");
    }

    @Test
    void noNormalisationDecayedLinear() throws CompileException {
        Pattern p = pattern("input G: float32[B, H, Nkv]\nmask: q >= kv\nscore: s * exp(G[b, h, q] - G[b, h, kv])\nnorm: none");
        Tensor gDecay = Tensor.random(DType.FLOAT32, new int[] {B, H, NKV}, random);
        ReferenceBackward.Exact g = backward(p, Map.of("G", gDecay));
        DenseBackward.Logit decay = (b, h, i, j, s) -> Math.exp(gDecay.floats()[(b * H + h) * NKV + i] - gDecay.floats()[(b * H + h) * NKV + j]);
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j,
                (b, h, i, j, s) -> s * decay.at(b, h, i, j, s), decay, DenseBackward.Norm.NONE, null, null, flat(dOut));
        // dS = dP; w = s·exp(G[q] − G[kv]) gives dG[q] += dP·w and dG[kv] −= dP·w.
        double[] expected = new double[B * H * NKV];
        forEach((b, h, i, j) -> {
            double w = dense.dZ()[b][h][i][j] * dense.s()[b][h][i][j] * decay.at(b, h, OFFSET + i, j, 0);
            expected[(b * H + h) * NKV + OFFSET + i] += w;
            expected[(b * H + h) * NKV + j] -= w;
        });
        assertClose(expected, g.values().get(Wrt.input("G")), "dG");
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dk(), g.values().get(Wrt.K), "dk");
        assertClose(dense.dv(), g.values().get(Wrt.V), "dv");
    }

    @Test
    void sigmoidGate() throws CompileException {
        Pattern p = pattern("input gate: float32[B, H, Nq, Dv]\nmask: q >= kv\noutput: o * sigmoid(gate[b, h, q - Q0, d])");
        Tensor gate = Tensor.random(DType.FLOAT32, new int[] {B, H, NQ, DV}, random);
        ReferenceBackward.Exact g = backward(p, Map.of("gate", gate));
        // out = o·σ(g): the gradient reaching o is dOut·σ(g), and dg = dOut·o·σ(g)(1 − σ(g)).
        double[] dO = new double[dOut.size()];
        for (int i = 0; i < dO.length; i++) dO[i] = dOut.getDouble(i) * sigmoid(gate.getDouble(i));
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j, (b, h, i, j, s) -> s,
                (b, h, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, null, null, dO);
        double[] expected = new double[gate.size()];
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < NQ; i++) for (int d = 0; d < DV; d++) {
            int at = ((b * H + h) * NQ + i) * DV + d;
            double sg = sigmoid(gate.getDouble(at));
            expected[at] = dOut.getDouble(at) * dense.o()[b][h][i][d] * sg * (1 - sg);
        }
        assertClose(expected, g.values().get(Wrt.input("gate")), "dgate");
        assertClose(dense.dq(), g.values().get(Wrt.Q), "dq");
        assertClose(dense.dv(), g.values().get(Wrt.V), "dv");
    }

    @Test
    void temperatureInTheScale() throws CompileException {
        Pattern p = pattern("input temp: float32[H]\nmask: q >= kv\nscale: 1.0 / (temp[h] * sqrt(float(D)))");
        float[] temps = {0.5f, 0.75f, 1.5f, 2f};
        Tensor temp = Tensor.ofFloats(DType.FLOAT32, new int[] {H}, temps);
        ReferenceBackward.Exact g = backward(p, Map.of("temp", temp));
        // s = q·k/(t√D): ds/dt = −s/t, so dt_h = −Σ dS·s/t_h. Each head has its own scale: one dense run per head.
        double[] expected = new double[H];
        double[] dq = new double[q.size()];
        for (int h = 0; h < H; h++) {
            int head = h;
            DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE / temps[h], (b, hh, i, j) -> i >= j, (b, hh, i, j, s) -> s,
                    (b, hh, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, null, null, flat(dOut));
            forEach((b, hh, i, j) -> {
                if (hh == head) expected[head] -= dense.dZ()[b][hh][i][j] * dense.s()[b][hh][i][j] / temps[head];
            });
            for (int b = 0; b < B; b++) {
                int from = (b * H + h) * NQ * D;
                System.arraycopy(dense.dq(), from, dq, from, NQ * D);
            }
        }
        assertClose(expected, g.values().get(Wrt.input("temp")), "dtemp");
        assertClose(dq, g.values().get(Wrt.Q), "dq");
    }

    @Test
    void theBackendHandsTheGradientsOverAsFloat32() throws CompileException {
        Pattern p = pattern("mask: q >= kv");
        Problem problem = new Problem(q, k, v, Map.of(), Map.<String, Expr>of(), OFFSET);
        attnc.launch.Gradients g;
        try (attnc.run.Kernel kernel = new ReferenceBackend().compile(p)) {
            g = kernel.backward(problem, kernel.forward(problem), dOut, Wrt.all(p));
        }
        DenseBackward.Outcome dense = DenseBackward.run(q, k, v, OFFSET, SCALE, (b, h, i, j) -> i >= j, (b, h, i, j, s) -> s,
                (b, h, i, j, s) -> 1, DenseBackward.Norm.SOFTMAX, null, null, flat(dOut));
        // Rounded once from double to float: within float32's half ulp, 6e-8 relative.
        assertCloseInFloat(dense.dq(), g.get(Wrt.Q), "dq");
        assertCloseInFloat(dense.dk(), g.get(Wrt.K), "dk");
        assertCloseInFloat(dense.dv(), g.get(Wrt.V), "dv");
    }

    // ---- helpers -----------------------------------------------------------------------

    private interface Element { void at(int b, int h, int i, int j); }

    /** Every (b, h, query row, key); invisible entries carry zeros in the dense matrices. */
    private static void forEach(Element e) {
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < NQ; i++) for (int j = 0; j < NKV; j++) e.at(b, h, i, j);
    }

    private static Pattern pattern(String text) throws CompileException {
        return Frontend.compile("closed_form", text);
    }

    private ReferenceBackward.Exact backward(Pattern p, Map<String, Tensor> inputs) {
        Problem problem = new Problem(q, k, v, inputs, Map.<String, Expr>of(), OFFSET);
        return ReferenceBackward.run(p, problem, Reference.run(p, problem).toResult(), dOut, Wrt.all(p));
    }

    private static double[] flat(Tensor t) {
        double[] out = new double[t.size()];
        for (int i = 0; i < out.length; i++) out[i] = t.getDouble(i);
        return out;
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        boolean anyNonZero = false;
        for (int i = 0; i < expected.length; i++) {
            int index = i;
            anyNonZero |= expected[i] != 0;
            assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-12 * Math.max(1, Math.abs(expected[i])),
                    () -> what + "[" + index + "]: expected " + expected[index] + ", got " + actual[index]);
        }
        assertTrue(anyNonZero, what + " is all zeros: the comparison would prove nothing");
    }

    private static void assertCloseInFloat(double[] expected, Tensor actual, String what) {
        assertEquals(expected.length, actual.size(), what + " size");
        boolean anyNonZero = false;
        for (int i = 0; i < expected.length; i++) {
            int index = i;
            anyNonZero |= expected[i] != 0;
            assertTrue(Math.abs(expected[i] - actual.getDouble(i)) <= 1e-7 * Math.abs(expected[i]) + 1e-12,
                    () -> what + "[" + index + "]: expected " + expected[index] + ", got " + actual.getDouble(index));
        }
        assertTrue(anyNonZero, what + " is all zeros: the comparison would prove nothing");
    }
}
