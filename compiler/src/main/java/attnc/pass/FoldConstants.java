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
 */
public final class FoldConstants {
    private FoldConstants() {}

    public static Expr fold(Expr e, Map<String, Expr> knownParams) {
        return switch (e) {
            case Expr.ParamRef p -> known(p, knownParams);
            case Expr.Let(String name, Expr value, Expr body) -> new Expr.Let(name, fold(value, knownParams), fold(body, knownParams));
            case Expr.Unary(UnaryOp op, Expr operand) -> unary(op, fold(operand, knownParams));
            case Expr.Binary(BinaryOp op, Expr left, Expr right) -> binary(op, fold(left, knownParams), fold(right, knownParams));
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                Expr condition = fold(c, knownParams);
                if (condition instanceof Expr.BoolLit(boolean v)) yield fold(v ? t : f, knownParams);
                yield new Expr.Conditional(condition, fold(t, knownParams), fold(f, knownParams));
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> call(fn, foldAll(args, knownParams));
            case Expr.Load(String input, var dtype, List<Expr> indices) -> new Expr.Load(input, dtype, foldAll(indices, knownParams));
            case Expr.Member(Expr value, String input, var dtype, List<Expr> leading) ->
                    new Expr.Member(fold(value, knownParams), input, dtype, foldAll(leading, knownParams));
            default -> e;
        };
    }

    /** A float param given as an int literal (as `--param t=2` reads) becomes a float literal, so the IR stays typed. */
    private static Expr known(Expr.ParamRef p, Map<String, Expr> knownParams) {
        Expr value = knownParams.getOrDefault(p.name(), p);
        return p.type() == Type.FLOAT && value instanceof Expr.IntLit(int v) ? new Expr.FloatLit(v) : value;
    }

    private static List<Expr> foldAll(List<Expr> es, Map<String, Expr> knownParams) {
        List<Expr> out = new ArrayList<>(es.size());
        for (Expr e : es) out.add(fold(e, knownParams));
        return out;
    }

    private static Expr unary(UnaryOp op, Expr operand) {
        return switch (operand) {
            case Expr.IntLit(int v) when op == UnaryOp.NEG -> new Expr.IntLit(-v);
            case Expr.IntLit(int v) when op == UnaryOp.BIT_NOT -> new Expr.IntLit(~v);
            case Expr.FloatLit(double v) when op == UnaryOp.NEG -> new Expr.FloatLit(-v);
            case Expr.BoolLit(boolean v) when op == UnaryOp.NOT -> new Expr.BoolLit(!v);
            default -> new Expr.Unary(op, operand);
        };
    }

    private static Expr binary(BinaryOp op, Expr left, Expr right) {
        // An int divided by zero is 0 whatever it is; folding it keeps a zero-literal divisor, which the checker rejects, out of printed IR.
        if ((op == BinaryOp.DIV || op == BinaryOp.MOD) && right instanceof Expr.IntLit(int b) && b == 0) return new Expr.IntLit(0);
        if (left instanceof Expr.IntLit(int a) && right instanceof Expr.IntLit(int b)) {
            return op.yieldsBool() ? new Expr.BoolLit(Semantics.intCompare(op, a, b)) : new Expr.IntLit(Semantics.intBinary(op, a, b));
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

    private static Expr call(Builtin fn, List<Expr> args) {
        Expr keep = new Expr.Call(fn, args);
        if (!args.stream().allMatch(a -> a instanceof Expr.IntLit || a instanceof Expr.FloatLit)) return keep;
        Expr first = args.getFirst();
        return switch (fn) {
            case FLOAT -> new Expr.FloatLit(((Expr.IntLit) first).value());
            case INT -> new Expr.IntLit(Semantics.toInt(((Expr.FloatLit) first).value()));
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
            case ABS -> first instanceof Expr.IntLit(int v) ? new Expr.IntLit(Math.abs(v))
                    : new Expr.FloatLit(Math.abs(((Expr.FloatLit) first).value()));
            default -> finite(Semantics.floatCall(fn, ((Expr.FloatLit) first).value()), keep);
        };
    }

    private static Expr finite(double value, Expr otherwise) {
        return Double.isFinite(value) ? new Expr.FloatLit(value) : otherwise;
    }
}
