package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.Frontend;
import attnc.front.CompileException;
import attnc.ir.BinaryOp;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The expression walk of the interval analysis, one rule at a time over one box, where the answer
 * is known: the two branches of {@code ?:} (a certain condition picks one; an uncertain one keeps
 * a form both branches share, and NaN from either), params bound to literals, the output channel
 * d within the launch's Dv.
 */
class IntervalAnalysisTest {
    private static final Map<String, Integer> SIZES = Map.of("B", 1, "H", 2, "Nq", 101, "Nkv", 101, "Dv", 8);
    /** h 0..1, q 0..100, kv 0..100. */
    private static final Box BOX = new Box(0, 0, 0, 1, 0, 100, 0, 100);

    @Test
    void aCertainConditionPicksItsBranch() {
        assertAlways("(q >= 0 ? 5 : 7) == 5");
        assertAlways("(q < 0 ? 5 : 7) == 7");
        assertAlways("(q >= 0 ? 0.5 : sqrt(-1.0)) == 0.5");
        assertAlways("(q < 0 ? sqrt(-1.0) : 0.5) == 0.5");
    }

    /** q and q + 1 share the direction q: their hull is q + [0, 1], so subtracting q leaves [0, 1]; plain ranges would leave [-100, 101]. */
    @Test
    void anUncertainConditionKeepsASharedForm() {
        assertAlways("(h == 0 ? q : q + 1) - q <= 1");
        assertAlways("(h == 0 ? q : q + 1) - q >= 0");
        assertMaybe("(h == 0 ? q : kv) - q <= 1");
    }

    /**
     * Forms survive the int operations that keep them: ~x is −x − 1 exactly, and min, max and abs
     * return an operand (with its form) when the box decides which, also when the two may be equal.
     * Box: q 0..100, kv 0..100; the second box has kv ≤ q with q − kv reaching 0.
     */
    @Test
    void formsSurviveNotMinMaxAndAbs() {
        assertAlways("~q + q == -1");
        assertAlways("~(q - kv) + (q - kv) == -1");
        Box below = new Box(0, 0, 0, 1, 50, 60, 40, 50);
        assertAlways("min(kv, q) - kv == 0", below);
        assertAlways("min(q, kv) - kv == 0", below);
        assertAlways("max(q, kv) - q == 0", below);
        assertAlways("max(kv, q) - q == 0", below);
        assertAlways("abs(q - kv) - (q - kv) == 0", below);
        assertAlways("abs(kv - q) + (kv - q) == 0", below);
    }

    @Test
    void literalsAndLocalsOfEveryType() {
        assertAlways("true");
        assertEquals(false, evaluate(parse("false"), Map.of()).canTrue());
        assertAlways("(let x = 1.5; x < 2.0)");
        assertAlways("(let x = q; x - q == 0)");
        assertAlways("(let x = q >= 0; x)");
        Expr intParam = new Expr.Binary(BinaryOp.LT, new Expr.ParamRef("n", Type.INT), new Expr.IntLit(5));
        assertEquals(false, evaluate(intParam, Map.of("n", new Expr.IntLit(3))).canFalse());
        assertEquals(true, evaluate(intParam, Map.of()).canFalse() && evaluate(intParam, Map.of()).canTrue(), "an unbound param is unknown");
    }

    /** A bool input is true where its int value is not 0: all zeros is EMPTY, all ones FULL, a mix PARTIAL. */
    @Test
    void boolLoadsFollowTheirData() throws Exception {
        Pattern pattern = Frontend.compile("keep", "input keep: bool[Nkv]\nmask: keep[kv]");
        int[] data = new int[16];
        for (int i = 8; i < 12; i++) data[i] = 1;
        data[13] = 1;
        Binding binding = new Binding(Map.of("B", 1, "H", 1, "Hkv", 1, "Nq", 4, "Nkv", 16, "D", 4, "Dv", 4), 0, Map.of());
        TileClassifier tiles = ClassifyTiles.classifier(pattern, binding,
                Map.of("keep", Tensor.ofInts(DType.BOOL, new int[] {16}, data)), 4, 4);
        assertEquals(List.of(TileClass.EMPTY, TileClass.EMPTY, TileClass.FULL, TileClass.PARTIAL),
                IntStream.range(0, 4).mapToObj(kt -> tiles.classify(0, 0, 0, kt)).toList());
    }

    @Test
    void anUncertainConditionJoinsFloatBranchesAndTheirNaN() {
        assertAlways("(h == 0 ? 1.0 : 2.0) < 3.0");
        assertMaybe("(h == 0 ? 1.0 : 2.0) < 1.5");
        assertMaybe("(h == 0 ? 1.0 : sqrt(float(40 - q))) >= 0.0");
        assertMaybe("(h == 0 ? sqrt(float(40 - q)) : 1.0) >= 0.0");
    }

    @Test
    void paramsBoundToLiteralsAreConstants() {
        Expr floatParam = new Expr.Binary(BinaryOp.GT, new Expr.ParamRef("p", Type.FLOAT), new Expr.FloatLit(1.5));
        assertEquals(false, evaluate(floatParam, Map.of("p", new Expr.IntLit(2))).canFalse(), "an int literal for a float param");
        assertEquals(false, evaluate(floatParam, Map.of("p", new Expr.FloatLit(1.0))).canTrue());
        assertEquals(true, evaluate(floatParam, Map.of()).canTrue() && evaluate(floatParam, Map.of()).canFalse(), "an unbound param is unknown");
        Expr boolParam = new Expr.ParamRef("flag", Type.BOOL);
        assertEquals(false, evaluate(boolParam, Map.of("flag", new Expr.BoolLit(true))).canFalse());
        assertEquals(true, evaluate(boolParam, Map.of()).canFalse() && evaluate(boolParam, Map.of()).canTrue());
    }

    @Test
    void theOutputChannelStaysBelowDv() {
        Expr d = new Expr.IndexRef(Index.D);
        Expr outside = new Expr.Binary(BinaryOp.OR, new Expr.Binary(BinaryOp.LT, d, new Expr.IntLit(0)),
                new Expr.Binary(BinaryOp.GE, d, new Expr.IntLit(8)));
        assertEquals(false, IntervalAnalysis.of(outside, SIZES, Map.of(), DataBounds.NONE, true).evaluate(BOX).canTrue());
        Expr last = new Expr.Binary(BinaryOp.EQ, d, new Expr.IntLit(7));
        assertEquals(true, IntervalAnalysis.of(last, SIZES, Map.of(), DataBounds.NONE, true).evaluate(BOX).canTrue());
        assertEquals(true, IntervalAnalysis.of(outside, Map.of(), Map.of(), DataBounds.NONE, true).evaluate(BOX).canTrue(), "Dv unknown");
        assertEquals(true, IntervalAnalysis.of(outside, Map.of("Dv", 0), Map.of(), DataBounds.NONE, true).evaluate(BOX).canTrue(), "Dv 0");
    }

    @Test
    void onlyBooleansAreAnalysed() {
        assertThrows(IllegalArgumentException.class, () -> IntervalAnalysis.of(new Expr.IntLit(1), SIZES, Map.of(), DataBounds.NONE, true));
    }

    private static void assertAlways(String mask) {
        assertAlways(mask, BOX);
    }

    private static void assertAlways(String mask, Box box) {
        BoolBound r = IntervalAnalysis.of(parse(mask), SIZES, Map.of(), DataBounds.NONE, true).evaluate(box);
        assertEquals("true only", (r.canTrue() ? "true" : "") + (r.canFalse() ? " or false" : " only"), mask);
    }

    private static void assertMaybe(String mask) {
        BoolBound r = evaluate(parse(mask), Map.of());
        assertEquals("true or false", (r.canTrue() ? "true" : "") + (r.canFalse() ? " or false" : " only"), mask);
    }

    private static BoolBound evaluate(Expr e, Map<String, Expr> params) {
        return IntervalAnalysis.of(e, SIZES, params, DataBounds.NONE, true).evaluate(BOX);
    }

    private static Expr parse(String mask) {
        try {
            return Frontend.compile("mask", "mask: " + mask).mask();
        } catch (CompileException e) {
            throw new AssertionError(e.getMessage());
        }
    }
}
