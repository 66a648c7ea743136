package attnc.pass;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Semantics;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Replaces params whose values are known at compile time by literals, then evaluates every
 * operation whose operands are literals. Folding never produces a non-finite float literal:
 * such an operation is kept, so the printed IR always parses back.
 *
 * <p>{@link #fold} folds with the run-time meaning ({@link Semantics}: ints wrap, {@code x / 0}
 * is 0), for analyses that evaluate an expression at a launch. {@link #foldChecked} is for code
 * a person wrote: an int operation on constants that overflows int32, or a division by a constant
 * zero, is a {@link FoldException} naming the expression, never a silently wrapped constant.
 */
public final class FoldConstants {
    private final Map<String, Expr> knownParams;
    private final boolean checked;

    private FoldConstants(Map<String, Expr> knownParams, boolean checked) {
        this.knownParams = knownParams;
        this.checked = checked;
    }

    /** A fold that would wrap a constant or divide by zero; the message says which expression. */
    public static final class FoldException extends IllegalArgumentException {
        public FoldException(String message) {
            super(message);
        }
    }

    public static Expr fold(Expr e, Map<String, Expr> knownParams) {
        return new FoldConstants(knownParams, false).fold(e);
    }

    public static Expr foldChecked(Expr e, Map<String, Expr> knownParams) {
        return new FoldConstants(knownParams, true).fold(e);
    }

    private Expr fold(Expr e) {
        return switch (e) {
            case Expr.ParamRef p -> known(p);
            case Expr.Let(String name, Expr value, Expr body) -> new Expr.Let(name, fold(value), fold(body));
            case Expr.Unary(UnaryOp op, Expr operand) -> unary(op, fold(operand));
            case Expr.Binary(BinaryOp op, Expr left, Expr right) -> binary(op, fold(left), fold(right));
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                Expr condition = fold(c);
                if (condition instanceof Expr.BoolLit(boolean v)) yield fold(v ? t : f);
                yield new Expr.Conditional(condition, fold(t), fold(f));
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> call(fn, foldAll(args));
            case Expr.Load(String input, var dtype, List<Expr> indices) -> new Expr.Load(input, dtype, foldAll(indices));
            case Expr.Member(Expr value, String input, var dtype, List<Expr> leading) ->
                    new Expr.Member(fold(value), input, dtype, foldAll(leading));
            default -> e;
        };
    }

    /** A float param given as an int literal (as `--param t=2` reads) becomes a float literal, so the IR stays typed. */
    private Expr known(Expr.ParamRef p) {
        Expr value = knownParams.getOrDefault(p.name(), p);
        return p.type() == Type.FLOAT && value instanceof Expr.IntLit(int v) ? new Expr.FloatLit(v) : value;
    }

    private List<Expr> foldAll(List<Expr> es) {
        List<Expr> out = new ArrayList<>(es.size());
        for (Expr e : es) out.add(fold(e));
        return out;
    }

    private Expr unary(UnaryOp op, Expr operand) {
        return switch (operand) {
            case Expr.IntLit(int v) when op == UnaryOp.NEG -> {
                if (checked && v == Integer.MIN_VALUE) throw overflow("-(" + v + ")", -(long) v);
                yield new Expr.IntLit(-v);
            }
            case Expr.IntLit(int v) when op == UnaryOp.BIT_NOT -> new Expr.IntLit(~v);
            case Expr.FloatLit(double v) when op == UnaryOp.NEG -> new Expr.FloatLit(-v);
            case Expr.BoolLit(boolean v) when op == UnaryOp.NOT -> new Expr.BoolLit(!v);
            default -> new Expr.Unary(op, operand);
        };
    }

    private Expr binary(BinaryOp op, Expr left, Expr right) {
        if ((op == BinaryOp.DIV || op == BinaryOp.MOD) && right instanceof Expr.IntLit(int b) && b == 0) {
            if (checked) {
                throw new FoldException("division by zero: " + attnc.ir.Printer.expr(new Expr.Binary(op, left, right))
                        + " has a divisor that is 0 here");
            }
            // An int divided by zero is 0 whatever it is; folding it keeps a zero-literal divisor, which the checker rejects, out of printed IR.
            return new Expr.IntLit(0);
        }
        if (left instanceof Expr.IntLit(int a) && right instanceof Expr.IntLit(int b)) {
            if (op.yieldsBool()) return new Expr.BoolLit(Semantics.intCompare(op, a, b));
            if (checked) {
                long exact = switch (op) {
                    case ADD -> (long) a + b;
                    case SUB -> (long) a - b;
                    case MUL -> (long) a * b;
                    case DIV -> Math.floorDiv((long) a, (long) b);
                    default -> Semantics.intBinary(op, a, b);
                };
                if (exact != (int) exact) throw overflow(a + " " + op.symbol() + " " + (b < 0 ? "(" + b + ")" : b), exact);
            }
            return new Expr.IntLit(Semantics.intBinary(op, a, b));
        }
        if (left instanceof Expr.FloatLit(double a) && right instanceof Expr.FloatLit(double b)) {
            if (op.yieldsBool()) return new Expr.BoolLit(Semantics.floatCompare(op, a, b));
            return finite(Semantics.floatBinary(op, a, b), new Expr.Binary(op, left, right));
        }
        if (left instanceof Expr.BoolLit(boolean a) && right instanceof Expr.BoolLit(boolean b)) {
            return new Expr.BoolLit(switch (op) {
                case AND -> a && b;
                case OR -> a || b;
                case EQ -> a == b;
                case NE -> a != b;
                default -> throw new IllegalStateException(op + " on bools");
            });
        }
        return new Expr.Binary(op, left, right);
    }

    private Expr call(Builtin fn, List<Expr> args) {
        Expr keep = new Expr.Call(fn, args);
        if (!args.stream().allMatch(a -> a instanceof Expr.IntLit || a instanceof Expr.FloatLit)) return keep;
        Expr first = args.getFirst();
        return switch (fn) {
            case FLOAT -> new Expr.FloatLit(((Expr.IntLit) first).value());
            case INT -> {
                double x = ((Expr.FloatLit) first).value();
                if (checked && Math.floor(x) != Semantics.toInt(x)) throw overflow("int(" + x + ")", Math.floor(x));
                yield new Expr.IntLit(Semantics.toInt(x));
            }
            case BITLEN -> new Expr.IntLit(Semantics.bitlen(((Expr.IntLit) first).value()));
            case MIN, MAX -> {
                if (first.type() == Type.INT) {
                    int a = ((Expr.IntLit) first).value();
                    int b = ((Expr.IntLit) args.get(1)).value();
                    yield new Expr.IntLit(fn == Builtin.MIN ? Math.min(a, b) : Math.max(a, b));
                }
                double a = ((Expr.FloatLit) first).value();
                double b = ((Expr.FloatLit) args.get(1)).value();
                yield new Expr.FloatLit(fn == Builtin.MIN ? Math.min(a, b) : Math.max(a, b));
            }
            case ABS -> {
                if (first instanceof Expr.IntLit(int v)) {
                    if (checked && v == Integer.MIN_VALUE) throw overflow("abs(" + v + ")", -(long) v);
                    yield new Expr.IntLit(Math.abs(v));
                }
                yield new Expr.FloatLit(Math.abs(((Expr.FloatLit) first).value()));
            }
            default -> finite(Semantics.floatCall(fn, ((Expr.FloatLit) first).value()), keep);
        };
    }

    private static FoldException overflow(String expression, double exact) {
        return new FoldException(String.format(java.util.Locale.ROOT, "integer overflow: %s = %.0f does not fit in 32 bits", expression, exact));
    }

    private static Expr finite(double value, Expr otherwise) {
        return Double.isFinite(value) ? new Expr.FloatLit(value) : otherwise;
    }
}
