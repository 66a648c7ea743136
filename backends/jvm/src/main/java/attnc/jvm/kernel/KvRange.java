package attnc.jvm.kernel;

/**
 * The key tiles a query tile must visit: the classifier proves a prefix and a suffix of the key
 * range EMPTY, found by bisection over whole ranges rather than tile by tile, so a sliding
 * window at N = 8192 costs a few classifications per query tile instead of N / tile. Bisection is
 * sound because interval classification is monotone: a range inside one proven EMPTY is proven
 * EMPTY too. Public, as everything generated code calls: a generated class written to disk may be
 * loaded by another class loader than this package's.
 */
public final class KvRange {
    private KvRange() {}

    /** Start of the first key tile not proven empty, in [kvFrom, kvTo] (kvTo: all empty). */
    public static int first(TileClassifier c, int b, int h, int q0, int q1, int kvFrom, int kvTo, int bk) {
        int tiles = (kvTo - kvFrom + bk - 1) / bk, low = 0, high = tiles;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (c.classify(b, h, q0, q1, kvFrom, Math.min(kvTo, kvFrom + mid * bk) - 1) == TileClassifier.EMPTY) low = mid;
            else high = mid - 1;
        }
        return Math.min(kvTo, kvFrom + low * bk);
    }

    /** End of the last key tile not proven empty (tile-aligned from kvFrom, at most kvTo). */
    public static int last(TileClassifier c, int b, int h, int q0, int q1, int kvFrom, int kvTo, int bk) {
        int tiles = (kvTo - kvFrom + bk - 1) / bk, low = 0, high = tiles;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (c.classify(b, h, q0, q1, kvFrom + (tiles - mid) * bk, kvTo - 1) == TileClassifier.EMPTY) low = mid;
            else high = mid - 1;
        }
        return Math.min(kvTo, kvFrom + (tiles - low) * bk);
    }
}
