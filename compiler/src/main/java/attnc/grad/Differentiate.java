package attnc.grad;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.List;

/**
 * The derivative of a float expression with respect to one of its variables: {@code s}, {@code o}
 * or one float load site (every occurrence of the same load expression is the same variable).
 * Forward mode over a let-free tree ({@link InlineLets} first). Conventions at points where the
 * derivative does not exist are PyTorch's autograd ones:
 * <ul>
 *   <li>{@code floor}, {@code int()}, comparisons, ints and bools carry no derivative (0);</li>
 *   <li>{@code c ? a : b} routes the derivative to the branch taken; none flows through {@code c};</li>
 *   <li>{@code abs(x)}: sign(x) with sign(0) = 0;</li>
 *   <li>{@code min}/{@code max}: to the operand chosen, and half to each at a tie (or a NaN).</li>
 * </ul>
 * A subexpression that does not contain the variable has derivative zero structurally: its terms
 * are left out rather than multiplied by 0, as autograd leaves out paths that need no gradient,
 * so an infinite factor elsewhere in a product cannot turn a zero into a NaN.
 */
public final class Differentiate {
    private static final Expr ONE = new Expr.FloatLit(1.0);
    private static final Expr MINUS_ONE = new Expr.FloatLit(-1.0);
    private static final Expr ZERO = new Expr.FloatLit(0.0);
    private static final Expr HALF = new Expr.FloatLit(0.5);

    private final Expr variable;

    private Differentiate(Expr variable) {
        this.variable = variable;
    }

    /** d e / d variable, where variable is {@code s}, {@code o} or a float {@link Expr.Load}; 0.0 when e does not depend on it. */
    public static Expr derivative(Expr e, Expr variable) {
        boolean supported = variable instanceof Expr.ScoreRef || variable instanceof Expr.OutputRef
                || variable instanceof Expr.Load load && load.type() == Type.FLOAT;
        if (!supported) throw new IllegalArgumentException("cannot differentiate with respect to " + Printer.expr(variable));
        if (e.type() != Type.FLOAT) throw new IllegalArgumentException("only float expressions have derivatives: " + Printer.expr(e));
        if (ExprTree.any(e, x -> x instanceof Expr.Let || x instanceof Expr.LocalRef)) {
            throw new IllegalArgumentException("inline lets before differentiating: " + Printer.expr(e));
        }
        Expr d = new Differentiate(variable).d(e);
        return d == null ? ZERO : d;
    }

    /** The derivative, or null where it is structurally zero. */
    private Expr d(Expr e) {
        if (e.type() != Type.FLOAT) return null;
        return switch (e) {
            case Expr.ScoreRef s -> e.equals(variable) ? ONE : null;
            case Expr.OutputRef o -> e.equals(variable) ? ONE : null;
            // Indices are ints: a load's value moves only with the load site itself.
            case Expr.Load load -> e.equals(variable) ? ONE : null;
            case Expr.Unary(UnaryOp op, Expr x) -> neg(d(x));
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> binary(e, op, l, r);
            case Expr.Conditional(Expr c, Expr t, Expr f) -> select(c, d(t), d(f));
            case Expr.Call(Builtin fn, List<Expr> args) -> call(e, fn, args);
            default -> null;
        };
    }

    private Expr binary(Expr e, BinaryOp op, Expr l, Expr r) {
        Expr dl = d(l), dr = d(r);
        return switch (op) {
            case ADD -> add(dl, dr);
            case SUB -> sub(dl, dr);
            case MUL -> add(mul(dl, r), mul(l, dr));
            // (l/r)' = (l' − (l/r)·r') / r: no r² to overflow, and l/r is the value itself.
            case DIV -> div(sub(dl, mul(e, dr)), r);
            default -> throw new IllegalStateException(op + " does not give a float");
        };
    }

    private Expr call(Expr e, Builtin fn, List<Expr> args) {
        Expr x = args.getFirst();
        return switch (fn) {
            case EXP -> mul(d(x), e);
            case LOG -> div(d(x), x);
            case LOG2 -> div(d(x), mul(x, new Expr.FloatLit(Math.log(2.0))));
            case SQRT -> div(d(x), mul(new Expr.FloatLit(2.0), e));
            case TANH -> mul(d(x), new Expr.Binary(BinaryOp.SUB, ONE, new Expr.Binary(BinaryOp.MUL, e, e)));
            case SIGMOID -> mul(d(x), new Expr.Binary(BinaryOp.MUL, e, new Expr.Binary(BinaryOp.SUB, ONE, e)));
            case ABS -> {
                Expr dx = d(x);
                yield dx == null ? null : new Expr.Conditional(compare(BinaryOp.GT, x, ZERO), dx,
                        new Expr.Conditional(compare(BinaryOp.LT, x, ZERO), neg(dx), ZERO));
            }
            case MIN -> choose(BinaryOp.LT, args.get(0), args.get(1));
            case MAX -> choose(BinaryOp.GT, args.get(0), args.get(1));
            // floor is piecewise constant; float(...) takes an int; int() and bitlen give ints.
            case FLOOR, FLOAT, INT, BITLEN -> null;
        };
    }

    /** min (wins = LT) or max (wins = GT): the chosen operand's derivative, half of each at a tie. */
    private Expr choose(BinaryOp wins, Expr a, Expr b) {
        Expr da = d(a), db = d(b);
        if (da == null && db == null) return null;
        BinaryOp loses = wins == BinaryOp.LT ? BinaryOp.GT : BinaryOp.LT;
        Expr tie = mul(add(da, db), HALF);
        return new Expr.Conditional(compare(wins, a, b), orZero(da), new Expr.Conditional(compare(loses, a, b), orZero(db), tie));
    }

    private static Expr compare(BinaryOp op, Expr a, Expr b) {
        return new Expr.Binary(op, a, b);
    }

    private static Expr select(Expr condition, Expr dt, Expr df) {
        if (dt == null && df == null) return null;
        return new Expr.Conditional(condition, orZero(dt), orZero(df));
    }

    private static Expr orZero(Expr d) {
        return d == null ? ZERO : d;
    }

    private static Expr add(Expr a, Expr b) {
        if (a == null) return b;
        if (b == null) return a;
        return new Expr.Binary(BinaryOp.ADD, a, b);
    }

    private static Expr sub(Expr a, Expr b) {
        if (b == null) return a;
        if (a == null) return neg(b);
        return new Expr.Binary(BinaryOp.SUB, a, b);
    }

    private static Expr neg(Expr a) {
        if (a == null) return null;
        if (a instanceof Expr.Unary(UnaryOp op, Expr x) && op == UnaryOp.NEG) return x;
        if (a instanceof Expr.FloatLit(double v)) return new Expr.FloatLit(-v);
        return new Expr.Unary(UnaryOp.NEG, a);
    }

    /** Products by ±1 (the derivative of the variable itself, or of its negation) keep only the sign. */
    private static Expr mul(Expr a, Expr b) {
        if (a == null || b == null) return null;
        if (a.equals(ONE)) return b;
        if (b.equals(ONE)) return a;
        if (a.equals(MINUS_ONE)) return neg(b);
        if (b.equals(MINUS_ONE)) return neg(a);
        return new Expr.Binary(BinaryOp.MUL, a, b);
    }

    private static Expr div(Expr a, Expr b) {
        if (a == null) return null;
        if (b.equals(ONE)) return a;
        return new Expr.Binary(BinaryOp.DIV, a, b);
    }
}
