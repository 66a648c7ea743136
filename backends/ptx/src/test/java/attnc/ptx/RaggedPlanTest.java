package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.gen.PatternGenerator;
import attnc.gen.RaggedBatches;
import attnc.gen.Style;
import attnc.ir.Pattern;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.ShapeException;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.PtxModule;
import attnc.reference.Visibility;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The ragged prefill's host plan ({@link RaggedPlan}) against brute force per sequence, on random
 * ragged batches (page sizes 1 to 256, shuffled and shared pages, sequences without queries or
 * keys, Nq above and below Nkv) of every example and of random patterns, with random tile sizes:
 * one work entry per (sequence with queries, head, query block), longest lists first, each
 * pointing at a list that names every tile holding a visible element of that sequence (under its
 * own Nq, Nkv, Q0 and inputs) in increasing order, and marks FULL only tiles inside its keys whose
 * every element is visible; with warpgroup bits (blocks of 2 or 3 × 64 rows), each warpgroup's
 * hidden and full bits as sound for its own rows.
 */
class RaggedPlanTest {
    private static final RaggedBatches.Limits LIMITS = new RaggedBatches.Limits(5, 70, 150, new int[] {1, 16, 64, 256}, new int[] {1, 4});
    private static final List<Path> EXAMPLES = Patterns.files();

    @Property(tries = 80)
    void examplesPlansAreEachSequencesBruteForce(@ForAll @IntRange(min = 0, max = 1000) int example, @ForAll long seed) {
        Pattern pattern = Patterns.compile(EXAMPLES.get(example % EXAMPLES.size()));
        Assume.that(pattern != null);
        check(Passes.optimize(pattern, Map.of()), new Random(seed));
    }

    @Property(tries = 60)
    void randomPatternsPlansAreEachSequencesBruteForce(@ForAll long seed, @ForAll @IntRange(min = 0, max = 3) int depth) {
        Random random = new Random(seed);
        check(Passes.optimize(PatternGenerator.generate(random, depth, Style.TAME).withTile(Optional.empty()), Map.of()), random);
    }

    /** The bits are set, not only sound: causal batches of three 64-row warpgroups hide some tiles from some warpgroups. */
    @Example
    void causalBatchesHideTilesFromSomeWarpgroups() {
        Pattern causal = Passes.optimize(Patterns.compile(EXAMPLES.stream().filter(f -> f.getFileName().toString().equals("causal.attn")).findFirst().orElseThrow()),
                Map.of());
        int hidden = 0;
        for (int seed = 0; seed < 20; seed++) {
            RaggedBinding ragged;
            try {
                ragged = RaggedBinding.of(causal, RaggedBatches.batch(causal, new Random(seed), LIMITS, dtype -> dtype));
            } catch (ShapeException e) {
                continue;
            }
            for (int entry : RaggedPlan.of(LowerPattern.lower(causal), ragged, 192, 64, 3).tiles()) {
                for (int w = 0; w < 3; w++) hidden += entry > 0 && (entry & PtxModule.groupHidden(w)) != 0 ? 1 : 0;
            }
        }
        assertTrue(hidden > 0, "no tile hidden from a warpgroup in 20 causal batches");
    }

    private static void check(Pattern pattern, Random random) {
        RaggedBatch batch = RaggedBatches.batch(pattern, random, LIMITS, dtype -> dtype);
        RaggedBinding ragged;
        try {
            ragged = RaggedBinding.of(pattern, batch);
        } catch (ShapeException e) {
            Assume.that(false);
            return;
        }
        int groups = random.nextInt(3) == 0 ? 2 + random.nextInt(2) : 0;
        int blockM = groups > 0 ? 64 * groups : 16 << random.nextInt(3), blockN = 16 << random.nextInt(2);
        LoweredPattern lowered = LowerPattern.lower(pattern);
        RaggedPlan plan = RaggedPlan.of(lowered, ragged, blockM, blockN, groups);
        int[] work = plan.work(), tiles = plan.tiles();
        int expected = 0;
        for (RaggedBinding.Sequence s : ragged.sequences()) expected += ragged.heads() * ((s.queries() + blockM - 1) / blockM);
        assertEquals(expected, plan.entries(), "one entry per (sequence with queries, head, query block)");
        Set<List<Integer>> seen = new HashSet<>();
        for (int e = 0; e < plan.entries(); e++) {
            int b = work[4 * e], h = work[4 * e + 1], qb = work[4 * e + 2], offset = work[4 * e + 3];
            assertTrue(seen.add(List.of(b, h, qb)), "entry " + e + " repeats " + List.of(b, h, qb));
            if (e > 0) assertTrue(tiles[work[4 * e - 1]] >= tiles[offset], "entries sorted longest list first at " + e);
            RaggedBinding.Sequence s = ragged.sequences().get(b);
            assertTrue(h >= 0 && h < ragged.heads() && qb >= 0 && qb * blockM < s.queries(), "entry " + e + " inside its sequence");
            bruteForce(pattern, s, h, qb, blockM, blockN, groups, tiles, offset);
        }
    }

    /**
     * The list at {@code offset} against every element of query block {@code qb} of sequence s,
     * head h, and each of its {@code groups} warpgroups' bits against the warpgroup's rows.
     */
    private static void bruteForce(Pattern pattern, RaggedBinding.Sequence s, int h, int qb, int blockM, int blockN, int groups, int[] tiles,
            int offset) {
        int nq = s.queries(), nkv = s.keys(), kvTiles = (nkv + blockN - 1) / blockN;
        Boolean[] listed = new Boolean[kvTiles];
        int[] entries = new int[kvTiles];
        int previous = -1;
        for (int i = 0; i < tiles[offset]; i++) {
            int entry = tiles[offset + 1 + i], t = entry & PtxModule.TILE_MASK;
            assertTrue(t > previous && t < kvTiles, "tiles in increasing order inside the sequence's keys");
            previous = t;
            listed[t] = (entry & PtxModule.FULL_BIT) != 0;
            entries[t] = entry;
        }
        Visibility visibility = Visibility.of(pattern, s.binding(), s.inputs());
        for (int t = 0; t < kvTiles; t++) {
            boolean any = false, all = (t + 1) * blockN <= nkv;
            for (int q = qb * blockM; q < Math.min(nq, (qb + 1) * blockM); q++) {
                for (int kv = t * blockN; kv < Math.min(nkv, (t + 1) * blockN); kv++) {
                    boolean v = visibility.visible(s.index(), h, q + s.queryOffset(), kv);
                    any |= v;
                    all &= v;
                }
            }
            String where = "sequence " + s.index() + " (Nq " + nq + ", Nkv " + nkv + ") h=" + h + " qb=" + qb + " t=" + t;
            if (any && listed[t] == null) fail(where + ": a tile with a visible element is not listed");
            if (listed[t] != null && listed[t] && !all) fail(where + ": FULL, but an element is hidden or past Nkv");
            if (listed[t] == null) continue;
            for (int w = 0; w < groups; w++) {
                String unsound = GroupTile.of(visibility, s.index(), h, qb * blockM + w * 64, 64, nq, s.queryOffset(), t, blockN, nkv).unsound(entries[t], w);
                if (unsound != null) fail(where + " warpgroup " + w + ": " + unsound);
            }
        }
    }
}
