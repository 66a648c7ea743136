package attnc.analysis;

import attnc.ir.ExprTree;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code attnc explain} prints and {@code attnc plot} draws: the derived tile classes of a
 * launch, their counts and the fraction of tiles a kernel visits, next to the brute-force truth
 * (element by element, O(B·H·Nq·Nkv), so only up to {@code bruteForceLimit} elements).
 *
 * <pre>{@code
 * BlockSparsity.Summary s = BlockSparsity.summarize(pattern, binding, inputs, 64, 64, BlockSparsity.DEFAULT_LIMIT);
 * System.out.print(s.text());      // fractions, counts, looseness
 * System.out.print(s.plot());      // one character per tile of (b=0, h=0): '#' FULL, '+' PARTIAL, '.' EMPTY
 * }</pre>
 */
public final class BlockSparsity {
    private BlockSparsity() {}

    /** Brute force up to 16M elements: well under a second. */
    public static final long DEFAULT_LIMIT = 1L << 24;

    /** Tile counts of one classification, over every (b, h) of the launch. */
    public record Counts(long empty, long full, long partial) {
        public long tiles() { return empty + full + partial; }
        /** Tiles a kernel visits (FULL or PARTIAL) over all tiles. */
        public double visitedFraction() { return tiles() == 0 ? 0 : (double) (full + partial) / tiles(); }
    }

    /**
     * {@code truth}, {@code visibleFraction}, {@code truthGrid} and the looseness counts are null
     * (or NaN) when the launch exceeds the brute-force limit. Grids are of (b=0, h=0):
     * [qTile][kvTile]. {@code extraVisited}: tiles derived PARTIAL that are EMPTY;
     * {@code extraMasked}: tiles derived PARTIAL that are FULL. Sound analysis has no other kind
     * of difference.
     */
    public record Summary(TileGrid grid, Counts derived, Counts truth, double visibleFraction,
                          Long extraVisited, Long extraMasked, TileClass[][] derivedGrid, TileClass[][] truthGrid) {

        public boolean exact() { return truth != null && extraVisited == 0 && extraMasked == 0; }

        public String text() {
            StringBuilder out = new StringBuilder();
            out.append(String.format(Locale.ROOT, "tiles %d x %d (q x kv) of %d x %d, %d per (b, h)%n",
                    grid.tileQ(), grid.tileKv(), grid.nq(), grid.nkv(), (long) grid.qTiles() * grid.kvTiles()));
            out.append(String.format(Locale.ROOT, "derived:     %s%n", describe(derived)));
            if (truth == null) {
                out.append("brute force: skipped (launch too large)\n");
                return out.toString();
            }
            out.append(String.format(Locale.ROOT, "brute force: %s%n", describe(truth)));
            out.append(String.format(Locale.ROOT, "visible elements %.4f; work saved %.1f%% of tiles%n",
                    visibleFraction, 100 * (1 - derived.visitedFraction())));
            out.append(exact() ? "classification exact\n" : String.format(Locale.ROOT,
                    "classification conservative: %d EMPTY tiles visited, %d FULL tiles masked%n", extraVisited, extraMasked));
            return out.toString();
        }

        public String plot() {
            StringBuilder out = new StringBuilder();
            for (TileClass[] row : derivedGrid) {
                for (TileClass c : row) out.append(switch (c) { case EMPTY -> '.'; case FULL -> '#'; case PARTIAL -> '+'; });
                out.append('\n');
            }
            return out.toString();
        }

        private static String describe(Counts c) {
            return String.format(Locale.ROOT, "visited %.4f (EMPTY %d, FULL %d, PARTIAL %d)", c.visitedFraction(), c.empty(), c.full(), c.partial());
        }
    }

    public static Summary summarize(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int tileQ, int tileKv, long bruteForceLimit) {
        TileClassifier derived = ExprTree.readsInputs(pattern.visibility())
                ? ClassifyTiles.classifier(pattern, binding, inputs, tileQ, tileKv)
                : ClassifyTiles.classifier(pattern, binding, tileQ, tileKv);
        return summarize(pattern, binding, inputs, derived, bruteForceLimit);
    }

    /** Summarises a given classifier (e.g. {@link ClassifyTiles#intervalsOnly}) against the truth. */
    static Summary summarize(Pattern pattern, Binding binding, Map<String, Tensor> inputs, TileClassifier derived, long bruteForceLimit) {
        TileGrid grid = derived.grid();
        long elements = (long) grid.batch() * grid.heads() * grid.nq() * grid.nkv();
        boolean brute = elements <= bruteForceLimit;
        BruteForce truth = brute ? new BruteForce(pattern, binding, inputs, grid) : null;
        long[] mine = new long[3], theirs = new long[3];
        long extraVisited = 0, extraMasked = 0, visible = 0;
        TileClass[][] derivedGrid = null, truthGrid = null;
        // Masks that ignore b (or h) are classified once and reused for every b (or h); the truth is always counted in full.
        TileClass[][][][] representative = new TileClass[grid.batch()][grid.heads()][][];
        long weight = brute ? 1 : (derived.dependsOnBatch() ? 1 : grid.batch()) * (long) (derived.dependsOnHead() ? 1 : grid.heads());
        for (int b = 0; b < grid.batch(); b++) {
            for (int h = 0; h < grid.heads(); h++) {
                int rb = derived.dependsOnBatch() ? b : 0, rh = derived.dependsOnHead() ? h : 0;
                boolean isRepresentative = rb == b && rh == h;
                if (!brute && !isRepresentative) continue;
                if (isRepresentative) representative[b][h] = classes(derived, b, h);
                TileClass[][] used = representative[rb][rh];
                BruteForce.Tiles exact = brute ? truth.tiles(b, h) : null;
                TileClass[][] actual = brute ? exact.classes() : null;
                if (b == 0 && h == 0) {
                    derivedGrid = used;
                    truthGrid = actual;
                }
                for (int qt = 0; qt < grid.qTiles(); qt++) {
                    for (int kt = 0; kt < grid.kvTiles(); kt++) {
                        mine[used[qt][kt].ordinal()] += weight;
                        if (!brute) continue;
                        theirs[actual[qt][kt].ordinal()]++;
                        if (used[qt][kt] == TileClass.PARTIAL && actual[qt][kt] == TileClass.EMPTY) extraVisited++;
                        if (used[qt][kt] == TileClass.PARTIAL && actual[qt][kt] == TileClass.FULL) extraMasked++;
                    }
                }
                if (brute) visible += exact.visible();
            }
        }
        Counts derivedCounts = new Counts(mine[0], mine[1], mine[2]);
        if (!brute) return new Summary(grid, derivedCounts, null, Double.NaN, null, null, derivedGrid, null);
        return new Summary(grid, derivedCounts, new Counts(theirs[0], theirs[1], theirs[2]), (double) visible / elements,
                extraVisited, extraMasked, derivedGrid, truthGrid);
    }

    private static TileClass[][] classes(TileClassifier derived, int b, int h) {
        TileGrid grid = derived.grid();
        TileClass[][] out = new TileClass[grid.qTiles()][grid.kvTiles()];
        for (int qt = 0; qt < grid.qTiles(); qt++) {
            for (int kt = 0; kt < grid.kvTiles(); kt++) out[qt][kt] = derived.classify(b, h, qt, kt);
        }
        return out;
    }
}
