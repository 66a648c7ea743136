package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.analysis.ClassifyTiles;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.lower.Lowering;
import attnc.pass.Passes;
import attnc.reference.Visibility;
import attnc.run.Binding;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The analysis-built tile lists against brute force over every element, for every pattern whose
 * mask reads no inputs, on ragged shapes with a query offset: sound (every tile with a visible
 * element listed, FULL only when every element inside Nq × Nkv is visible and the tile inside
 * Nkv) and, for these masks, exact (no listed tile is empty).
 */
class TilePlanTest {

    @Test
    void analysedListsAreSoundAndExact() {
        Random random = new Random(11);
        int checked = 0;
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null || Lowering.readsInputs(pattern.visibility())) continue;
            pattern = Passes.optimize(pattern, Map.of());
            for (int trial = 0; trial < 3; trial++) {
                int d = trial == 1 ? 128 : 64;
                KernelConfig config = KernelConfig.of(pattern, 80, DType.BFLOAT16, d, d);
                PtxModule module = PtxModule.render(pattern, config);
                if (!module.classifies()) continue;
                int nkv = 100 + random.nextInt(400), nq = trial == 2 ? 1 + random.nextInt(nkv) : nkv;
                int b = 2, h = 2;
                Map<String, Expr> params = new HashMap<>();
                for (Param p : pattern.params()) params.put(p.name(), p.defaultValue().orElseThrow());
                Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", h, "Nq", nq, "Nkv", nkv, "D", d, "Dv", d, "Q0", nkv - nq), nkv - nq, params);
                TilePlan plan = TilePlan.of(module, b, h, nq, nkv);
                int[] lists = plan.analysed(ClassifyTiles.classifier(pattern, binding, config.blockM(), config.blockN()), nkv, config.blockN());
                Visibility visibility = Visibility.of(pattern, binding, Map.of());
                for (int bi = 0; bi < b; bi++) {
                    for (int hi = 0; hi < h; hi++) {
                        int slot = bi * plan.slotStrideB() + hi * plan.slotStrideH();
                        for (int qb = 0; qb < plan.queryBlocks(); qb++) {
                            int base = (slot * plan.queryBlocks() + qb) * (plan.kvTiles() + 1);
                            Map<Integer, Boolean> listed = new HashMap<>();
                            for (int i = 0; i < lists[base]; i++) listed.put(lists[base + 1 + i] & (TileLoader.FULL_BIT - 1), (lists[base + 1 + i] & TileLoader.FULL_BIT) != 0);
                            for (int t = 0; t < plan.kvTiles(); t++) {
                                boolean any = false, all = (t + 1) * config.blockN() <= nkv;
                                for (int q = qb * config.blockM(); q < Math.min(nq, (qb + 1) * config.blockM()); q++) {
                                    for (int kv = t * config.blockN(); kv < Math.min(nkv, (t + 1) * config.blockN()); kv++) {
                                        boolean v = visibility.visible(bi, hi, q + nkv - nq, kv);
                                        any |= v;
                                        all &= v;
                                    }
                                }
                                String where = file.getFileName() + " b=" + bi + " h=" + hi + " qb=" + qb + " t=" + t + " nq=" + nq + " nkv=" + nkv;
                                assertEquals(any, listed.containsKey(t), where + ": listed iff some element is visible");
                                if (any) assertEquals(all, listed.get(t), where + ": FULL iff every element is visible");
                            }
                        }
                    }
                }
                checked++;
            }
        }
        assertTrue(checked >= 10, "index-only masks checked: " + checked);
    }
}
