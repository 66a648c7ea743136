package attnc.pass;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.gen.Agreement;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.UnaryOp;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class SimplifyTest {
    private static final Expr Q = new Expr.IndexRef(Index.Q);
    private static final Expr KV = new Expr.IndexRef(Index.KV);
    private static final Expr S = new Expr.ScoreRef();
    private static final Expr NEAR = new Expr.Binary(BinaryOp.LT, new Expr.Binary(BinaryOp.SUB, Q, KV), new Expr.IntLit(64));
    private static final Expr CAUSAL = new Expr.Binary(BinaryOp.GE, Q, KV);
    private static final Expr TRUE = new Expr.BoolLit(true);
    private static final Expr FALSE = new Expr.BoolLit(false);

    @Example
    void andWithLiteralsAndItself() {
        assertEquals(NEAR, simplify(BinaryOp.AND, TRUE, NEAR));
        assertEquals(NEAR, simplify(BinaryOp.AND, NEAR, TRUE));
        assertEquals(FALSE, simplify(BinaryOp.AND, NEAR, FALSE));
        assertEquals(FALSE, simplify(BinaryOp.AND, FALSE, NEAR));
        assertEquals(NEAR, simplify(BinaryOp.AND, NEAR, NEAR));
        assertEquals(bin(BinaryOp.AND, NEAR, CAUSAL), simplify(BinaryOp.AND, NEAR, CAUSAL));
    }

    @Example
    void orWithLiteralsAndItself() {
        assertEquals(NEAR, simplify(BinaryOp.OR, FALSE, NEAR));
        assertEquals(NEAR, simplify(BinaryOp.OR, NEAR, FALSE));
        assertEquals(TRUE, simplify(BinaryOp.OR, NEAR, TRUE));
        assertEquals(TRUE, simplify(BinaryOp.OR, TRUE, NEAR));
        assertEquals(NEAR, simplify(BinaryOp.OR, NEAR, NEAR));
    }

    @Example
    void intNeutralElements() {
        Expr zero = new Expr.IntLit(0), one = new Expr.IntLit(1);
        assertEquals(Q, simplify(BinaryOp.ADD, Q, zero));
        assertEquals(Q, simplify(BinaryOp.ADD, zero, Q));
        assertEquals(Q, simplify(BinaryOp.SUB, Q, zero));
        assertEquals(zero, simplify(BinaryOp.SUB, Q, Q));
        assertEquals(Q, simplify(BinaryOp.MUL, Q, one));
        assertEquals(Q, simplify(BinaryOp.MUL, one, Q));
        assertEquals(zero, simplify(BinaryOp.MUL, Q, zero));
        assertEquals(zero, simplify(BinaryOp.MUL, zero, Q));
        assertEquals(Q, simplify(BinaryOp.DIV, Q, one));
        assertEquals(zero, simplify(BinaryOp.DIV, KV, bin(BinaryOp.SUB, Q, Q)), "kv / (q - q): division by zero is 0");
        assertEquals(zero, simplify(BinaryOp.MOD, KV, bin(BinaryOp.SUB, Q, Q)));
    }

    @Example
    void floatRulesOnlyWhereExact() {
        Expr one = new Expr.FloatLit(1.0), zero = new Expr.FloatLit(0.0);
        assertEquals(S, simplify(BinaryOp.MUL, S, one));
        assertEquals(S, simplify(BinaryOp.MUL, one, S));
        assertEquals(S, simplify(BinaryOp.DIV, S, one));
        // s·0 is NaN for infinite s, s−s is NaN for infinite s, s+0.0 turns −0.0 into 0.0: all kept.
        assertEquals(bin(BinaryOp.MUL, S, zero), simplify(BinaryOp.MUL, S, zero));
        assertEquals(bin(BinaryOp.SUB, S, S), simplify(BinaryOp.SUB, S, S));
        assertEquals(bin(BinaryOp.ADD, S, zero), simplify(BinaryOp.ADD, S, zero));
        assertEquals(bin(BinaryOp.EQ, S, S), simplify(BinaryOp.EQ, S, S));
    }

    @Example
    void intComparisonsOfATermWithItself() {
        for (BinaryOp op : new BinaryOp[] {BinaryOp.EQ, BinaryOp.LE, BinaryOp.GE}) assertEquals(TRUE, simplify(op, Q, Q));
        for (BinaryOp op : new BinaryOp[] {BinaryOp.NE, BinaryOp.LT, BinaryOp.GT}) assertEquals(FALSE, simplify(op, Q, Q));
    }

    @Example
    void doubleNegationAndConditionals() {
        assertEquals(Q, Simplify.simplify(new Expr.Unary(UnaryOp.NEG, new Expr.Unary(UnaryOp.NEG, Q))));
        assertEquals(Q, Simplify.simplify(new Expr.Unary(UnaryOp.BIT_NOT, new Expr.Unary(UnaryOp.BIT_NOT, Q))));
        assertEquals(NEAR, Simplify.simplify(new Expr.Unary(UnaryOp.NOT, new Expr.Unary(UnaryOp.NOT, NEAR))));
        Expr negThenNot = new Expr.Unary(UnaryOp.NEG, new Expr.Unary(UnaryOp.BIT_NOT, Q));
        assertEquals(negThenNot, Simplify.simplify(negThenNot));
        assertEquals(Q, Simplify.simplify(new Expr.Conditional(NEAR, Q, Q)));
        assertEquals(new Expr.Conditional(NEAR, KV, Q), Simplify.simplify(new Expr.Conditional(new Expr.Unary(UnaryOp.NOT, NEAR), Q, KV)));
    }

    @Example
    void rulesApplyBottomUp() {
        // (q + 0) * 1 == q  →  q == q  →  true
        Expr e = bin(BinaryOp.EQ, bin(BinaryOp.MUL, bin(BinaryOp.ADD, Q, new Expr.IntLit(0)), new Expr.IntLit(1)), Q);
        assertEquals(TRUE, Simplify.simplify(e));
    }

    @Property(tries = 400)
    void simplifyingKeepsValues(@ForAll("launches") Launch launch) {
        Agreement.rewriteKeepsValues(launch, Simplify::simplify, 20, 2);
    }

    /** Simplification after folding, as the pass pipeline runs it: folding makes the literals the rules look for. */
    @Property(tries = 300)
    void simplifyingFoldedExpressionsKeepsValues(@ForAll("launches") Launch launch) {
        var known = attnc.launch.Binding.of(launch.pattern(), launch.problem()).params();
        Agreement.rewriteKeepsValues(launch, e -> Simplify.simplify(FoldConstants.fold(e, known)), 20, 3);
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }

    private static Expr bin(BinaryOp op, Expr l, Expr r) {
        return new Expr.Binary(op, l, r);
    }

    private static Expr simplify(BinaryOp op, Expr l, Expr r) {
        return Simplify.simplify(bin(op, l, r));
    }
}
