package attnc.pass;

import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Type;
import attnc.ir.UnaryOp;

/**
 * Algebraic identities that hold exactly under {@link attnc.ir.Semantics}: neutral elements,
 * boolean short cuts, double negation, equal branches. Float rules that would change NaN or
 * signed-zero results (x·0, x−x, x+0) are left out.
 */
public final class Simplify {
    private Simplify() {}

    public static Expr simplify(Expr e) {
        return ExprTree.rewrite(e, Simplify::rule);
    }

    private static Expr rule(Expr e) {
        return switch (e) {
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> binary(e, op, l, r);
            case Expr.Unary(UnaryOp op, Expr.Unary(UnaryOp inner, Expr x)) when op == inner -> x;
            case Expr.Conditional(Expr c, Expr t, Expr f) when t.equals(f) -> t;
            case Expr.Conditional(Expr.Unary(UnaryOp op, Expr c), Expr t, Expr f) when op == UnaryOp.NOT -> new Expr.Conditional(c, f, t);
            default -> e;
        };
    }

    private static Expr binary(Expr e, BinaryOp op, Expr l, Expr r) {
        return switch (op) {
            case AND -> isBool(l, true) ? r : isBool(r, true) ? l : isBool(l, false) || isBool(r, false) ? new Expr.BoolLit(false)
                    : l.equals(r) ? l : e;
            case OR -> isBool(l, false) ? r : isBool(r, false) ? l : isBool(l, true) || isBool(r, true) ? new Expr.BoolLit(true)
                    : l.equals(r) ? l : e;
            case ADD -> isIntZero(r) ? l : isIntZero(l) ? r : e;
            case SUB -> isIntZero(r) ? l : l.type() == Type.INT && l.equals(r) ? new Expr.IntLit(0) : e;
            case MUL -> isOne(r) ? l : isOne(l) ? r : isIntZero(l) || isIntZero(r) ? new Expr.IntLit(0) : e;
            // An int divided by zero is 0 (Semantics); zero divisors appear once x - x has become 0.
            case DIV -> isOne(r) ? l : isIntZero(r) ? new Expr.IntLit(0) : e;
            case MOD -> isIntZero(r) ? new Expr.IntLit(0) : e;
            case EQ, LE, GE -> l.type() == Type.INT && l.equals(r) ? new Expr.BoolLit(true) : e;
            case NE, LT, GT -> l.type() == Type.INT && l.equals(r) ? new Expr.BoolLit(false) : e;
            default -> e;
        };
    }

    private static boolean isBool(Expr e, boolean value) {
        return e instanceof Expr.BoolLit(boolean v) && v == value;
    }

    private static boolean isIntZero(Expr e) {
        return e instanceof Expr.IntLit(int v) && v == 0;
    }

    private static boolean isOne(Expr e) {
        return e instanceof Expr.IntLit(int i) && i == 1 || e instanceof Expr.FloatLit(double f) && f == 1.0;
    }
}
