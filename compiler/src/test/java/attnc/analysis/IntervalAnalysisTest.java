package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.Frontend;
import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Type;
import java.util.Map;
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
        BoolBound r = evaluate(parse(mask), Map.of());
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
        } catch (attnc.front.CompileException e) {
            throw new AssertionError(e.getMessage());
        }
    }
}
