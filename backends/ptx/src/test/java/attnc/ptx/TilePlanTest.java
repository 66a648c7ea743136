package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Schedule;
import attnc.reference.Visibility;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The analysis-built tile lists against brute force over every element, for every pattern, on
 * ragged shapes with GQA and a query offset: always sound (every tile with a visible element
 * listed; FULL only when every element inside Nq × Nkv is visible and the tile inside Nkv). For
 * masks of indices only, which {@code forward} builds this way, also exact (the same lists as
 * the classifier kernel, which evaluates every element); masks that read inputs are counted.
 */
class TilePlanTest {

    @Test
    void analysedListsAreSoundAndExactForIndexOnlyMasks() {
        Random random = new Random(11);
        int indexOnly = 0, dataRows = 0, dataExactRows = 0;
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null) continue;
            pattern = Passes.optimize(pattern, Map.of());
            boolean readsInputs = attnc.ir.ExprTree.readsInputs(pattern.visibility());
            for (int trial = 0; trial < 2; trial++) {
                int d = trial == 1 ? 128 : 64;
                KernelConfig config = KernelConfig.of(LowerPattern.lower(pattern), 80, DType.BFLOAT16, d, d);
                PtxModule module = PtxModule.render(LowerPattern.lower(pattern), config);
                if (!module.classifies()) continue;
                int nkv = 100 + random.nextInt(250), nq = trial == 1 ? 1 + random.nextInt(nkv) : nkv;
                Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(2, 4, 2, nq, nkv, d, -1), DType.BFLOAT16, random);
                Binding binding = Binding.of(pattern, problem);
                TileClassifier tiles = readsInputs
                        ? ClassifyTiles.classifier(pattern, binding, problem.inputs(), config.blockM(), config.blockN())
                        : ClassifyTiles.classifier(pattern, binding, config.blockM(), config.blockN());
                TilePlan plan = TilePlan.of(module, 2, 4, nq, nkv);
                int[] lists = plan.analysed(tiles, nkv, config.blockN());
                int[] exact = check(file + " nq=" + nq + " nkv=" + nkv, plan, lists, config, Visibility.of(pattern, binding, problem.inputs()), binding);
                if (readsInputs) {
                    dataRows += exact[1];
                    dataExactRows += exact[0];
                } else {
                    assertEquals(exact[1], exact[0], file + ": rows equal to per-element classification");
                    indexOnly++;
                }
            }
        }
        assertTrue(indexOnly >= 20, "index-only masks checked: " + indexOnly);
        System.out.printf("TilePlanTest: masks reading inputs: %d of %d rows exactly classified%n", dataExactRows, dataRows);
    }

    /**
     * The lists of the Hopper kernels that carry their warpgroups' bits ({@link
     * KernelConfig#listGroups}), three warpgroups at 64- and 128-key tiles and two at 128: each warpgroup's hidden and
     * full bits against brute force over its 64 rows, sound always, and exact on most rows; some
     * tiles must be hidden from a warpgroup and some whole for one.
     */
    @Test
    void warpgroupBitsAreSoundAgainstEveryElementOfTheirRows() {
        Random random = new Random(17);
        int lists = 0, hidden = 0, full = 0, exact = 0, rows = 0;
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null) continue;
            pattern = Passes.optimize(pattern, Map.of());
            var lowered = LowerPattern.lower(pattern);
            // {D, consumer warpgroups, keys a tile}: the defaults' three warpgroups, and two with the bits asked for.
            for (int[] tiling : new int[][] {{64, 3, 64}, {64, 3, 128}, {128, 2, 128}}) {
                int d = tiling[0];
                KernelConfig config = KernelConfig.of(lowered, 90, DType.BFLOAT16, d, d).withWgmma(Schedule.WGMMA_PINGPONG, tiling[1], tiling[2], 2)
                        .withGroupBits(true);
                int groups = config.listGroups();
                PtxModule module = PtxModule.render(lowered, config);
                if (!module.classifies()) continue;
                int nkv = 300 + random.nextInt(500), nq = random.nextBoolean() ? nkv : 1 + random.nextInt(nkv);
                Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(2, 4, 2, nq, nkv, d, -1), DType.BFLOAT16, random);
                Binding binding;
                try {
                    binding = Binding.of(pattern, problem);
                } catch (ShapeException e) {
                    continue; // an input indexed by the shifted q (bottom right) past its rows: refused before any launch
                }
                TilePlan plan = TilePlan.of(module, 2, 4, nq, nkv);
                int[] entries = plan.analysed(lowered, config, binding, problem.inputs());
                Visibility visibility = Visibility.of(pattern, binding, problem.inputs());
                lists++;
                int rowsEach = config.blockM() / groups, offset = binding.queryOffset();
                for (int b = 0; b < 2; b++) {
                    for (int h = 0; h < 4; h++) {
                        int slot = b * plan.slotStrideB() + h * plan.slotStrideH();
                        for (int qb = 0; qb < plan.queryBlocks(); qb++) {
                            int base = (slot * plan.queryBlocks() + qb) * (plan.kvTiles() + 1);
                            for (int i = 0; i < entries[base]; i++) {
                                int entry = entries[base + 1 + i], t = entry & PtxModule.TILE_MASK;
                                for (int w = 0; w < groups; w++) {
                                    GroupTile truth = GroupTile.of(visibility, b, h, qb * config.blockM() + w * rowsEach, rowsEach, nq, offset, t,
                                            config.blockN(), nkv);
                                    String unsound = truth.unsound(entry, w);
                                    if (unsound != null) {
                                        fail(file + " d=" + d + " nq=" + nq + " nkv=" + nkv + " b=" + b + " h=" + h + " qb=" + qb + " t=" + t + " w=" + w + ": " + unsound);
                                    }
                                    hidden += (entry & PtxModule.groupHidden(w)) != 0 ? 1 : 0;
                                    full += (entry & PtxModule.groupFull(w)) != 0 ? 1 : 0;
                                    rows++;
                                    if (truth.exact(entry, w)) exact++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(lists >= 10, "lists with warpgroup bits checked: " + lists);
        assertTrue(hidden > 0 && full > 0, "some tile hidden from a warpgroup and some full for one: " + hidden + ", " + full);
        System.out.printf("TilePlanTest: warpgroup bits on %d lists: %d of %d (entry, warpgroup) pairs exact, %d hidden, %d full%n", lists, exact, rows, hidden, full);
    }

    /** Fails on an unsound list; returns {rows equal to the per-element classification, rows}. */
    private static int[] check(String label, TilePlan plan, int[] lists, KernelConfig config, Visibility visibility, Binding binding) {
        int nq = binding.size("Nq"), nkv = binding.size("Nkv"), offset = binding.queryOffset(), exactRows = 0, rows = 0;
        for (int b = 0; b < binding.size("B"); b++) {
            for (int h = 0; h < binding.size("H"); h++) {
                int slot = b * plan.slotStrideB() + h * plan.slotStrideH();
                for (int qb = 0; qb < plan.queryBlocks(); qb++) {
                    int base = (slot * plan.queryBlocks() + qb) * (plan.kvTiles() + 1);
                    Boolean[] listed = new Boolean[plan.kvTiles()];
                    for (int i = 0; i < lists[base]; i++) listed[lists[base + 1 + i] & (PtxModule.FULL_BIT - 1)] = (lists[base + 1 + i] & PtxModule.FULL_BIT) != 0;
                    boolean rowExact = true;
                    for (int t = 0; t < plan.kvTiles(); t++) {
                        boolean any = false, all = (t + 1) * config.blockN() <= nkv;
                        for (int q = qb * config.blockM(); q < Math.min(nq, (qb + 1) * config.blockM()); q++) {
                            for (int kv = t * config.blockN(); kv < Math.min(nkv, (t + 1) * config.blockN()); kv++) {
                                boolean v = visibility.visible(b, h, q + offset, kv);
                                any |= v;
                                all &= v;
                            }
                        }
                        String where = label + " b=" + b + " h=" + h + " qb=" + qb + " t=" + t;
                        if (any && listed[t] == null) fail(where + ": a tile with a visible element is not listed");
                        if (listed[t] != null && listed[t] && !all) fail(where + ": FULL, but an element is hidden or past Nkv");
                        rowExact &= any == (listed[t] != null) && (!any || listed[t] == all);
                    }
                    rows++;
                    if (rowExact) exactRows++;
                }
            }
        }
        return new int[] {exactRows, rows};
    }
}
