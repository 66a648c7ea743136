package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random visibility expressions over every operator of the language: int, float and bool
 * arithmetic, comparisons, logic, conditionals, lets, builtins, params, sizes, and the inputs of
 * {@link RandomLaunch} (loads of document ids, lengths, flags and biases; {@code in} of selected
 * blocks). Literals lean small (near tile sizes) with some extremes to provoke 32-bit wrapping.
 */
final class MaskGenerator {
    private final Random random;
    private final boolean data;
    private final List<Expr.LocalRef> scope = new ArrayList<>();
    private int lets;

    MaskGenerator(Random random, boolean data) {
        this.random = random;
        this.data = data;
    }

    Expr bool(int depth) {
        if (depth <= 0) return comparison(0);
        return switch (random.nextInt(data ? 14 : 11)) {
            case 0, 1, 2 -> comparison(depth - 1);
            case 3 -> new Expr.Binary(BinaryOp.AND, bool(depth - 1), bool(depth - 1));
            case 4 -> new Expr.Binary(BinaryOp.OR, bool(depth - 1), bool(depth - 1));
            case 5 -> new Expr.Unary(UnaryOp.NOT, bool(depth - 1));
            case 6 -> new Expr.Conditional(bool(depth - 1), bool(depth - 1), bool(depth - 1));
            case 7 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.EQ : BinaryOp.NE, bool(depth - 1), bool(depth - 1));
            case 8 -> let(depth, Type.BOOL);
            case 9 -> local(Type.BOOL, () -> random.nextInt(8) == 0 ? new Expr.BoolLit(random.nextBoolean()) : new Expr.ParamRef("flagp", Type.BOOL));
            case 10 -> floatComparison(depth - 1);
            case 11 -> new Expr.Load("flag", DType.BOOL, List.of(index(Index.B), position()));
            case 12 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.EQ : BinaryOp.NE,
                    new Expr.Load("doc", DType.INT32, List.of(index(Index.B), position())),
                    new Expr.Load("doc", DType.INT32, List.of(index(Index.B), position())));
            default -> new Expr.Member(intExpr(depth - 1), "sel", DType.INT32,
                    List.of(index(Index.B), index(Index.H), new Expr.Binary(BinaryOp.DIV, index(Index.Q), new Expr.SizeRef("C"))));
        };
    }

    private Expr comparison(int depth) {
        BinaryOp op = List.of(BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE).get(random.nextInt(6));
        return new Expr.Binary(op, intExpr(depth), intExpr(depth));
    }

    private Expr floatComparison(int depth) {
        BinaryOp op = List.of(BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE).get(random.nextInt(6));
        if (random.nextInt(3) == 0) return new Expr.Binary(op, nanWhereNegative(), floatExpr(depth));
        return new Expr.Binary(op, floatExpr(depth), floatExpr(depth));
    }

    /**
     * {@code sqrt}, {@code log} or {@code log2} of a signed distance: NaN on one side of a
     * diagonal, finite on the other, so comparisons that forget NaN compares false (and !=
     * true) classify whole tiles wrongly.
     */
    private Expr nanWhereNegative() {
        Builtin fn = List.of(Builtin.SQRT, Builtin.LOG, Builtin.LOG2).get(random.nextInt(3));
        Expr distance = random.nextBoolean() ? new Expr.Binary(BinaryOp.SUB, index(Index.Q), index(Index.KV))
                : new Expr.Binary(BinaryOp.SUB, index(Index.KV), new Expr.IntLit(random.nextInt(40)));
        return new Expr.Call(fn, List.of(new Expr.Call(Builtin.FLOAT, List.of(distance))));
    }

    Expr intExpr(int depth) {
        if (depth <= 0 || random.nextInt(4) == 0) return intLeaf();
        return switch (random.nextInt(data ? 13 : 12)) {
            case 0, 1, 2, 3 -> {
                BinaryOp op = BinaryOp.values()[random.nextInt(10)];
                yield new Expr.Binary(op, intExpr(depth - 1), intExpr(depth - 1));
            }
            case 4 -> new Expr.Unary(random.nextBoolean() ? UnaryOp.NEG : UnaryOp.BIT_NOT, intExpr(depth - 1));
            case 5 -> new Expr.Call(random.nextBoolean() ? Builtin.MIN : Builtin.MAX, List.of(intExpr(depth - 1), intExpr(depth - 1)));
            case 6 -> new Expr.Call(random.nextBoolean() ? Builtin.ABS : Builtin.BITLEN, List.of(intExpr(depth - 1)));
            case 7 -> new Expr.Conditional(bool(depth - 1), intExpr(depth - 1), intExpr(depth - 1));
            case 8 -> let(depth, Type.INT);
            case 9 -> new Expr.Call(Builtin.INT, List.of(floatExpr(depth - 1)));
            case 10, 11 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.SUB : BinaryOp.ADD, intExpr(depth - 1), intExpr(depth - 1));
            default -> random.nextBoolean() ? new Expr.Load("doc", DType.INT32, List.of(index(Index.B), position()))
                    : new Expr.Load("len", DType.INT32, List.of(index(Index.B)));
        };
    }

    private Expr intLeaf() {
        return switch (random.nextInt(9)) {
            case 0, 1 -> index(Index.Q);
            case 2, 3 -> index(Index.KV);
            case 4 -> index(random.nextBoolean() ? Index.B : Index.H);
            case 5 -> new Expr.SizeRef(List.of("Nq", "Nkv", "B", "H").get(random.nextInt(4)));
            case 6 -> local(Type.INT, () -> new Expr.ParamRef("w", Type.INT));
            default -> new Expr.IntLit(literal());
        };
    }

    private int literal() {
        return switch (random.nextInt(10)) {
            case 0 -> List.of(Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 20, -(1 << 16), 65535).get(random.nextInt(5));
            case 1, 2 -> random.nextInt(7) - 3;
            default -> random.nextInt(70) - 5;
        };
    }

    Expr floatExpr(int depth) {
        if (depth <= 0 || random.nextInt(4) == 0) {
            return switch (random.nextInt(data ? 5 : 4)) {
                case 0 -> new Expr.FloatLit(List.of(0.0, -0.0, 0.5, -2.0, 1e30, 3.0, 1e-3).get(random.nextInt(7)));
                case 1 -> new Expr.ParamRef("temp", Type.FLOAT);
                case 2, 3 -> new Expr.Call(Builtin.FLOAT, List.of(intExpr(depth - 1)));
                default -> new Expr.Load("bias", DType.FLOAT32, List.of(index(Index.H), position()));
            };
        }
        return switch (random.nextInt(7)) {
            case 0, 1 -> {
                BinaryOp op = List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV).get(random.nextInt(4));
                yield new Expr.Binary(op, floatExpr(depth - 1), floatExpr(depth - 1));
            }
            case 2 -> new Expr.Unary(UnaryOp.NEG, floatExpr(depth - 1));
            case 3 -> {
                Builtin fn = List.of(Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.SQRT, Builtin.TANH, Builtin.SIGMOID,
                        Builtin.FLOOR, Builtin.ABS).get(random.nextInt(8));
                yield new Expr.Call(fn, List.of(floatExpr(depth - 1)));
            }
            case 4 -> new Expr.Call(random.nextBoolean() ? Builtin.MIN : Builtin.MAX, List.of(floatExpr(depth - 1), floatExpr(depth - 1)));
            case 5 -> new Expr.Conditional(bool(depth - 1), floatExpr(depth - 1), floatExpr(depth - 1));
            default -> let(depth, Type.FLOAT);
        };
    }

    /** A fresh name per let: the reference evaluator keeps one slot per name. */
    private Expr let(int depth, Type bodyType) {
        Type valueType = List.of(Type.INT, Type.INT, Type.FLOAT, Type.BOOL).get(random.nextInt(4));
        Expr value = switch (valueType) {
            case INT -> intExpr(depth - 1);
            case FLOAT -> floatExpr(depth - 1);
            case BOOL -> bool(depth - 1);
        };
        Expr.LocalRef ref = new Expr.LocalRef("l" + lets++, valueType);
        scope.add(ref);
        Expr body = switch (bodyType) {
            case INT -> intExpr(depth - 1);
            case FLOAT -> floatExpr(depth - 1);
            case BOOL -> bool(depth - 1);
        };
        scope.removeLast();
        return new Expr.Let(ref.name(), value, body);
    }

    private Expr local(Type type, java.util.function.Supplier<Expr> otherwise) {
        List<Expr.LocalRef> fitting = scope.stream().filter(r -> r.type() == type).toList();
        if (fitting.isEmpty() || random.nextBoolean()) return otherwise.get();
        return fitting.get(random.nextInt(fitting.size()));
    }

    private Expr position() {
        return index(random.nextBoolean() ? Index.Q : Index.KV);
    }

    private static Expr index(Index i) {
        return new Expr.IndexRef(i);
    }
}
