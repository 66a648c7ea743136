package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.SampleProblems;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.PtxModule;
import attnc.reference.Visibility;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The backward's transposed tile lists against the mask evaluated per element: every (query tile,
 * kv tile) with a visible element is listed under its kv tile, in increasing order, and FULL only
 * where every element is visible and inside Nq and Nkv; for index-only masks, exactly so.
 */
class BackwardTilePlanTest {

    @Test
    void listsAreSoundAndExactForIndexOnlyMasks() {
        Random random = new Random(5);
        int checked = 0;
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null) continue;
            pattern = Passes.optimize(pattern, Map.of());
            LoweredPattern lowered = LowerPattern.lower(pattern);
            for (int blockQ : new int[] {32, 64}) {
                int nkv = 60 + random.nextInt(250), nq = random.nextBoolean() ? nkv : 1 + random.nextInt(nkv);
                Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(2, 4, 2, nq, nkv, 64, -1), DType.BFLOAT16, random);
                Binding binding = Binding.of(pattern, problem);
                BackwardTilePlan plan = BackwardTilePlan.of(lowered, blockQ, blockQ == 32 ? 64 : 128, binding);
                int[] lists = plan.lists(lowered, binding, problem.inputs());
                boolean exact = check(file + " blockQ=" + blockQ + " nq=" + nq + " nkv=" + nkv, plan, lists, Visibility.of(pattern, binding, problem.inputs()),
                        binding);
                if (!lowered.readsInputs()) assertTrue(exact, file + ": lists equal to the per-element classification");
                checked++;
            }
        }
        assertTrue(checked >= 60, "plans checked: " + checked);
    }

    /**
     * The deterministic kernel's ranks: the kv tiles that visit a query tile take the ranks 0, 1, ...
     * from the last kv tile down, so that each block waits only on blocks its grid launches first.
     */
    @Test
    void ranksOrderEachQueryTilesVisitorsFromTheLastKvTile() {
        Random random = new Random(9);
        for (String name : new String[] {"causal", "document", "sliding_window", "dense"}) {
            Pattern pattern = Passes.optimize(Patterns.compile(Path.of("../../examples/" + name + ".attn")), Map.of());
            LoweredPattern lowered = LowerPattern.lower(pattern);
            Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(2, 2, 2, 300, 420, 64, -1), DType.BFLOAT16, random);
            Binding binding = Binding.of(pattern, problem);
            BackwardTilePlan plan = BackwardTilePlan.of(lowered, 32, 64, binding);
            int[] lists = plan.lists(lowered, binding, problem.inputs());
            int[] ranks = plan.ranks(lists);
            int visits = 0;
            for (int slot = 0; slot < plan.slotsB() * plan.slotsH(); slot++) {
                for (int qt = 0; qt < plan.qTiles(); qt++) {
                    int expected = 0;
                    for (int kt = plan.kvTiles() - 1; kt >= 0; kt--) {
                        int base = (slot * plan.kvTiles() + kt) * (plan.qTiles() + 1);
                        for (int i = 0; i < lists[base]; i++) {
                            if ((lists[base + 1 + i] & (PtxModule.FULL_BIT - 1)) != qt) continue;
                            if (ranks[base + 1 + i] != expected) fail(name + " slot " + slot + " qt " + qt + " kt " + kt + ": rank " + ranks[base + 1 + i] + ", expected " + expected);
                            expected++;
                            visits++;
                        }
                    }
                }
            }
            assertTrue(visits > plan.qTiles(), name + ": visits " + visits);
        }
    }

    /** Fails on an unsound list; returns whether every list is exact. */
    private static boolean check(String label, BackwardTilePlan plan, int[] lists, Visibility visibility, Binding binding) {
        int nq = binding.size("Nq"), nkv = binding.size("Nkv"), offset = binding.queryOffset(), blockQ = plan.blockQ(), blockKv = plan.blockKv();
        boolean exact = true;
        for (int b = 0; b < binding.size("B"); b++) {
            for (int h = 0; h < binding.size("H"); h++) {
                int slot = b * plan.slotStrideB() + h * plan.slotStrideH();
                for (int kt = 0; kt < plan.kvTiles(); kt++) {
                    int base = (slot * plan.kvTiles() + kt) * (plan.qTiles() + 1);
                    Boolean[] listed = new Boolean[plan.qTiles()];
                    int previous = -1;
                    for (int i = 0; i < lists[base]; i++) {
                        int qt = lists[base + 1 + i] & (PtxModule.FULL_BIT - 1);
                        if (qt <= previous) fail(label + ": query tiles out of order under kv tile " + kt);
                        previous = qt;
                        listed[qt] = (lists[base + 1 + i] & PtxModule.FULL_BIT) != 0;
                    }
                    for (int qt = 0; qt < plan.qTiles(); qt++) {
                        boolean any = false, all = (qt + 1) * blockQ <= nq && (kt + 1) * blockKv <= nkv;
                        for (int q = qt * blockQ; q < Math.min(nq, (qt + 1) * blockQ); q++) {
                            for (int kv = kt * blockKv; kv < Math.min(nkv, (kt + 1) * blockKv); kv++) {
                                boolean v = visibility.visible(b, h, q + offset, kv);
                                any |= v;
                                all &= v;
                            }
                        }
                        String where = label + " b=" + b + " h=" + h + " kt=" + kt + " qt=" + qt;
                        if (any && listed[qt] == null) fail(where + ": a tile with a visible element is not listed");
                        if (listed[qt] != null && listed[qt] && !all) fail(where + ": FULL, but an element is hidden or outside Nq, Nkv");
                        exact &= any == (listed[qt] != null) && (!any || listed[qt] == all);
                    }
                }
            }
        }
        return exact;
    }
}
