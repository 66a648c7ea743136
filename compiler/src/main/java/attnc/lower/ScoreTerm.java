package attnc.lower;

import attnc.ir.Type;
import java.util.List;
import java.util.Optional;

/**
 * A score that is s plus a term free of s ({@code s - slopes[h] * float(q - kv)}, a bias table's
 * entry): a softmax kernel can then form each base-2 logit with one fma, s · (scale · log2 e) +
 * term · log2 e, where a general score costs a multiply before the program and one after it.
 */
public final class ScoreTerm {
    private ScoreTerm() {}

    /** The term t with score = s + t, when the score's last operation adds (or subtracts) something that does not read s. */
    public static Optional<Program> of(Program score) {
        if (!(score.resultInstr() instanceof Instr.Op(Opcode op, Type type, Type operand, List<Integer> args))
                || operand != Type.FLOAT || !(op == Opcode.ADD || op == Opcode.SUB)) {
            return Optional.empty();
        }
        boolean leftIsS = score.instrs().get(args.get(0)) instanceof Instr.Score;
        boolean rightIsS = score.instrs().get(args.get(1)) instanceof Instr.Score;
        int other = leftIsS ? args.get(1) : args.get(0);
        if (!(leftIsS || rightIsS && op == Opcode.ADD) || readsScore(score, other)) return Optional.empty();
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = out.copy(score, other);
        int term = op == Opcode.SUB ? out.add(new Instr.Op(Opcode.NEG, Type.FLOAT, Type.FLOAT, List.of(moved[other]))) : moved[other];
        return Optional.of(out.build(term));
    }

    /**
     * {@code factor} · term, the factor joined to the operand of the term's last product (or
     * negation) that varies least, so no per-element multiply is added: (u · x) · c → (u · c) · x
     * with u uniform, per row or per column. Rounding differs from a final multiply by at most
     * an ulp of each product: this is for kernels that already work in fp32.
     */
    public static Program times(Program term, double factor) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = out.copy(term, term.instrs().size() - 1);
        return out.build(scaled(term, term.result(), factor, moved, out));
    }

    private static int scaled(Program term, int register, double factor, int[] moved, ProgramBuilder out) {
        if (term.instrs().get(register) instanceof Instr.Op(Opcode op, Type type, Type operand, List<Integer> args) && type == Type.FLOAT) {
            if (op == Opcode.NEG) return scaled(term, args.getFirst(), -factor, moved, out);
            if (op == Opcode.MUL) {
                boolean leftVariesLess = term.level(args.get(0)).ordinal() <= term.level(args.get(1)).ordinal();
                int less = leftVariesLess ? args.get(0) : args.get(1), more = leftVariesLess ? args.get(1) : args.get(0);
                if (term.level(less) != Program.Level.ELEMENT) {
                    int factored = out.add(new Instr.Op(Opcode.MUL, Type.FLOAT, Type.FLOAT, List.of(moved[less], out.add(new Instr.FloatConst(factor)))));
                    return out.add(new Instr.Op(Opcode.MUL, Type.FLOAT, Type.FLOAT, List.of(factored, moved[more])));
                }
            }
        }
        return out.add(new Instr.Op(Opcode.MUL, Type.FLOAT, Type.FLOAT, List.of(moved[register], out.add(new Instr.FloatConst(factor)))));
    }

    /**
     * The factor k when the term is k · float(q − kv) (or k · float(kv − q), or its negation) with
     * k the same for a whole tile: ALiBi's form. A kernel can then take k · float(q − kv₀) once a
     * row for each tile's first key kv₀ and subtract k times each column's (constant) offset from
     * it with one fma a score, where the term as written costs a subtraction, a conversion and a
     * multiply. The factor program computes k, with the signs of the form folded in.
     */
    public static Optional<Program> relativeFactor(Program term) {
        boolean negated = false;
        int register = term.result();
        while (term.instrs().get(register) instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args) && op == Opcode.NEG && type == Type.FLOAT) {
            negated = !negated;
            register = args.getFirst();
        }
        if (!(term.instrs().get(register) instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args)) || op != Opcode.MUL || type != Type.FLOAT) {
            return Optional.empty();
        }
        for (int side = 0; side < 2; side++) {
            int factor = args.get(side), other = args.get(1 - side);
            int direction = distance(term, other);
            if (direction != 0 && term.level(factor) == Program.Level.UNIFORM) {
                ProgramBuilder out = new ProgramBuilder();
                int[] moved = out.copy(term, factor);
                boolean flip = negated != (direction < 0);
                return Optional.of(out.build(flip ? out.add(new Instr.Op(Opcode.NEG, Type.FLOAT, Type.FLOAT, List.of(moved[factor]))) : moved[factor]));
            }
        }
        return Optional.empty();
    }

    /** 1 when the register is float(q − kv), −1 when it is float(kv − q), 0 otherwise. */
    private static int distance(Program program, int register) {
        if (program.instrs().get(register) instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args) && op == Opcode.I2F
                && program.instrs().get(args.getFirst()) instanceof Instr.Op(Opcode sub, var t, var o, List<Integer> operands) && sub == Opcode.SUB) {
            Instr left = program.instrs().get(operands.get(0)), right = program.instrs().get(operands.get(1));
            if (left.equals(new Instr.IndexValue(attnc.ir.Index.Q)) && right.equals(new Instr.IndexValue(attnc.ir.Index.KV))) return 1;
            if (left.equals(new Instr.IndexValue(attnc.ir.Index.KV)) && right.equals(new Instr.IndexValue(attnc.ir.Index.Q))) return -1;
        }
        return 0;
    }

    private static boolean readsScore(Program program, int register) {
        Instr instr = program.instrs().get(register);
        if (instr instanceof Instr.Score) return true;
        for (int r : instr.reads()) if (readsScore(program, r)) return true;
        return false;
    }
}
