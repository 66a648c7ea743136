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
 *     TileRow row = tiles.row(b, h, qt);                  // runs of non-empty KV tiles
 *     for (int r = 0; r < row.runs(); r++) {
 *         for (int kt = row.first()[r]; kt <= row.last()[r]; kt++) {
 *             if (row.full()[r]) computeWithoutMask(qt, kt); else computeWithMask(qt, kt);
 *         }
 *     }
 * }
 * }</pre>
 *
 * {@link #row} finds the runs by bisection over spans of KV tiles: a span that is EMPTY as a whole
 * is skipped and one that is FULL as a whole is taken without looking at its tiles, so a causal
 * row costs O(log tiles) evaluations, not one per tile. {@link #kvRange} gives only the first and
 * last non-empty tile; {@link #classify} one tile; {@link #blockList} every row of one (b, h) in
 * CSR form, ready to copy to a GPU. When {@link #dependsOnBatch()} or {@link #dependsOnHead()} is
 * false, answers for one b (or h) hold for all.
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
     * The {@link #row} runs of every query tile of one (b, h), CSR, for a GPU: query tile t owns
     * runs {@code rowStart[t] .. rowStart[t+1]-1}; run r covers KV tiles {@code first[r]..last[r]},
     * all FULL when {@code full[r]} is 1, all PARTIAL when 0. A causal launch has two runs per
     * query tile, so the list is O(query tiles), not O(visited tiles).
     */
    public record BlockList(int[] rowStart, int[] first, int[] last, byte[] full) {
        public int runs() { return first.length; }
    }

    private final IntervalAnalysis analysis;
    private final TileGrid grid;
    private final PeriodSplit periods;
    private final boolean dependsOnBatch;
    private final boolean dependsOnHead;

    TileClassifier(IntervalAnalysis analysis, TileGrid grid, Expr visibility, PeriodSplit periods) {
        this.analysis = analysis;
        this.grid = grid;
        this.periods = periods;
        this.dependsOnBatch = ExprTree.any(visibility, e -> e instanceof Expr.IndexRef(Index i) && i == Index.B);
        this.dependsOnHead = ExprTree.any(visibility, e -> e instanceof Expr.IndexRef(Index i) && i == Index.H);
    }

    public TileGrid grid() { return grid; }
    public boolean dependsOnBatch() { return dependsOnBatch; }
    public boolean dependsOnHead() { return dependsOnHead; }

    /** One tile; a PARTIAL tile of a mask with periods in q or kv gets a second look ({@link PeriodSplit}). */
    public TileClass classify(int b, int h, int qTile, int kvTile) {
        Box box = Box.tile(b, h, grid.qStart(qTile), grid.qEnd(qTile), grid.kvStart(kvTile), grid.kvEnd(kvTile));
        TileClass whole = TileClass.of(analysis.evaluate(box));
        return whole == TileClass.PARTIAL && periods.applies() ? periods.refine(box, analysis) : whole;
    }

    /**
     * One tile for heads {@code hFirst..hLast} at once (a GQA group sharing its K/V tiles): EMPTY
     * only if EMPTY for every head, FULL only if FULL for every head.
     */
    public TileClass classifyHeads(int b, int hFirst, int hLast, int qTile, int kvTile) {
        if (!dependsOnHead || hFirst == hLast) return classify(b, hFirst, qTile, kvTile);
        Box box = new Box(b, b, hFirst, hLast, grid.qStart(qTile), grid.qEnd(qTile), grid.kvStart(kvTile), grid.kvEnd(kvTile));
        return TileClass.of(analysis.evaluate(box));
    }

    /** The class of the union of KV tiles {@code firstKv..lastKv} against one query tile. */
    public TileClass classifyKvSpan(int b, int h, int qTile, int firstKv, int lastKv) {
        if (firstKv == lastKv) return classify(b, h, qTile, firstKv);
        Box box = Box.tile(b, h, grid.qStart(qTile), grid.qEnd(qTile), grid.kvStart(firstKv), grid.kvEnd(lastKv));
        return TileClass.of(analysis.evaluate(box));
    }

    /** First and last KV tiles that {@link #classify} does not call EMPTY, by bisection over spans. */
    public KvRange kvRange(int b, int h, int qTile) {
        int last = grid.kvTiles() - 1;
        if (last < 0) return new KvRange(0, -1);
        int first = firstNonEmpty(b, h, qTile, 0, last);
        if (first < 0) return new KvRange(0, -1);
        return new KvRange(first, lastNonEmpty(b, h, qTile, first, last));
    }

    /**
     * Runs of consecutive non-empty KV tiles of one query tile, in order: run r covers tiles
     * {@code first[r]..last[r]}, all FULL when {@code full[r]}, else all PARTIAL. Tiles between
     * runs are EMPTY.
     */
    public record TileRow(int[] first, int[] last, boolean[] full) {
        public int runs() { return first.length; }

        /** Number of non-empty tiles in the row. */
        public int tiles() {
            int n = 0;
            for (int r = 0; r < first.length; r++) n += last[r] - first[r] + 1;
            return n;
        }
    }

    public TileRow row(int b, int h, int qTile) {
        Runs runs = new Runs();
        if (grid.kvTiles() > 0) collect(b, h, qTile, 0, grid.kvTiles() - 1, runs);
        return runs.toRow();
    }

    public BlockList blockList(int b, int h) {
        int[] rowStart = new int[grid.qTiles() + 1];
        TileRow[] rows = new TileRow[grid.qTiles()];
        int n = 0;
        for (int qt = 0; qt < rows.length; qt++) {
            rows[qt] = row(b, h, qt);
            rowStart[qt] = n;
            n += rows[qt].runs();
        }
        rowStart[rows.length] = n;
        int[] first = new int[n], last = new int[n];
        byte[] full = new byte[n];
        int i = 0;
        for (TileRow row : rows) {
            for (int r = 0; r < row.runs(); r++, i++) {
                first[i] = row.first()[r];
                last[i] = row.last()[r];
                full[i] = (byte) (row.full()[r] ? 1 : 0);
            }
        }
        return new BlockList(rowStart, first, last, full);
    }

    /** Descends only into PARTIAL spans: cost grows with the PARTIAL tiles, not with all tiles. */
    private void collect(int b, int h, int qTile, int lo, int hi, Runs runs) {
        TileClass span = classifyKvSpan(b, h, qTile, lo, hi);
        if (span == TileClass.EMPTY) return;
        if (span == TileClass.FULL || lo == hi) {
            runs.add(lo, hi, span == TileClass.FULL);
            return;
        }
        int mid = (lo + hi) >>> 1;
        collect(b, h, qTile, lo, mid, runs);
        collect(b, h, qTile, mid + 1, hi, runs);
    }

    /** Runs being gathered in order; a run adjacent to the last one of the same class extends it. */
    private static final class Runs {
        private int[] first = new int[8], last = new int[8];
        private boolean[] full = new boolean[8];
        private int size;

        void add(int lo, int hi, boolean isFull) {
            if (size > 0 && last[size - 1] == lo - 1 && full[size - 1] == isFull) {
                last[size - 1] = hi;
                return;
            }
            if (size == first.length) {
                first = Arrays.copyOf(first, 2 * size);
                last = Arrays.copyOf(last, 2 * size);
                full = Arrays.copyOf(full, 2 * size);
            }
            first[size] = lo;
            last[size] = hi;
            full[size++] = isFull;
        }

        TileRow toRow() { return new TileRow(Arrays.copyOf(first, size), Arrays.copyOf(last, size), Arrays.copyOf(full, size)); }
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
