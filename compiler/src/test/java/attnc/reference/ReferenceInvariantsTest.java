package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Properties the kernel semantics promise whatever the pattern. */
class ReferenceInvariantsTest {
    private final Random random = new Random(7);

    /**
     * With V all ones, softmax gives each visible row exactly its total weight: 1 without a sink,
     * 1 − exp(z − LSE) with a sink logit z; a row with nothing visible gives 0 and LSE −∞ (or z).
     * Masks come from random patterns; score and scale are the defaults, so every visible weight is finite.
     */
    @Property(tries = 300)
    void softmaxWeightsSumToOne(@ForAll("launches") Launch launch, @ForAll boolean withSink) {
        double sink = 0.75;
        Pattern pattern = launch.pattern().withScore(new Expr.ScoreRef()).withScale(Pattern.DEFAULT_SCALE).withOutput(new Expr.OutputRef())
                .withNorm(new Norm.Softmax(withSink ? Optional.of(new Expr.FloatLit(sink)) : Optional.empty()));
        Problem p = launch.problem();
        Tensor ones = ones(p.v().shape());
        Reference.Exact result = Reference.run(pattern, new Problem(p.q(), p.k(), ones, p.inputs(), p.params(), p.queryOffset()));
        int valueDim = ones.dim(3);
        for (int row = 0; row < result.lse().length; row++) {
            double lse = result.lse()[row];
            boolean empty = withSink ? lse == sink && rowIsZero(result, row, valueDim) : lse == Double.NEGATIVE_INFINITY;
            double expected = empty ? 0 : withSink ? 1 - Math.exp(sink - lse) : 1;
            for (int d = 0; d < valueDim; d++) {
                double out = result.out()[row * valueDim + d];
                assertTrue(Math.abs(out - expected) <= 1e-12, "row " + row + ": sum of weights " + out + ", expected " + expected);
            }
        }
    }

    @Example
    void aFullyMaskedRowGivesZeroAndMinusInfinity() throws CompileException {
        // With q = 0..3 and kv = 0..3, kv > q hides every key from the last query only.
        Problem problem = problem(1, 2, 2, 4, 4, 0);
        Reference.Exact result = Reference.run(Frontend.compile("future.attn", "mask: kv > q"), problem);
        for (int b = 0, row = 0; b < 1; b++) {
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < 4; i++, row++) {
                    boolean masked = i == 3;
                    assertEquals(masked, result.lse()[row] == Double.NEGATIVE_INFINITY, "LSE of row " + row);
                    for (int d = 0; d < 3; d++) {
                        double out = result.out()[row * 3 + d];
                        assertTrue(masked ? out == 0 : out != 0 && !Double.isNaN(out), "row " + row + " output " + out);
                    }
                }
            }
        }
    }

    @Example
    void aFullyMaskedRowWithASinkHasTheSinkAsLse() throws CompileException {
        float[] sinks = {0.5f, -1.25f};
        Pattern pattern = Frontend.compile("sink.attn", "input sinks: float32[H]\nmask: false\nnorm: softmax(sink = sinks[h])");
        Problem p = problem(1, 2, 1, 3, 5, Problem.BOTTOM_RIGHT);
        Reference.Exact result = Reference.run(pattern, new Problem(p.q(), p.k(), p.v(),
                Map.of("sinks", Tensor.ofFloats(DType.FLOAT32, new int[] {2}, sinks)), Map.of(), Problem.BOTTOM_RIGHT));
        for (int row = 0; row < 6; row++) assertEquals(sinks[row / 3], result.lse()[row], "LSE of row " + row);
        for (double out : result.out()) assertEquals(0.0, out);
    }

    /** A row whose visible scores are all −∞ is as good as masked: output 0 and LSE −∞, not 0/0. */
    @Example
    void scoresOfMinusInfinityEverywhereActAsAMaskedRow() throws CompileException {
        Pattern pattern = Frontend.compile("minus_infinity.attn", "mask: true\nscore: q >= kv ? s : log(0.0 * s)");
        Reference.Exact result = Reference.run(pattern, problem(1, 1, 1, 4, 4, 0));
        // Query 0 sees key 0 with a finite score; queries 1..3 see every key, but only the causal ones count.
        for (int row = 0; row < 4; row++) assertTrue(Double.isFinite(result.lse()[row]), "row " + row);
        Reference.Exact none = Reference.run(Frontend.compile("none.attn", "mask: true\nscore: log(0.0 * s)"), problem(1, 1, 1, 4, 4, 0));
        for (double lse : none.lse()) assertEquals(Double.NEGATIVE_INFINITY, lse);
        for (double out : none.out()) assertEquals(0.0, out);
    }

    /** An inner let of the same name hides the outer one inside its body only (lexical scope, as the checker resolves names). */
    @Example
    void aLetShadowsOnlyInsideItsBody() throws CompileException {
        Pattern shadowing = Frontend.compile("shadow.attn", "mask: (let x = 1; (let x = 2; x) + x) == 3 && (let y = kv; (let y = q; y) - y) == q - kv");
        Pattern plain = Frontend.compile("plain.attn", "mask: true");
        Problem p = problem(1, 1, 1, 4, 4, 0);
        assertArrayEquals(Reference.run(plain, p).out(), Reference.run(shadowing, p).out());
    }

    /** GQA: each group of H / Hkv query heads reads one kv head, the same as giving every query head its own copy. */
    @Example
    void groupedQueryAttentionEqualsRepeatedKvHeads() throws CompileException {
        Pattern pattern = Frontend.compile("heads.attn", "mask: q >= kv || h == 1\nscore: s * float(h + 1)");
        for (int kvHeads : new int[] {1, 2}) {
            Problem grouped = problem(2, 4, kvHeads, 5, 7, Problem.BOTTOM_RIGHT);
            Problem repeated = new Problem(grouped.q(), repeatHeads(grouped.k(), 4), repeatHeads(grouped.v(), 4), Map.of());
            assertArrayEquals(Reference.run(pattern, repeated).out(), Reference.run(pattern, grouped).out(), "Hkv = " + kvHeads);
        }
    }

    /** Queries placed at an offset are the matching rows of a full causal run. */
    @Example
    void queryOffsetShiftsTheCausalMask() throws CompileException {
        Pattern causal = Frontend.compile("causal.attn", "mask: q >= kv");
        Problem full = problem(1, 1, 1, 8, 8, 0);
        double[] all = Reference.run(causal, full).out();
        int valueDim = full.v().dim(3);
        for (int offset : new int[] {0, 2, 5}) {
            Tensor rows = sliceRows(full.q(), offset, 3);
            for (int alignment : offset == 5 ? new int[] {5, Problem.BOTTOM_RIGHT} : new int[] {offset}) {
                double[] part = Reference.run(causal, new Problem(rows, full.k(), full.v(), Map.of(), Map.of(), alignment)).out();
                assertArrayEquals(Arrays.copyOfRange(all, offset * valueDim, (offset + 3) * valueDim), part, "offset " + alignment);
            }
        }
    }

    /** More queries than keys: bottom-right alignment falls back to offset 0, so early queries see fewer keys. */
    @Example
    void moreQueriesThanKeys() throws CompileException {
        Problem p = problem(1, 2, 1, 6, 3, Problem.BOTTOM_RIGHT);
        Reference.Exact result = Reference.run(Frontend.compile("causal.attn", "mask: q >= kv"), p);
        DirectAttention.Outcome direct = DirectAttention.run(p.q(), p.k(), p.v(), 0,
                DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s));
        ReferenceDirectTest.assertClose(direct.out(), result.out(), "output");
        ReferenceDirectTest.assertClose(direct.lse(), result.lse(), "LSE");
    }

    /** bf16 tensors hold bf16 values (low 16 bits zero), and the reference computes with exactly those values. */
    @Example
    void bf16InputsAreRounded() throws CompileException {
        int[] shape = {1, 2, 4, 8};
        float[] raw = new float[2 * 4 * 8];
        for (int i = 0; i < raw.length; i++) raw[i] = random.nextFloat() * 2 - 1;
        Tensor q = Tensor.ofFloats(DType.BFLOAT16, shape, raw);
        boolean changed = false;
        for (int i = 0; i < raw.length; i++) {
            float x = q.floats()[i];
            assertEquals(0, Float.floatToRawIntBits(x) & 0xFFFF, "not a bf16 value: " + x);
            assertTrue(Math.abs(x - raw[i]) <= Math.abs(raw[i]) * 0x1p-8, "rounded too far: " + raw[i] + " -> " + x);
            changed |= x != raw[i];
        }
        assertTrue(changed, "no value needed rounding");
        Tensor k = Tensor.ofFloats(DType.BFLOAT16, shape, raw), v = Tensor.ofFloats(DType.BFLOAT16, shape, raw);
        Reference.Exact result = Reference.run(Frontend.compile("causal.attn", "mask: q >= kv"), new Problem(q, k, v, Map.of()));
        DirectAttention.Outcome direct = DirectAttention.run(q, k, v, 0, DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s));
        ReferenceDirectTest.assertClose(direct.out(), result.out(), "output");
        Tensor unrounded = Tensor.ofFloats(DType.FLOAT32, shape, raw);
        double[] fromRaw = DirectAttention.run(unrounded, unrounded, unrounded, 0,
                DirectAttention.Rules.softmax((b, h, i, j) -> i >= j, (b, h, i, j, s) -> s)).out();
        assertTrue(!Arrays.equals(fromRaw, result.out()), "rounding to bf16 made no difference, so this test shows nothing");
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }

    private Problem problem(int batch, int heads, int kvHeads, int nq, int nkv, int offset) {
        return new Problem(Tensor.random(DType.FLOAT32, new int[] {batch, heads, nq, 4}, random),
                Tensor.random(DType.FLOAT32, new int[] {batch, kvHeads, nkv, 4}, random),
                Tensor.random(DType.FLOAT32, new int[] {batch, kvHeads, nkv, 3}, random), Map.of(), Map.of(), offset);
    }

    private static boolean rowIsZero(Reference.Exact result, int row, int valueDim) {
        for (int d = 0; d < valueDim; d++) if (result.out()[row * valueDim + d] != 0) return false;
        return true;
    }

    private static Tensor ones(int[] shape) {
        float[] data = new float[Math.toIntExact(Tensor.elementCount(shape))];
        Arrays.fill(data, 1f);
        return Tensor.ofFloats(DType.FLOAT32, shape, data);
    }

    /** [B, Hkv, N, X] to [B, heads, N, X], query head h reading kv head h / (heads / Hkv). */
    private static Tensor repeatHeads(Tensor t, int heads) {
        int batch = t.dim(0), kvHeads = t.dim(1), rowSize = t.dim(2) * t.dim(3);
        float[] out = new float[batch * heads * rowSize];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                System.arraycopy(t.floats(), (b * kvHeads + h / (heads / kvHeads)) * rowSize, out, (b * heads + h) * rowSize, rowSize);
            }
        }
        return Tensor.ofFloats(DType.FLOAT32, new int[] {batch, heads, t.dim(2), t.dim(3)}, out);
    }

    /** Query rows [from, from + count) of a [1, 1, N, D] tensor. */
    private static Tensor sliceRows(Tensor q, int from, int count) {
        int headDim = q.dim(3);
        return Tensor.ofFloats(DType.FLOAT32, new int[] {1, 1, count, headDim},
                Arrays.copyOfRange(q.floats(), from * headDim, (from + count) * headDim));
    }
}
