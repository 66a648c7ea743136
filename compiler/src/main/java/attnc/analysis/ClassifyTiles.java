package attnc.analysis;

import attnc.ir.ExprTree;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * The block-sparsity pass: from a pattern's visibility (mask && select) and a launch's binding,
 * a {@link TileClassifier} that classifies tiles EMPTY, FULL or PARTIAL by range reasoning over
 * the expression. Masks that read input tensors (document ids, lengths, selected blocks) get a
 * {@link BlockMap} built from those tensors; without one their loads are unknown and their tiles
 * PARTIAL (still sound).
 */
public final class ClassifyTiles {
    private ClassifyTiles() {}

    /** For masks of indices only, or to ignore the data (every load unknown). */
    public static TileClassifier classifier(Pattern pattern, Binding binding, int tileQ, int tileKv) {
        return build(pattern, binding, DataBounds.NONE, tileQ, tileKv, true);
    }

    /** Builds (or takes from {@code cache}) the block map of the inputs the visibility reads. */
    public static TileClassifier classifier(Pattern pattern, Binding binding, Map<String, Tensor> inputs,
                                            int tileQ, int tileKv, BlockMap.Cache cache) {
        if (!ExprTree.readsInputs(pattern.visibility())) return classifier(pattern, binding, tileQ, tileKv);
        TileGrid grid = TileGrid.of(binding, tileQ, tileKv);
        BlockMap map = cache.get(pattern, grid, inputs);
        return build(pattern, binding, map, tileQ, tileKv, true);
    }

    public static TileClassifier classifier(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int tileQ, int tileKv) {
        return classifier(pattern, binding, inputs, tileQ, tileKv, BlockMap.Cache.NONE);
    }

    /** Plain intervals only (no linear forms): to measure what relational reasoning buys. */
    static TileClassifier intervalsOnly(Pattern pattern, Binding binding, int tileQ, int tileKv) {
        return build(pattern, binding, DataBounds.NONE, tileQ, tileKv, false);
    }

    private static TileClassifier build(Pattern pattern, Binding binding, DataBounds data, int tileQ, int tileKv, boolean relational) {
        IntervalAnalysis analysis = IntervalAnalysis.of(pattern.visibility(), binding.sizes(), binding.params(), data, relational);
        PeriodSplit periods = new PeriodSplit(pattern.visibility(), binding.sizes(), binding.params());
        return new TileClassifier(analysis, TileGrid.of(binding, tileQ, tileKv), pattern.visibility(), periods);
    }
}
