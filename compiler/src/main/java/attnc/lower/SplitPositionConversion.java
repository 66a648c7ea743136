package attnc.lower;

import attnc.ir.Index;
import attnc.ir.Type;
import java.util.List;

/**
 * For launches whose positions are exact in fp32 ({@link #MAX_EXACT_POSITION}), converts a sum
 * or difference of the positions q and kv to float as the sum or difference of their
 * conversions: {@code float(q − kv) → float(q) − float(kv)}, also under {@code abs}. float(q) is
 * computed once a row and float(kv) once a column, so each score pays one float subtraction
 * instead of an integer one and a conversion (on the GPU a conversion issues on the same narrow
 * pipe as the softmax's exponential: ALiBi's per-element conversion doubled that pipe's load).
 *
 * <p>Exact, in fp32 as in double: both conversions are then exact, and one correctly rounded
 * float operation rounds the exact integer result, which is what the single conversion rounds
 * (an int sum of two such positions cannot wrap). Beyond 2^24 a position itself rounds, so the
 * pass is only for launches within the bound; the others run the program as written.
 */
public final class SplitPositionConversion {
    /** Every int of magnitude up to 2^24 is an fp32 number. */
    public static final long MAX_EXACT_POSITION = 1L << 24;

    private SplitPositionConversion() {}

    public static Program split(Program program) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) {
            Instr renamed = StrengthReduce.renamed(program.instrs().get(i), moved);
            moved[i] = renamed instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args) && op == Opcode.I2F
                    ? converted(args.getFirst(), out) : out.add(renamed);
        }
        return out.build(moved[program.result()]);
    }

    /** float(x) for the int register x: split when x is q ± kv (or |q ± kv|), one conversion otherwise. */
    private static int converted(int x, ProgramBuilder out) {
        if (out.at(x) instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args) && operand == Type.INT) {
            if ((op == Opcode.ADD || op == Opcode.SUB) && position(out.at(args.get(0))) && position(out.at(args.get(1)))) {
                return out.add(new Instr.Op(op, Type.FLOAT, Type.FLOAT, List.of(i2f(args.get(0), out), i2f(args.get(1), out))));
            }
            if (op == Opcode.ABS) {
                int inner = converted(args.getFirst(), out);
                if (!(out.at(inner) instanceof Instr.Op(Opcode innerOp, var t, var o, var a) && innerOp == Opcode.I2F)) {
                    return out.add(new Instr.Op(Opcode.ABS, Type.FLOAT, Type.FLOAT, List.of(inner)));
                }
            }
        }
        return i2f(x, out);
    }

    private static int i2f(int x, ProgramBuilder out) {
        return out.add(new Instr.Op(Opcode.I2F, Type.FLOAT, Type.INT, List.of(x)));
    }

    private static boolean position(Instr instr) {
        return instr instanceof Instr.IndexValue(Index index) && (index == Index.Q || index == Index.KV);
    }
}
