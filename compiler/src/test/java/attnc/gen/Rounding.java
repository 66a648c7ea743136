package attnc.gen;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Type;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether fp32 and double can compute a float expression differently, as far as TAME steps care
 * (see the comment above {@code ExprGenerator.stepOperand}): a judgement of the generator's own
 * forms, not a general analysis.
 */
enum Rounding {
    /** A multiple of 1/8 of moderate size: small ints as floats, k / 8 literals, and +, -, neg, abs, min, max, floor, ?: and the {@link #GRID_FACTORS} of those. */
    GRID,
    /** An fp32 number as stored (a float input's element, a float param), or such numbers and grid values joined by neg, abs, min, max and ?:. */
    STORED,
    /** Anything else. */
    INEXACT;

    /** Products by these keep a grid value exact: a power of two or a sign. */
    static final List<Double> GRID_FACTORS = List.of(2.0, 0.5, -1.0);

    static Rounding of(Expr e, Map<String, Rounding> locals) {
        return switch (e) {
            case Expr.FloatLit(double v) -> v * 8 == Math.rint(v * 8) && Math.abs(v) <= 8 ? GRID : INEXACT;
            case Expr.Load load -> STORED;
            case Expr.ParamRef p -> STORED;
            case Expr.LocalRef(String name, Type type) -> locals.getOrDefault(name, INEXACT);
            case Expr.Let(String name, Expr value, Expr body) -> {
                Map<String, Rounding> inner = new HashMap<>(locals);
                inner.put(name, of(value, locals));
                yield of(body, inner);
            }
            case Expr.Unary u -> of(u.operand(), locals);
            case Expr.Conditional c -> worst(of(c.ifTrue(), locals), of(c.ifFalse(), locals));
            case Expr.Binary(BinaryOp op, Expr l, Expr r) when op == BinaryOp.ADD || op == BinaryOp.SUB ->
                    of(l, locals) == GRID && of(r, locals) == GRID ? GRID : INEXACT;
            case Expr.Binary(BinaryOp op, Expr l, Expr r) when op == BinaryOp.MUL ->
                    of(l, locals) == GRID && r instanceof Expr.FloatLit(double f) && GRID_FACTORS.contains(f) ? GRID : INEXACT;
            case Expr.Call(Builtin fn, List<Expr> args) -> switch (fn) {
                case FLOAT -> smallInt(args.getFirst()) ? GRID : INEXACT;
                case FLOOR -> of(args.getFirst(), locals) == INEXACT ? INEXACT : GRID;
                case ABS -> of(args.getFirst(), locals);
                case MIN, MAX -> worst(of(args.get(0), locals), of(args.get(1), locals));
                default -> INEXACT;
            };
            default -> INEXACT;
        };
    }

    /** What TAME converts: a literal, an index, a size, or anything {@code % 16}. */
    private static boolean smallInt(Expr e) {
        return e instanceof Expr.IntLit || e instanceof Expr.IndexRef || e instanceof Expr.SizeRef
                || e instanceof Expr.Binary(BinaryOp op, Expr l, Expr.IntLit(int m)) && op == BinaryOp.MOD && m == 16;
    }

    private static Rounding worst(Rounding a, Rounding b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
