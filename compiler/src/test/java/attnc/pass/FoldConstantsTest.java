package attnc.pass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.gen.Agreement;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Sections;
import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.ir.Semantics;
import attnc.ir.UnaryOp;
import attnc.launch.Binding;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class FoldConstantsTest {
    private static final Expr Q = new Expr.IndexRef(Index.Q);
    private static final Expr KV = new Expr.IndexRef(Index.KV);

    @Example
    void knownParamsBecomeLiteralsAndFold() throws CompileException {
        Pattern p = Frontend.compile("window.attn", "param window: int = 1024\nparam half: bool = false\n"
                + "mask: q >= kv && q - kv < (half ? window / 2 : window)");
        Expr folded = FoldConstants.fold(p.mask(), Map.of("window", new Expr.IntLit(256), "half", new Expr.BoolLit(true)));
        Expr expected = new Expr.Binary(BinaryOp.AND, new Expr.Binary(BinaryOp.GE, Q, KV),
                new Expr.Binary(BinaryOp.LT, new Expr.Binary(BinaryOp.SUB, Q, KV), new Expr.IntLit(128)));
        assertEquals(expected, folded);
    }

    @Example
    void unknownParamsStay() {
        Expr e = new Expr.Binary(BinaryOp.ADD, new Expr.ParamRef("w", attnc.ir.Type.INT), new Expr.IntLit(1));
        assertEquals(e, FoldConstants.fold(e, Map.of()));
    }

    @Example
    void anIntValueForAFloatParamFoldsAsAFloat() {
        Expr e = new Expr.Binary(BinaryOp.MUL, new Expr.ScoreRef(), new Expr.ParamRef("t", attnc.ir.Type.FLOAT));
        assertEquals(new Expr.Binary(BinaryOp.MUL, new Expr.ScoreRef(), new Expr.FloatLit(2.0)),
                FoldConstants.fold(e, Map.of("t", new Expr.IntLit(2))));
    }

    @Example
    void neverFoldsToANonFiniteLiteral() {
        List<Expr> overflowing = List.of(
                new Expr.Call(Builtin.EXP, List.of(new Expr.FloatLit(1000.0))),
                new Expr.Call(Builtin.LOG, List.of(new Expr.FloatLit(-1.0))),
                new Expr.Call(Builtin.SQRT, List.of(new Expr.FloatLit(-4.0))),
                new Expr.Binary(BinaryOp.MUL, new Expr.FloatLit(1e308), new Expr.FloatLit(10.0)),
                new Expr.Binary(BinaryOp.DIV, new Expr.FloatLit(1.0), new Expr.FloatLit(0.0)));
        for (Expr e : overflowing) assertEquals(e, FoldConstants.fold(e, Map.of()), "folded to a non-finite literal");
    }

    @Example
    void anIntDividedByAFoldedZeroIsZero() {
        // q / (1 - 1) and q % (1 - 1) are 0 by Semantics; folding them whole leaves no zero-literal divisor to print.
        Expr zero = new Expr.Binary(BinaryOp.SUB, new Expr.IntLit(1), new Expr.IntLit(1));
        assertEquals(new Expr.IntLit(0), FoldConstants.fold(new Expr.Binary(BinaryOp.DIV, Q, zero), Map.of()));
        assertEquals(new Expr.IntLit(0), FoldConstants.fold(new Expr.Binary(BinaryOp.MOD, Q, zero), Map.of()));
    }

    @Example
    void aLiteralConditionPicksItsBranch() {
        Expr e = new Expr.Conditional(new Expr.Binary(BinaryOp.LT, new Expr.IntLit(1), new Expr.IntLit(2)), Q,
                new Expr.Load("missing", attnc.ir.DType.INT32, List.of(KV)));
        assertEquals(Q, FoldConstants.fold(e, Map.of()));
    }

    @Example
    void intOperationsFoldAsSemanticsSays() {
        assertEquals(new Expr.IntLit(-4), fold(BinaryOp.DIV, -7, 2));
        assertEquals(new Expr.IntLit(1), fold(BinaryOp.MOD, -7, 2));
        assertEquals(new Expr.IntLit(0), fold(BinaryOp.DIV, 5, 0));
        assertEquals(new Expr.IntLit(Integer.MIN_VALUE), fold(BinaryOp.ADD, Integer.MAX_VALUE, 1));
        assertEquals(new Expr.IntLit(2), fold(BinaryOp.SHL, 1, 33));
        assertEquals(new Expr.IntLit(-8), FoldConstants.fold(new Expr.Unary(UnaryOp.BIT_NOT, new Expr.IntLit(7)), Map.of()));
        assertEquals(new Expr.IntLit(3), FoldConstants.fold(new Expr.Call(Builtin.BITLEN, List.of(new Expr.IntLit(5))), Map.of()));
        assertEquals(new Expr.IntLit(-3), FoldConstants.fold(new Expr.Call(Builtin.INT, List.of(new Expr.FloatLit(-2.5))), Map.of()));
    }

    @Property(tries = 300)
    void intLiteralsFoldLikeSemantics(@ForAll int a, @ForAll int b) {
        for (BinaryOp op : BinaryOp.values()) {
            switch (op.kind()) {
                case ARITH, INT_ONLY -> assertEquals(new Expr.IntLit(Semantics.intBinary(op, a, b)), fold(op, a, b));
                case COMPARE, EQUALITY -> assertEquals(new Expr.BoolLit(Semantics.intCompare(op, a, b)), fold(op, a, b));
                case LOGIC -> { }
            }
        }
    }

    @Property(tries = 300)
    void floatLiteralsFoldLikeSemanticsUnlessNotFinite(@ForAll double a, @ForAll double b) {
        Expr x = new Expr.FloatLit(a), y = new Expr.FloatLit(b);
        for (BinaryOp op : List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV)) {
            Expr e = new Expr.Binary(op, x, y);
            double value = Semantics.floatBinary(op, a, b);
            assertEquals(Double.isFinite(value) ? new Expr.FloatLit(value) : e, FoldConstants.fold(e, Map.of()));
        }
        for (Builtin fn : List.of(Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.SQRT, Builtin.TANH, Builtin.SIGMOID, Builtin.FLOOR, Builtin.ABS)) {
            Expr e = new Expr.Call(fn, List.of(x));
            double value = Semantics.floatCall(fn, a);
            assertEquals(Double.isFinite(value) ? new Expr.FloatLit(value) : e, FoldConstants.fold(e, Map.of()));
        }
    }

    /** With every param known, folding leaves no param and no non-finite literal, and keeps every value. */
    @Property(tries = 300)
    void foldingKnownParamsKeepsValues(@ForAll("launches") Launch launch) {
        Map<String, Expr> known = Binding.of(launch.pattern(), launch.problem()).params();
        Agreement.rewriteKeepsValues(launch, e -> FoldConstants.fold(e, known), 20, 1);
        for (Expr e : Sections.expressions(launch.pattern())) {
            Expr folded = FoldConstants.fold(e, known);
            assertFalse(ExprTree.any(folded, x -> x instanceof Expr.ParamRef), "a known param is left");
            assertFalse(ExprTree.any(folded, x -> x instanceof Expr.FloatLit(double v) && !Double.isFinite(v)), "a non-finite literal");
        }
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }

    private static Expr fold(BinaryOp op, int a, int b) {
        return FoldConstants.fold(new Expr.Binary(op, new Expr.IntLit(a), new Expr.IntLit(b)), Map.of());
    }

    @Example
    void checkedFoldingRefusesWhatWouldWrapOrDivideByZero() {
        Expr max = new Expr.IntLit(Integer.MAX_VALUE), min = new Expr.IntLit(Integer.MIN_VALUE), one = new Expr.IntLit(1);
        assertEquals("integer overflow: 2147483647 + 1 = 2147483648 does not fit in 32 bits",
                refusedFold(new Expr.Binary(BinaryOp.ADD, max, one)));
        assertEquals("integer overflow: -2147483648 - 1 = -2147483649 does not fit in 32 bits",
                refusedFold(new Expr.Binary(BinaryOp.SUB, min, one)));
        assertEquals("integer overflow: 2147483647 * 2 = 4294967294 does not fit in 32 bits",
                refusedFold(new Expr.Binary(BinaryOp.MUL, max, new Expr.IntLit(2))));
        assertEquals("integer overflow: -2147483648 / (-1) = 2147483648 does not fit in 32 bits",
                refusedFold(new Expr.Binary(BinaryOp.DIV, min, new Expr.IntLit(-1))));
        assertEquals("integer overflow: -(-2147483648) = 2147483648 does not fit in 32 bits", refusedFold(new Expr.Unary(UnaryOp.NEG, min)));
        assertEquals("integer overflow: abs(-2147483648) = 2147483648 does not fit in 32 bits", refusedFold(new Expr.Call(Builtin.ABS, List.of(min))));
        assertEquals("integer overflow: int(1.0E10) = 10000000000 does not fit in 32 bits",
                refusedFold(new Expr.Call(Builtin.INT, List.of(new Expr.FloatLit(1e10)))));
        assertEquals("division by zero: q / 0 has a divisor that is 0 here",
                refusedFold(new Expr.Binary(BinaryOp.DIV, Q, new Expr.Binary(BinaryOp.SUB, one, one))));
        assertEquals("division by zero: q % 0 has a divisor that is 0 here",
                refusedFold(new Expr.Binary(BinaryOp.MOD, Q, new Expr.ParamRef("z", attnc.ir.Type.INT)), Map.of("z", new Expr.IntLit(0))));
        // The branch not taken is never evaluated, so it cannot overflow; shifts and bit operations are not arithmetic.
        Expr untaken = new Expr.Conditional(new Expr.BoolLit(true), one, new Expr.Binary(BinaryOp.ADD, max, one));
        assertEquals(one, FoldConstants.foldChecked(untaken, Map.of()));
        assertEquals(min, FoldConstants.foldChecked(new Expr.Binary(BinaryOp.SHL, one, new Expr.IntLit(31)), Map.of()));
        // Unchecked folding keeps the run-time meaning: wrapping, and 0 for a zero divisor.
        assertEquals(min, FoldConstants.fold(new Expr.Binary(BinaryOp.ADD, max, one), Map.of()));
        assertEquals(new Expr.IntLit(0), FoldConstants.fold(new Expr.Binary(BinaryOp.DIV, Q, new Expr.IntLit(0)), Map.of()));
    }

    @Example
    void aParamFixedAtCompileTimeIsCheckedWhereItIsUsed() {
        CompileException e = org.junit.jupiter.api.Assertions.assertThrows(CompileException.class, () -> Frontend.compile("zero.attn",
                "param z: int = 4\nparam big: int = 1\nmask: q / z >= 0 && kv < big * 2147483647 + 1",
                Map.of("z", new Expr.IntLit(0), "big", new Expr.IntLit(1))));
        assertEquals(2, e.diagnostics().size(), e.getMessage());
        assertEquals("zero.attn:3:7: error: division by zero: the divisor is 0 here (with z = 0 fixed at compile time); expected a non-zero divisor",
                e.diagnostics().get(0).format().lines().findFirst().orElseThrow());
        assertEquals("zero.attn:3:26: error: integer overflow: 2147483647 + 1 = 2147483648 does not fit in 32 bits (with big = 1 fixed at compile time); "
                        + "expected a result within int32 (write it as a float, or use smaller values)",
                e.diagnostics().get(1).format().lines().findFirst().orElseThrow());
    }

    private static String refusedFold(Expr e) {
        return refusedFold(e, Map.of());
    }

    private static String refusedFold(Expr e, Map<String, Expr> params) {
        return org.junit.jupiter.api.Assertions.assertThrows(FoldConstants.FoldException.class, () -> FoldConstants.foldChecked(e, params)).getMessage();
    }
}
