package attnc.ptx;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.ir.Index;
import attnc.launch.Binding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.PtxModule;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * The backward's tile lists: per slot (batch and/or head the mask depends on) and kv tile,
 * {@code [count, entry...]} with entry = query tile | FULL bit, the query tiles in increasing
 * order. They are the forward's lists transposed, at the backward's tiling.
 */
public record BackwardTilePlan(int blockQ, int blockKv, int qTiles, int kvTiles, int slotsB, int slotsH) {

    public static BackwardTilePlan of(LoweredPattern lowered, int blockQ, int blockKv, Binding binding) {
        boolean masked = !lowered.alwaysVisible();
        return new BackwardTilePlan(blockQ, blockKv, ceilDiv(binding.size("Nq"), blockQ), ceilDiv(binding.size("Nkv"), blockKv),
                masked && lowered.visibilityDependsOn(Index.B) ? binding.size("B") : 1, masked && lowered.visibilityDependsOn(Index.H) ? binding.size("H") : 1);
    }

    public int slotStrideB() { return slotsB > 1 ? slotsH : 0; }
    public int slotStrideH() { return slotsH > 1 ? 1 : 0; }
    public int listLength() { return slotsB * slotsH * kvTiles * (qTiles + 1); }

    /**
     * The lists, from the block-sparsity analysis' rows: a tile is FULL when the analysis proved
     * every element visible and it lies inside Nq and Nkv; EMPTY tiles are left out. The analysis
     * is sound, so no visible element is skipped. {@code hostInputs} serve masks that read inputs.
     */
    public int[] lists(LoweredPattern lowered, Binding binding, Map<String, Tensor> hostInputs) {
        int nq = binding.size("Nq"), nkv = binding.size("Nkv");
        TileClassifier classifier = lowered.alwaysVisible() ? null
                : lowered.readsInputs() ? ClassifyTiles.classifier(lowered.pattern(), binding, hostInputs, blockQ, blockKv)
                : ClassifyTiles.classifier(lowered.pattern(), binding, blockQ, blockKv);
        int[] lists = new int[listLength()];
        for (int sb = 0; sb < slotsB; sb++) {
            for (int sh = 0; sh < slotsH; sh++) {
                int first = (sb * slotsH + sh) * kvTiles * (qTiles + 1);
                for (int qt = 0; qt < qTiles; qt++) {
                    boolean qInside = (qt + 1) * blockQ <= nq;
                    if (classifier == null) {
                        for (int kt = 0; kt < kvTiles; kt++) add(lists, first, kt, qt, qInside && (kt + 1) * blockKv <= nkv);
                        continue;
                    }
                    TileClassifier.TileRow row = classifier.row(sb, sh, qt);
                    for (int r = 0; r < row.runs(); r++) {
                        for (int kt = row.first()[r]; kt <= row.last()[r]; kt++) {
                            add(lists, first, kt, qt, row.full()[r] && qInside && (kt + 1) * blockKv <= nkv);
                        }
                    }
                }
            }
        }
        return lists;
    }

    /**
     * For the deterministic kernel, laid out as {@code lists}: each entry's rank among the kv tiles
     * of its slot that visit its query tile, counted from the last kv tile down (the order in which
     * their blocks add into the tile's dq). Under a causal mask a query tile's first adder is then
     * the kv tile on its diagonal, whose walk starts there, so no block waits on a longer walk;
     * and since the deterministic grid launches the last kv tile first, a block only waits on
     * blocks launched before it.
     */
    public int[] ranks(int[] lists) {
        int[] ranks = new int[lists.length];
        int width = qTiles + 1;
        for (int slot = 0; slot < slotsB * slotsH; slot++) {
            int[] visitors = new int[qTiles];
            for (int kvTile = kvTiles - 1; kvTile >= 0; kvTile--) {
                int list = (slot * kvTiles + kvTile) * width;
                for (int i = 0; i < lists[list]; i++) ranks[list + 1 + i] = visitors[lists[list + 1 + i] & (PtxModule.FULL_BIT - 1)]++;
            }
        }
        return ranks;
    }

    private void add(int[] lists, int first, int kvTile, int qTile, boolean full) {
        int list = first + kvTile * (qTiles + 1);
        lists[list + 1 + lists[list]++] = qTile | (full ? PtxModule.FULL_BIT : 0);
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
