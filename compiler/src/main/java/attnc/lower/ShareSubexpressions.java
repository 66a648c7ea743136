package attnc.lower;

import java.util.ArrayList;
import java.util.List;

/**
 * One register per distinct value. Lowering already gives equal instructions one register
 * ({@link ProgramBuilder}); this pass also makes the operands of a commutative operation come in
 * one order (a + b and b + a are then one register) and, for programs a kernel evaluates at the
 * same points (the score sites' partials and offsets of one tile hook), puts them on one
 * instruction list ({@link #acrossPrograms}), so a renderer that evaluates them together computes
 * what they share once. Every instruction is total and has no effect (loads are clamped into
 * their tensors, both branches of a select are evaluated anyway), so sharing never moves a load
 * out from under a guard.
 */
public final class ShareSubexpressions {
    private ShareSubexpressions() {}

    public static Program share(Program program) {
        ProgramBuilder out = new ProgramBuilder();
        return out.build(copy(program, out));
    }

    /**
     * The programs on one instruction list, each with its own result: a register of one equal to a
     * register of another is one register. Each program's live registers are those its result
     * needs, so a renderer of one program alone emits what it did before.
     */
    public static List<Program> acrossPrograms(List<Program> programs) {
        ProgramBuilder out = new ProgramBuilder();
        List<Integer> results = new ArrayList<>();
        for (Program program : programs) results.add(copy(program, out));
        return results.stream().map(out::build).toList();
    }

    /** Copies every register of {@code program} into {@code out}, commutative operands ordered; returns where its result landed. */
    private static int copy(Program program, ProgramBuilder out) {
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) moved[i] = out.add(ordered(StrengthReduce.renamed(program.instrs().get(i), moved)));
        return moved[program.result()];
    }

    /** The operands of a commutative operation, lower register first (exact: IEEE +, ·, min and max commute, NaN and −0 included). */
    private static Instr ordered(Instr instr) {
        if (instr instanceof Instr.Op(Opcode op, var type, var operand, List<Integer> args) && commutes(op) && args.get(0) > args.get(1)) {
            return new Instr.Op(op, type, operand, List.of(args.get(1), args.get(0)));
        }
        return instr;
    }

    private static boolean commutes(Opcode op) {
        return switch (op) {
            case ADD, MUL, MIN, MAX, EQ, NE, AND, OR, BIT_AND, BIT_OR, BIT_XOR -> true;
            default -> false;
        };
    }
}
