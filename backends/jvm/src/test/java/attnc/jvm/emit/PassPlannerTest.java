package attnc.jvm.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.front.Frontend;
import attnc.grad.Section;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.lower.LowerBackward;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import attnc.pass.Passes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The plans {@link PassPlanner} makes for every example's tile hooks, at budgets from far below
 * C2's to C2's own, are sound before any bytecode is emitted: every register a pass reads is
 * computed or loaded in it, every non-leaf register is computed in exactly one pass, every load
 * finds its register stored by an earlier pass and not overwritten since, and every sink runs once,
 * in a pass that has its inputs; programs on one instruction list (the score sites') compute
 * their registers once, in the first of them. (That the emitted passes compute the right values is
 * {@code SplitHooksTest}'s.)
 */
class PassPlannerTest {
    static java.util.stream.Stream<Path> examples() throws java.io.IOException { return HookSizeTest.examples(); }

    @ParameterizedTest
    @MethodSource("examples")
    void plansAreSound(Path file) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
        LoweredPattern lowered = LowerPattern.lower(pattern);
        LoweredBackward backward = LowerBackward.lower(pattern);
        List<List<Program>> hooks = new ArrayList<>(List.of(List.of(lowered.score()), List.of(lowered.visibility()), List.of(backward.scoreByS())));
        List<Program> sites = new ArrayList<>();
        for (LoweredBackward.Site site : backward.sites()) {
            if (site.section() != Section.SCORE) continue;
            sites.add(site.partial());
            sites.add(site.offset());
        }
        hooks.add(sites);
        boolean split = false;
        for (int budget : new int[] {90, 130, 200, PassPlanner.BUDGET}) {
            for (List<Program> programs : hooks) {
                // A sink per program (scoreSites' read a partial and an offset each; one per program is a finer test of the same rules).
                List<PassPlanner.SinkNeeds> sinks = new ArrayList<>();
                for (int p = 0; p < programs.size(); p++) sinks.add(new PassPlanner.SinkNeeds(List.of(p), 20));
                PassPlanner.Plan plan = PassPlanner.plan(programs, sinks, TileLoop.BYTES, budget);
                check(programs, sinks, plan, file + " at " + budget + " bytes");
                split |= plan.passes().size() > 1;
            }
        }
        assertTrue(split || !file.toString().contains("low_rank_bias"), file + ": nothing was split");
    }

    private static void check(List<Program> programs, List<PassPlanner.SinkNeeds> sinks, PassPlanner.Plan plan, String what) {
        List<PassPlanner.Pass> passes = plan.passes();
        int[] sinkRuns = new int[sinks.size()];
        PassPlanner.Sharing sharing = PassPlanner.Sharing.of(programs);
        for (int p = 0; p < programs.size(); p++) {
            Program program = programs.get(p);
            if (!sharing.computes(p)) {
                for (PassPlanner.Pass pass : passes) {
                    assertTrue(pass.parts().get(p).computed().isEmpty() && pass.parts().get(p).loaded().isEmpty(),
                            what + ": p" + p + " shares p" + sharing.first()[p] + "'s instructions but has registers of its own");
                }
                continue;
            }
            int[] computedIn = new int[program.instrs().size()];
            java.util.Arrays.fill(computedIn, -1);
            for (int k = 0; k < passes.size(); k++) {
                PassPlanner.Part part = passes.get(k).parts().get(p);
                for (int r = part.computed().nextSetBit(0); r >= 0; r = part.computed().nextSetBit(r + 1)) {
                    assertTrue(sharing.live(p, r), what + ": dead register " + r + " computed");
                    for (int read : program.instrs().get(r).reads()) {
                        assertTrue(part.uses(read), what + ": pass " + k + " computes r" + r + " without r" + read);
                    }
                    if (program.instrs().get(r).reads().isEmpty()) continue;
                    assertEquals(-1, computedIn[r], what + ": r" + r + " computed twice");
                    computedIn[r] = k;
                }
            }
            for (int r = 0; r < computedIn.length; r++) {
                if (sharing.live(p, r) && !program.instrs().get(r).reads().isEmpty() && computedIn[r] < 0) fail(what + ": r" + r + " never computed");
            }
            for (int k = 0; k < passes.size(); k++) {
                PassPlanner.Part part = passes.get(k).parts().get(p);
                for (int r = part.loaded().nextSetBit(0); r >= 0; r = part.loaded().nextSetBit(r + 1)) {
                    assertTrue(computedIn[r] >= 0 && computedIn[r] < k && part.spills()[r] != null, what + ": pass " + k + " loads r" + r + " not stored before");
                    notOverwritten(programs, passes, p, r, computedIn[r], k, what);
                }
            }
        }
        for (int k = 0; k < passes.size(); k++) {
            for (int sink : passes.get(k).sinks()) {
                sinkRuns[sink]++;
                for (int p : sinks.get(sink).reads()) {
                    assertTrue(passes.get(k).parts().get(sharing.first()[p]).uses(programs.get(p).result()), what + ": sink " + sink + " without its input");
                }
            }
        }
        for (int runs : sinkRuns) assertEquals(1, runs, what + ": a sink runs " + runs + " times");
    }

    /** No other register of r's kind is stored to r's location from the pass that stores r up to the one that loads it. */
    private static void notOverwritten(List<Program> programs, List<PassPlanner.Pass> passes, int program, int register, int stored, int loaded, String what) {
        PassPlanner.Location at = passes.get(stored).parts().get(program).spills()[register];
        boolean floats = programs.get(program).instrs().get(register).type() == Type.FLOAT;
        for (int k = stored; k <= loaded; k++) {
            for (int p = 0; p < programs.size(); p++) {
                PassPlanner.Part part = passes.get(k).parts().get(p);
                for (int r = 0; r < part.spills().length; r++) {
                    if ((p == program && r == register) || !part.stores(r) || !at.equals(part.spills()[r])) continue;
                    if ((programs.get(p).instrs().get(r).type() == Type.FLOAT) == floats) {
                        fail(what + ": pass " + k + " stores p" + p + " r" + r + " over p" + program + " r" + register + " before pass " + loaded + " loads it");
                    }
                }
            }
        }
    }
}
