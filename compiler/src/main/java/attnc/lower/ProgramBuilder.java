package attnc.lower;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Appends instructions to a program under construction, sharing equal ones (value numbering). */
final class ProgramBuilder {
    private final List<Instr> instrs = new ArrayList<>();
    private final Map<Instr, Integer> existing = new HashMap<>();

    /** The register holding {@code instr}: an earlier equal instruction's, or a new one. */
    int add(Instr instr) {
        Integer known = existing.get(instr);
        if (known != null) return known;
        instrs.add(instr);
        existing.put(instr, instrs.size() - 1);
        return instrs.size() - 1;
    }

    Instr at(int register) { return instrs.get(register); }

    /** Copies {@code program}'s registers 0 to {@code last} (all of them the last one reads); returns where each landed. */
    int[] copy(Program program, int last) {
        int[] moved = new int[last + 1];
        for (int i = 0; i <= last; i++) moved[i] = add(StrengthReduce.renamed(program.instrs().get(i), moved));
        return moved;
    }

    Program build(int result) { return new Program(instrs, result); }
}
