package attnc.lower;

import attnc.ir.Type;
import java.util.ArrayList;
import java.util.List;

/**
 * Replaces costly operations by cheaper ones that give the same value under
 * {@link attnc.ir.Semantics} for every operand, on every target:
 * <ul>
 *   <li>{@code x / 2^k → x >> k}: floored division by a positive power of two is the arithmetic shift;
 *   <li>{@code x % 2^k → x & (2^k − 1)}: the floored remainder by a positive divisor is its low bits;
 *   <li>{@code x / 1 → x}, {@code x % 1 → 0};
 *   <li>{@code x / ±2^k → x · ±2^−k} on floats: both are the correctly rounded x·2^−k while 2^−k is a normal float.
 * </ul>
 * Division by other constants (a reciprocal multiply) changes results and is left to the
 * backends that accept it. A program with nothing to reduce comes back with the same registers.
 */
public final class StrengthReduce {
    private StrengthReduce() {}

    public static Program reduce(Program program) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) moved[i] = rewrite(program.instrs().get(i), moved, out);
        return out.build(moved[program.result()]);
    }

    private static int rewrite(Instr instr, int[] moved, ProgramBuilder out) {
        Instr renamed = renamed(instr, moved);
        if (renamed instanceof Instr.Op(var op, Type type, Type operand, List<Integer> args) && args.size() == 2) {
            Instr divisor = out.at(args.get(1));
            int x = args.getFirst();
            if (operand == Type.INT && divisor instanceof Instr.IntConst(int c) && c > 0 && Integer.bitCount(c) == 1) {
                int k = Integer.numberOfTrailingZeros(c);
                switch (op) {
                    case DIV -> {
                        return k == 0 ? x : out.add(new Instr.Op(Opcode.SHR, type, Type.INT, List.of(x, out.add(new Instr.IntConst(k)))));
                    }
                    case MOD -> {
                        return k == 0 ? out.add(new Instr.IntConst(0))
                                : out.add(new Instr.Op(Opcode.BIT_AND, type, Type.INT, List.of(x, out.add(new Instr.IntConst(c - 1)))));
                    }
                    default -> { }
                }
            }
            if (op == Opcode.DIV && operand == Type.FLOAT && divisor instanceof Instr.FloatConst(double c) && exactReciprocal(c)) {
                return out.add(new Instr.Op(Opcode.MUL, type, Type.FLOAT, List.of(x, out.add(new Instr.FloatConst(1.0 / c)))));
            }
        }
        return out.add(renamed);
    }

    /**
     * ±2^k, exact in fp32, whose reciprocal is a normal fp32 number: x / c and x · (1/c) then
     * round the same exact value, in double (the reference) and in fp32 (the kernels) alike.
     */
    static boolean exactReciprocal(double c) {
        double magnitude = Math.abs(c);
        boolean powerOfTwo = magnitude > 0 && magnitude == Math.scalb(1.0, Math.getExponent(magnitude));
        double reciprocal = 1.0 / magnitude;
        return powerOfTwo && (float) c == c && reciprocal >= Float.MIN_NORMAL && reciprocal <= Float.MAX_VALUE;
    }

    static Instr renamed(Instr instr, int[] moved) {
        return switch (instr) {
            case Instr.Op op -> {
                List<Integer> args = new ArrayList<>(op.args().size());
                for (int a : op.args()) args.add(moved[a]);
                yield new Instr.Op(op.op(), op.type(), op.operandType(), args);
            }
            case Instr.Load load -> new Instr.Load(load.input(), load.dtype(), moved[load.offset()]);
            case Instr.Member m -> new Instr.Member(m.input(), moved[m.value()], moved[m.rowOffset()], moved[m.width()]);
            default -> instr;
        };
    }
}
