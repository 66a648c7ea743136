package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.ShapeException;
import attnc.pass.Passes;
import attnc.reference.ElementEvaluator;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** Loads whose indices leave their dimension are refused before launch, exactly where the reference would evaluate them. */
class IndexRangesTest {
    private final Random random = new Random(5);

    private Tensor floats(int... shape) {
        return Tensor.random(DType.FLOAT32, shape, random);
    }

    private static Tensor ints(int[] shape, int[] values) {
        return Tensor.ofInts(DType.INT32, shape, values);
    }

    private String refused(Pattern pattern, Problem problem) {
        return assertThrows(ShapeException.class, () -> Binding.of(pattern, problem)).getMessage();
    }

    @Example
    void aSelectionSmallerThanItsIndexNeedsIsRefused() throws CompileException {
        Pattern topk = Frontend.compile("topk", "input sel: int32[B, H, NQB, K]\nmask: q >= kv\nselect: kv / 64 in sel[b, h, q / 64]");
        Problem problem = new Problem(floats(1, 2, 256, 8), floats(1, 2, 256, 8), floats(1, 2, 256, 8),
                Map.of("sel", ints(new int[] {1, 2, 3, 2}, new int[12])));
        assertEquals("input 'sel' [1, 2, 3, 2]: index q / 64 of dimension 2 is 3 at b=0, h=0, q=192, kv=0; expected 0..2", refused(topk, problem));
    }

    @Example
    void anIndexReadFromDataIsCheckedAgainstItsTable() throws CompileException {
        Pattern bucketed = Frontend.compile("bucketed", "input bucket: int32[Nkv]\ninput bias: float32[NB]\nmask: q >= kv\nscore: s + bias[bucket[kv]]");
        int[] buckets = new int[16];
        buckets[9] = 4;
        Problem problem = new Problem(floats(1, 1, 16, 4), floats(1, 1, 16, 4), floats(1, 1, 16, 4),
                Map.of("bucket", ints(new int[] {16}, buckets), "bias", floats(4)));
        assertEquals("input 'bias' [4]: index bucket[kv] of dimension 0 is 4 at b=0, h=0, q=9, kv=9; expected 0..3", refused(bucketed, problem));
    }

    @Example
    void aLoadTheMaskNeverReachesIsNotRefused() throws CompileException {
        // T5-style: a negative distance would index out of the table, but the mask keeps only q >= kv.
        Pattern t5 = Passes.optimize(Frontend.compile("t5", "input bias: float32[H, 8]\nlet distance = q - kv\n"
                + "mask: q >= kv\nscore: s + bias[h, distance < 4 ? distance : min(4 + bitlen(distance) - 3, 7)]"), Map.of());
        Problem problem = new Problem(floats(1, 2, 100, 4), floats(1, 2, 100, 4), floats(1, 2, 100, 4), Map.of("bias", floats(2, 8)));
        Binding.of(t5, problem);
        Pattern unmasked = t5.withMask(new attnc.ir.Expr.BoolLit(true));
        assertEquals("input 'bias' [2, 8]: index ", refused(unmasked, problem).substring(0, 27));
    }

    @Example
    void rowsOfTheOutputAreCheckedPerChannel() throws CompileException {
        Pattern gated = Frontend.compile("gated", "input gate: float32[B, H, Nq, G]\nmask: true\noutput: o * gate[b, h, q - Q0, d]");
        Problem problem = new Problem(floats(1, 1, 4, 4), floats(1, 1, 4, 4), floats(1, 1, 4, 6), Map.of("gate", floats(1, 1, 4, 5)));
        assertEquals("input 'gate' [1, 1, 4, 5]: index d of dimension 3 is 5 at b=0, h=0, q=0, d=5; expected 0..4", refused(gated, problem));
    }

    /**
     * An index one past its table in every place a load can sit is refused, naming the input; where
     * the reference never evaluates the load (the right of a || whose left always holds, the
     * branch a ?: never takes), it is not. B = 1, H = 2, Nq = Nkv = 16.
     */
    @Example
    void everyPlaceALoadCanSitIsChecked() throws CompileException {
        Map<String, String> refusedAt = new java.util.LinkedHashMap<>();
        refusedAt.put("mask: true\nscore: s + t[kv + 1]", "t");
        refusedAt.put("mask: true\nscale: t[h + 15]", "t");
        refusedAt.put("mask: true\nnorm: softmax(sink = t[h + 15])", "t");
        refusedAt.put("mask: true\nnorm: sigmoid(bias = t[h + 15])", "t");
        refusedAt.put("mask: t[kv + 1] > -10.0 && q >= kv", "t");
        refusedAt.put("mask: q < 0 || t[kv + 1] > -10.0", "t");
        refusedAt.put("mask: t[kv + 1] > 0.0 ? true : false", "t");
        refusedAt.put("mask: (let x = t[kv + 1]; x > -10.0)", "t");
        refusedAt.put("mask: true\nscore: s + t[i[kv + 1]]", "i");
        refusedAt.put("mask: true\nselect: kv in sel[b, h + 1]", "sel");
        refusedAt.put("mask: true\nscore: s + u[q - Q0 + 1]", "u");
        refusedAt.put("mask: true\noutput: o * t[d + 13]", "t");
        assertPlaces(refusedAt, List.of("mask: q >= 0 || t[kv + 1] > -10.0", "mask: q >= 0 ? true : t[kv + 1] > -10.0",
                "mask: q < 0 && t[kv + 1] > -10.0", "mask: true\nscore: s + t[kv]\noutput: o * t[d + 12]"));
    }

    /** Loads in the branches of ?:, in a member's value or leading index, and under nested guards are checked where they are evaluated. */
    @Example
    void loadsInBranchesMembersAndNestedGuards() throws CompileException {
        Map<String, String> refusedAt = new java.util.LinkedHashMap<>();
        refusedAt.put("mask: q >= 0 ? t[kv + 1] > -10.0 : true", "t");
        refusedAt.put("mask: q < 0 ? true : t[kv + 1] > -10.0", "t");
        refusedAt.put("mask: i[kv + 1] in sel[b, h]", "i");
        refusedAt.put("mask: kv in sel[b, i[kv + 1] % 2]", "i");
        // The load is evaluated only where q < 0 and kv < 100: nowhere.
        assertPlaces(refusedAt, List.of("mask: q < 0 && (kv < 100 && t[kv + 1] > -10.0)", "mask: q < 0 ? (kv < 100 && t[kv + 1] > -10.0) : true"));
    }

    /** The inputs {@link #placesProblem} binds: t [T], i [Nkv], sel [B, H, K], u [Nq]. */
    private static final String PLACES_TABLES = "input t: float32[T]\ninput i: int32[Nkv]\ninput sel: int32[B, H, K]\ninput u: float32[Nq]\n";

    /** Each pattern of {@code refusedAt} refused naming its input; each of {@code unreached} bound, its out-of-range load never evaluated. */
    private void assertPlaces(Map<String, String> refusedAt, List<String> unreached) throws CompileException {
        for (var row : refusedAt.entrySet()) {
            String message = refused(Frontend.compile("p", PLACES_TABLES + row.getKey()), placesProblem());
            assertEquals("input '" + row.getValue() + "'", message.substring(0, message.indexOf(' ', 7)), row.getKey() + ": " + message);
        }
        for (String source : unreached) Binding.of(Frontend.compile("p", PLACES_TABLES + source), placesProblem());
    }

    /** An index read from data is checked in every batch and head, for row sites (scale) and key sites (score) alike, and a refusal names channel 0. */
    @Example
    void dataIndicesAreCheckedInEveryBatchAndHead() throws CompileException {
        Problem problem = new Problem(floats(2, 2, 16, 4), floats(2, 2, 16, 4), floats(2, 2, 16, 4), Map.of("ib", ints(new int[] {2}, new int[] {0, 5}),
                "ih", ints(new int[] {2}, new int[] {0, 5}), "u", floats(2), "t", floats(16), "jb", ints(new int[] {2}, new int[] {0, 1}),
                "jh", ints(new int[] {2}, new int[] {0, 1})));
        String tables = "input ib: int32[B]\ninput ih: int32[H]\ninput u: float32[U]\ninput t: float32[T]\ninput jb: int32[B]\ninput jh: int32[H]\n";
        assertEquals("input 'u' [2]: index ib[b] of dimension 0 is 5 at b=1, h=0, q=0; expected 0..1",
                refused(Frontend.compile("p", tables + "mask: true\nscale: u[ib[b]]"), problem));
        assertEquals("input 'u' [2]: index ih[h] of dimension 0 is 5 at b=0, h=1, q=0; expected 0..1",
                refused(Frontend.compile("p", tables + "mask: true\nscale: u[ih[h]]"), problem));
        assertEquals("input 't' [16]: index jb[b] + kv of dimension 0 is 16 at b=1, h=0, q=0, kv=15; expected 0..15",
                refused(Frontend.compile("p", tables + "mask: true\nscore: s + t[jb[b] + kv]"), problem));
        assertEquals("input 't' [16]: index jh[h] + kv of dimension 0 is 16 at b=0, h=1, q=0, kv=15; expected 0..15",
                refused(Frontend.compile("p", tables + "mask: true\nscore: s + t[jh[h] + kv]"), problem));
        assertEquals("input 't' [16]: index d + 16 of dimension 0 is 16 at b=0, h=0, q=0, d=0; expected 0..15",
                refused(Frontend.compile("p", tables + "mask: true\noutput: o * t[d + 16]"), problem));
    }

    private Problem placesProblem() {
        return new Problem(floats(1, 2, 16, 4), floats(1, 2, 16, 4), floats(1, 2, 16, 4), Map.of("t", floats(16), "i", ints(new int[] {16}, new int[16]),
                "sel", ints(new int[] {1, 2, 3}, new int[6]), "u", floats(16)));
    }

    /** The generators' launches index within bounds by construction: none may be refused. */
    @Property(tries = 300)
    void inBoundsLaunchesAreNeverRefused(@ForAll("launches") Launch launch) {
        Binding.of(launch.pattern(), launch.problem());
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }

    private static final List<String> MASKS = List.of("true", "q >= kv", "q - kv < 5", "kv < 7", "q % 3 == 0 || kv > q", "q >= kv && q - kv < 9");
    private static final List<String> INDICES = List.of("q - kv", "kv / 3", "q - kv + 4", "12 - q", "(q + kv) % 5", "kv - 2", "q / 2 - kv / 2",
            "q - kv < 3 ? q - kv : 3", "min(q - kv, 6)");

    /**
     * A table read in the score at a random index under a random mask: the check refuses exactly
     * when some visible pair reads outside the table (brute force over every element decides).
     */
    @Property(tries = 400)
    void refusesExactlyWhenAVisiblePairReadsOutside(@ForAll @IntRange(min = 0, max = 5) int mask, @ForAll @IntRange(min = 0, max = 8) int index,
                                                   @ForAll @IntRange(min = 1, max = 14) int tableSize, @ForAll @IntRange(min = 1, max = 12) int nq,
                                                   @ForAll @IntRange(min = 1, max = 12) int nkv, @ForAll @IntRange(min = 0, max = 6) int offset)
            throws CompileException {
        Pattern pattern = Frontend.compile("table", "input t: float32[T]\nmask: " + MASKS.get(mask)
                + "\nscore: s + t[" + INDICES.get(index) + "]");
        Random data = new Random(nq * 31L + nkv);
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 1, nq, 2}, data),
                Tensor.random(DType.FLOAT32, new int[] {1, 1, nkv, 2}, data), Tensor.random(DType.FLOAT32, new int[] {1, 1, nkv, 2}, data),
                Map.of("t", Tensor.random(DType.FLOAT32, new int[] {tableSize}, data)), Map.of(), offset);
        Binding unchecked = new Binding(Map.of("B", 1, "H", 1, "Hkv", 1, "Nq", nq, "Nkv", nkv, "D", 2, "Dv", 2, "Q0", offset, "T", tableSize),
                offset, Map.of());
        ElementEvaluator evaluator = new ElementEvaluator(unchecked, problem.inputs());
        var visible = evaluator.bools(pattern.visibility());
        var at = evaluator.ints(((attnc.ir.Expr.Binary) pattern.score()).right() instanceof attnc.ir.Expr.Load load
                ? load.indices().getFirst() : null);
        boolean outside = false;
        for (int q = offset; q < offset + nq; q++) {
            for (int kv = 0; kv < nkv; kv++) {
                if (visible.at(0, 0, q, kv, 0)) {
                    int i = at.at(0, 0, q, kv, 0);
                    outside |= i < 0 || i >= tableSize;
                }
            }
        }
        boolean refused;
        try {
            Binding.of(pattern, problem);
            refused = false;
        } catch (ShapeException e) {
            refused = true;
        }
        assertEquals(outside, refused, attnc.ir.Printer.pattern(pattern) + " T=" + tableSize + " Nq=" + nq + " Nkv=" + nkv + " Q0=" + offset);
    }
}
