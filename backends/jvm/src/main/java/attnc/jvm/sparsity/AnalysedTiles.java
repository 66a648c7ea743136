package attnc.jvm.sparsity;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier.TileRow;
import attnc.ir.Pattern;
import attnc.jvm.kernel.TileClassifier;
import attnc.run.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * The compiler's block-sparsity analysis ({@link attnc.analysis}) behind the kernel's
 * {@link TileClassifier}: one analysis per launch (its grid is the kernel's tiles; masks that read
 * input tensors get the analysis's block map of those tensors, built per launch in one pass over
 * them: no cache, so a tensor refilled in place between calls is never misread), and each row
 * of key tiles computed once and shared by every batch and head the mask does not depend on.
 * Rows are immutable, so racing workers at worst compute the same row twice.
 */
public final class AnalysedTiles implements TileClassifier {
    private final attnc.analysis.TileClassifier analysis;
    private final TileRow[] rows;
    private final int heads, qTiles;

    private AnalysedTiles(attnc.analysis.TileClassifier analysis) {
        this.analysis = analysis;
        var grid = analysis.grid();
        this.heads = analysis.dependsOnHead() ? grid.heads() : 1;
        this.qTiles = grid.qTiles();
        this.rows = new TileRow[Math.multiplyExact((analysis.dependsOnBatch() ? grid.batch() : 1) * heads, qTiles)];
    }

    public static TileClassifier of(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int tileQ, int tileKv) {
        return new AnalysedTiles(ClassifyTiles.classifier(pattern, binding, inputs, tileQ, tileKv));
    }

    @Override
    public TileRow row(int b, int h, int qTile) {
        int i = ((analysis.dependsOnBatch() ? b : 0) * heads + (analysis.dependsOnHead() ? h : 0)) * qTiles + qTile;
        TileRow row = rows[i];
        if (row == null) rows[i] = row = analysis.row(b, h, qTile);
        return row;
    }
}
