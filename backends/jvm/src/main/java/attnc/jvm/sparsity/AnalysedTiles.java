package attnc.jvm.sparsity;

import attnc.analysis.ClassifyTiles;
import attnc.ir.Pattern;
import attnc.jvm.kernel.KvRuns;
import attnc.jvm.kernel.TileRows;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * The compiler's block-sparsity analysis ({@link attnc.analysis}) behind the kernel's
 * {@link TileRows}: one analysis per launch (its grid is the kernel's tiles; masks that read
 * input tensors get the analysis's block map of those tensors, built per launch in one pass over
 * them: no cache, so a tensor refilled in place between calls is never misread), and each row
 * of key tiles computed once and shared by every batch and head the mask does not depend on.
 * Rows are immutable, so racing workers at worst compute the same row twice.
 */
public final class AnalysedTiles implements TileRows {
    private final attnc.analysis.TileClassifier analysis;
    private final KvRuns[] rows;
    private final int heads, qTiles;

    private AnalysedTiles(attnc.analysis.TileClassifier analysis) {
        this.analysis = analysis;
        var grid = analysis.grid();
        this.heads = analysis.dependsOnHead() ? grid.heads() : 1;
        this.qTiles = grid.qTiles();
        this.rows = new KvRuns[Math.multiplyExact((analysis.dependsOnBatch() ? grid.batch() : 1) * heads, qTiles)];
    }

    public static TileRows of(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int tileQ, int tileKv) {
        return new AnalysedTiles(ClassifyTiles.classifier(pattern, binding, inputs, tileQ, tileKv));
    }

    @Override
    public KvRuns row(int b, int h, int qTile) {
        int i = ((analysis.dependsOnBatch() ? b : 0) * heads + (analysis.dependsOnHead() ? h : 0)) * qTiles + qTile;
        KvRuns row = rows[i];
        if (row == null) {
            var runs = analysis.row(b, h, qTile);
            rows[i] = row = new KvRuns(runs.first(), runs.last(), runs.full());
        }
        return row;
    }
}
