package attnc.analysis;

import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.reference.Visibility;
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

    /** Classes of every tile of one (b, h), [qTile][kvTile], and the number of visible elements, in one pass. */
    record Tiles(TileClass[][] classes, long visible) {}

    Tiles tiles(int b, int h) {
        int qTiles = grid.qTiles(), kvTiles = grid.kvTiles();
        boolean[][] any = new boolean[qTiles][kvTiles], masked = new boolean[qTiles][kvTiles];
        long visible = 0;
        for (int i = 0; i < grid.nq(); i++) {
            int q = grid.qStart(0) + i, qt = i / grid.tileQ();
            for (int kv = 0; kv < grid.nkv(); kv++) {
                int kt = kv / grid.tileKv();
                if (visibility.visible(b, h, q, kv)) {
                    any[qt][kt] = true;
                    visible++;
                } else {
                    masked[qt][kt] = true;
                }
            }
        }
        TileClass[][] classes = new TileClass[qTiles][kvTiles];
        for (int qt = 0; qt < qTiles; qt++) {
            for (int kt = 0; kt < kvTiles; kt++) {
                classes[qt][kt] = !any[qt][kt] ? TileClass.EMPTY : masked[qt][kt] ? TileClass.PARTIAL : TileClass.FULL;
            }
        }
        return new Tiles(classes, visible);
    }
}
