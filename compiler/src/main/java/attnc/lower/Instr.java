package attnc.lower;

import attnc.ir.DType;
import attnc.ir.Index;
import attnc.ir.Type;
import java.util.List;

/**
 * One instruction of a {@link Program}. Registers are numbered by position: instruction i writes
 * register i, and reads only lower registers. {@link #type} is the type written.
 */
public sealed interface Instr {

    Type type();

    /** Registers this instruction reads. */
    default List<Integer> reads() { return List.of(); }

    record IntConst(int value) implements Instr {
        public Type type() { return Type.INT; }
    }

    record FloatConst(double value) implements Instr {
        public Type type() { return Type.FLOAT; }
    }

    record BoolConst(boolean value) implements Instr {
        public Type type() { return Type.BOOL; }
    }

    /** b, h, q (absolute), kv, or the output channel d. */
    record IndexValue(Index index) implements Instr {
        public Type type() { return Type.INT; }
    }

    /** A size fixed at launch (B, H, Nq, Nkv, D, Dv, Hkv, or a symbolic size of an input). */
    record SizeValue(String name) implements Instr {
        public Type type() { return Type.INT; }
    }

    /** A param given at launch (params known at compile time are already folded away). */
    record ParamValue(String name, Type type) implements Instr {}

    /** The scaled score s. */
    record Score() implements Instr {
        public Type type() { return Type.FLOAT; }
    }

    /** The output element o. */
    record Output() implements Instr {
        public Type type() { return Type.FLOAT; }
    }

    /** {@code op} over {@code args}; {@code operandType} is the type of the (first) operands. */
    record Op(Opcode op, Type type, Type operandType, List<Integer> args) implements Instr {
        public Op {
            args = List.copyOf(args);
        }

        public List<Integer> reads() { return args; }
    }

    /**
     * An element of an input tensor. The indices are already clamped into the tensor's bounds by
     * the lowering (a guarded load in an untaken branch still runs in straight-line code), and
     * {@code offset} is the row-major element offset computed from them.
     */
    record Load(String input, DType dtype, int offset) implements Instr {
        public Type type() { return dtype.loadsAs(); }

        public List<Integer> reads() { return List.of(offset); }
    }

    /**
     * Whether {@code value} occurs among the {@code width} consecutive int32 elements of
     * {@code input} starting at element {@code rowOffset} (rows already clamped).
     */
    record Member(String input, int value, int rowOffset, int width) implements Instr {
        public Type type() { return Type.BOOL; }

        public List<Integer> reads() { return List.of(value, rowOffset, width); }
    }

    /** The instruction as {@link Program#toString} prints it, registers as {@code rN}. */
    static String describe(Instr instr) {
        return switch (instr) {
            case IntConst(int v) -> "const " + v;
            case FloatConst(double v) -> "const " + v;
            case BoolConst(boolean v) -> "const " + v;
            case IndexValue(Index index) -> "index " + index.name().toLowerCase(java.util.Locale.ROOT);
            case SizeValue(String name) -> "size " + name;
            case ParamValue(String name, Type type) -> "param " + name;
            case Score() -> "s";
            case Output() -> "o";
            case Load(String input, DType dtype, int offset) -> "load " + input + "[r" + offset + "]";
            case Member(String input, int value, int rowOffset, int width) ->
                    "r" + value + " in " + input + "[r" + rowOffset + " .. +r" + width + "]";
            case Op(Opcode op, Type type, Type operandType, java.util.List<Integer> args) ->
                    op.name().toLowerCase(java.util.Locale.ROOT) + "." + operandType.name().toLowerCase(java.util.Locale.ROOT) + " "
                            + String.join(", ", args.stream().map(a -> "r" + a).toList());
        };
    }
}
