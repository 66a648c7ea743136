package attnc.analysis;

import attnc.ir.Pattern;
import attnc.reference.Visibility;
import attnc.run.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/** The true class of every tile, from the reference's element-by-element visibility: O(N²), for tests and explain at small N. */
final class BruteForce {
    private final TileGrid grid;
    private final Visibility visibility;

    BruteForce(Pattern pattern, Binding binding, Map<String, Tensor> inputs, TileGrid grid) {
        this.grid = grid;
        this.visibility = Visibility.of(pattern, binding, inputs);
    }

    TileClass classify(int b, int h, int qTile, int kvTile) {
        boolean any = false, all = true;
        for (int q = grid.qStart(qTile); q <= grid.qEnd(qTile); q++) {
            for (int kv = grid.kvStart(kvTile); kv <= grid.kvEnd(kvTile); kv++) {
                boolean v = visibility.visible(b, h, q, kv);
                any |= v;
                all &= v;
            }
        }
        return !any ? TileClass.EMPTY : all ? TileClass.FULL : TileClass.PARTIAL;
    }

    /** Classes of every tile of one (b, h): [qTile][kvTile]. */
    TileClass[][] grid(int b, int h) {
        TileClass[][] classes = new TileClass[grid.qTiles()][grid.kvTiles()];
        for (int qt = 0; qt < grid.qTiles(); qt++) {
            for (int kt = 0; kt < grid.kvTiles(); kt++) classes[qt][kt] = classify(b, h, qt, kt);
        }
        return classes;
    }
}
