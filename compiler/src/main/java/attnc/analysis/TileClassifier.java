package attnc.analysis;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import java.util.Arrays;

/**
 * Block sparsity of one launch, for kernels: built once per (pattern, binding, tile sizes, input
 * data) by {@link ClassifyTiles}, immutable and thread-safe afterwards. Every answer costs time
 * proportional to the mask expression (plus a log factor for the searches), never to the tile's
 * area; no table over all tiles is ever built.
 *
 * <pre>{@code
 * TileClassifier tiles = ClassifyTiles.classifier(pattern, binding, problem.inputs(), 64, 64);
 * for (int qt = 0; qt < tiles.grid().qTiles(); qt++) {
 *     KvRange band = tiles.kvRange(b, h, qt);              // first..last non-empty KV tile
 *     for (int kt = band.first(); kt <= band.last(); kt++) {
 *         switch (tiles.classify(b, h, qt, kt)) {
 *             case EMPTY -> { }                            // skip (only sinks/strides leave holes)
 *             case FULL -> computeWithoutMask(qt, kt);
 *             case PARTIAL -> computeWithMask(qt, kt);
 *         }
 *     }
 * }
 * }</pre>
 *
 * For masks with holes inside the band (sinks + window, dilated strides, selected blocks),
 * {@link #nonEmptyKvTiles} lists only the non-empty tiles, and {@link #blockList} gives the same
 * for every query tile in CSR form, ready to copy to a GPU. When {@link #dependsOnBatch()} or
 * {@link #dependsOnHead()} is false, answers for one b (or h) hold for all.
 *
 * <p>Soundness: EMPTY means no element of the tile is visible; FULL means every element is.
 * Tile indices follow {@link TileGrid}: query tiles start at the query offset.
 */
public final class TileClassifier {

    /** KV tiles {@code first..last}; empty (first > last) when the whole row of tiles is EMPTY. */
    public record KvRange(int first, int last) {
        public boolean isEmpty() { return first > last; }
        public int count() { return Math.max(0, last - first + 1); }
    }

    /**
     * Non-empty tiles of every query tile of one (b, h), CSR: query tile t owns entries
     * {@code rowStart[t] .. rowStart[t+1]-1}; {@code kvTile[i]} is a KV tile index and
     * {@code full[i]} is 1 for FULL, 0 for PARTIAL.
     */
    public record BlockList(int[] rowStart, int[] kvTile, byte[] full) {}

    private final IntervalAnalysis analysis;
    private final TileGrid grid;
    private final boolean dependsOnBatch;
    private final boolean dependsOnHead;

    TileClassifier(IntervalAnalysis analysis, TileGrid grid, Expr visibility) {
        this.analysis = analysis;
        this.grid = grid;
        this.dependsOnBatch = ExprTree.any(visibility, e -> e instanceof Expr.IndexRef(Index i) && i == Index.B);
        this.dependsOnHead = ExprTree.any(visibility, e -> e instanceof Expr.IndexRef(Index i) && i == Index.H);
    }

    public TileGrid grid() { return grid; }
    public boolean dependsOnBatch() { return dependsOnBatch; }
    public boolean dependsOnHead() { return dependsOnHead; }

    public TileClass classify(int b, int h, int qTile, int kvTile) {
        return classifyKvSpan(b, h, qTile, kvTile, kvTile);
    }

    /** The class of the union of KV tiles {@code firstKv..lastKv} against one query tile. */
    public TileClass classifyKvSpan(int b, int h, int qTile, int firstKv, int lastKv) {
        Box box = Box.tile(b, h, grid.qStart(qTile), grid.qEnd(qTile), grid.kvStart(firstKv), grid.kvEnd(lastKv));
        return TileClass.of(analysis.evaluate(box));
    }

    /** First and last KV tiles that {@link #classify} does not call EMPTY, by bisection over spans. */
    public KvRange kvRange(int b, int h, int qTile) {
        int last = grid.kvTiles() - 1;
        int first = firstNonEmpty(b, h, qTile, 0, last);
        if (first < 0) return new KvRange(0, -1);
        return new KvRange(first, lastNonEmpty(b, h, qTile, first, last));
    }

    /** Every KV tile that {@link #classify} does not call EMPTY, in order. */
    public int[] nonEmptyKvTiles(int b, int h, int qTile) {
        TileList found = new TileList();
        collect(b, h, qTile, 0, grid.kvTiles() - 1, found);
        return found.toArray();
    }

    public BlockList blockList(int b, int h) {
        int[] rowStart = new int[grid.qTiles() + 1];
        int[] tiles = new int[16];
        byte[] full = new byte[16];
        int n = 0;
        for (int qt = 0; qt < grid.qTiles(); qt++) {
            rowStart[qt] = n;
            for (int kt : nonEmptyKvTiles(b, h, qt)) {
                if (n == tiles.length) {
                    tiles = Arrays.copyOf(tiles, 2 * n);
                    full = Arrays.copyOf(full, 2 * n);
                }
                tiles[n] = kt;
                full[n] = (byte) (classify(b, h, qt, kt) == TileClass.FULL ? 1 : 0);
                n++;
            }
        }
        rowStart[grid.qTiles()] = n;
        return new BlockList(rowStart, Arrays.copyOf(tiles, n), Arrays.copyOf(full, n));
    }

    /** Descends into spans that are not EMPTY: cost grows with the non-empty tiles, not with all tiles. */
    private void collect(int b, int h, int qTile, int lo, int hi, TileList found) {
        if (classifyKvSpan(b, h, qTile, lo, hi) == TileClass.EMPTY) return;
        if (lo == hi) {
            found.add(lo);
            return;
        }
        int mid = (lo + hi) >>> 1;
        collect(b, h, qTile, lo, mid, found);
        collect(b, h, qTile, mid + 1, hi, found);
    }

    private static final class TileList {
        private int[] items = new int[16];
        private int size;

        void add(int tile) {
            if (size == items.length) items = Arrays.copyOf(items, 2 * size);
            items[size++] = tile;
        }

        int[] toArray() { return Arrays.copyOf(items, size); }
    }

    private int firstNonEmpty(int b, int h, int qTile, int lo, int hi) {
        if (classifyKvSpan(b, h, qTile, lo, hi) == TileClass.EMPTY) return -1;
        if (lo == hi) return lo;
        int mid = (lo + hi) >>> 1;
        int left = firstNonEmpty(b, h, qTile, lo, mid);
        return left >= 0 ? left : firstNonEmpty(b, h, qTile, mid + 1, hi);
    }

    private int lastNonEmpty(int b, int h, int qTile, int lo, int hi) {
        if (classifyKvSpan(b, h, qTile, lo, hi) == TileClass.EMPTY) return -1;
        if (lo == hi) return lo;
        int mid = (lo + hi) >>> 1;
        int right = lastNonEmpty(b, h, qTile, mid + 1, hi);
        return right >= 0 ? right : lastNonEmpty(b, h, qTile, lo, mid);
    }
}
