package attnc.ir;

import java.util.List;

/**
 * A checked, typed expression. Every node knows its type; operands of arithmetic and comparisons
 * already agree (the checker inserts {@code float(...)} where an int meets a float), so a
 * backend never has to infer anything.
 */
public sealed interface Expr {

    Type type();

    record IntLit(int value) implements Expr {
        public Type type() { return Type.INT; }
    }

    record FloatLit(double value) implements Expr {
        public Type type() { return Type.FLOAT; }
    }

    record BoolLit(boolean value) implements Expr {
        public Type type() { return Type.BOOL; }
    }

    record IndexRef(Index index) implements Expr {
        public Type type() { return Type.INT; }
    }

    /** A size: one of {@link Sizes#STANDARD} or a symbolic size introduced by an input's shape. */
    record SizeRef(String name) implements Expr {
        public Type type() { return Type.INT; }
    }

    /** A scalar parameter not yet known; {@code FoldConstants} replaces it once its value is. */
    record ParamRef(String name, Type type) implements Expr {}

    /** {@code s}: the scaled score q·k, only inside the score section. */
    record ScoreRef() implements Expr {
        public Type type() { return Type.FLOAT; }
    }

    /** {@code o}: one element of the normalised, weighted sum of V, only inside the output section. */
    record OutputRef() implements Expr {
        public Type type() { return Type.FLOAT; }
    }

    record LocalRef(String name, Type type) implements Expr {}

    /** {@code (let name = value; body)}: shares a value between several uses in {@code body}. */
    record Let(String name, Expr value, Expr body) implements Expr {
        public Type type() { return body.type(); }
    }

    record Unary(UnaryOp op, Expr operand) implements Expr {
        public Type type() { return op == UnaryOp.NOT ? Type.BOOL : operand.type(); }
    }

    record Binary(BinaryOp op, Expr left, Expr right) implements Expr {
        public Type type() { return op.yieldsBool() ? Type.BOOL : left.type(); }
    }

    record Conditional(Expr condition, Expr ifTrue, Expr ifFalse) implements Expr {
        public Type type() { return ifTrue.type(); }
    }

    record Call(Builtin fn, List<Expr> args) implements Expr {
        public Call {
            args = List.copyOf(args);
        }

        public Type type() {
            return switch (fn) {
                case MIN, MAX, ABS -> args.getFirst().type();
                case BITLEN, INT -> Type.INT;
                default -> Type.FLOAT;
            };
        }
    }

    /** An element of an input tensor; indices are ints, one per dimension. */
    record Load(String input, DType dtype, List<Expr> indices) implements Expr {
        public Load {
            indices = List.copyOf(indices);
        }

        public Type type() { return dtype.loadsAs(); }
    }

    /**
     * {@code value in input[leading...]}: whether {@code value} occurs in the last dimension of
     * {@code input} at the given leading indices. Routed selections (top-k KV blocks per query
     * block) are written this way; negative entries pad short lists.
     */
    record Member(Expr value, String input, DType dtype, List<Expr> leading) implements Expr {
        public Member {
            leading = List.copyOf(leading);
        }

        public Type type() { return Type.BOOL; }
    }
}
