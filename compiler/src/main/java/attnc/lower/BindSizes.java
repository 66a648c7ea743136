package attnc.lower;

import java.util.Map;

/**
 * Fixes launch sizes as constants in a program: a kernel whose layout is padded (a head dim
 * rounded up to the tile's 16 columns) still gives the pattern the sizes it was written for.
 * The program then goes through the program passes again ({@link LowerPattern#optimize}), which
 * fold what the constants make constant.
 */
public final class BindSizes {
    private BindSizes() {}

    public static Program bind(Program program, Map<String, Integer> sizes) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) {
            Instr instr = program.instrs().get(i);
            moved[i] = out.add(instr instanceof Instr.SizeValue(String name) && sizes.containsKey(name)
                    ? new Instr.IntConst(sizes.get(name)) : StrengthReduce.renamed(instr, moved));
        }
        return LowerPattern.optimize(out.build(moved[program.result()]));
    }
}
