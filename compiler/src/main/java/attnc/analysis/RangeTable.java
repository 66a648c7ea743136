package attnc.analysis;

import attnc.tensor.Tensor;

/**
 * Minimum and maximum of any index range of one input tensor, in O(1) per query after an
 * O(elements + blocks·log blocks) build. The tensor is seen as rows (every dimension but the
 * last) of length L; each row is cut into blocks along two grids, the KV tiles (size tileKv from
 * 0) and the query tiles (size tileQ, shifted by the query offset), so the range of a whole KV or
 * query tile (or a span of them) is exact. Other ranges use the enclosing blocks of the tighter
 * grid (sound, a little loose); ranges of a few elements are scanned.
 */
final class RangeTable {
    private static final int SCAN = 16;
    /** Beyond this many rows in one query, the tensor-wide bounds are used instead. */
    static final int MAX_ROWS = 64;

    private final int[] shape;
    private final int length;
    private final double[] values;
    private final double globalMin, globalMax;
    private final boolean hasNaN;
    private final SparseGrid kvGrid, qGrid;

    RangeTable(Tensor tensor, int tileQ, int tileKv, int queryOffset) {
        this.shape = tensor.shape();
        this.length = shape[shape.length - 1];
        this.values = new double[tensor.size()];
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        boolean nan = false;
        for (int i = 0; i < values.length; i++) {
            double v = tensor.getDouble(i);
            values[i] = v;
            if (Double.isNaN(v)) nan = true;
            else {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        this.globalMin = min;
        this.globalMax = max;
        this.hasNaN = nan;
        int rows = length == 0 ? 0 : values.length / length;
        this.kvGrid = new SparseGrid(values, rows, length, BlockGrid.kv(tileKv));
        this.qGrid = new SparseGrid(values, rows, length, BlockGrid.q(tileQ, queryOffset));
    }

    boolean hasNaN() { return hasNaN; }

    /** {min, max} over every element the (clamped) index ranges can reach; null for an empty tensor. */
    double[] bounds(IntBound[] indices) {
        if (values.length == 0) return null;
        long rows = 1;
        long[] lo = new long[indices.length], hi = new long[indices.length];
        for (int d = 0; d < indices.length; d++) {
            lo[d] = clamp(indices[d].lo(), shape[d]);
            hi[d] = clamp(indices[d].hi(), shape[d]);
            if (d < indices.length - 1) rows *= hi[d] - lo[d] + 1;
        }
        if (rows > MAX_ROWS) return new double[] {globalMin, globalMax};
        double[] acc = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        int last = indices.length - 1;
        int[] at = new int[last];
        for (int d = 0; d < last; d++) at[d] = (int) lo[d];
        while (true) {
            int row = 0;
            for (int d = 0; d < last; d++) row = row * shape[d] + at[d];
            rowBounds(row, (int) lo[last], (int) hi[last], acc);
            int d = last - 1;
            while (d >= 0 && at[d] == hi[d]) {
                at[d] = (int) lo[d];
                d--;
            }
            if (d < 0) break;
            at[d]++;
        }
        return acc;
    }

    private void rowBounds(int row, int lo, int hi, double[] acc) {
        if (hi - lo < SCAN) {
            int base = row * length;
            for (int i = lo; i <= hi; i++) {
                double v = values[base + i];
                if (Double.isNaN(v)) continue;
                acc[0] = Math.min(acc[0], v);
                acc[1] = Math.max(acc[1], v);
            }
            return;
        }
        SparseGrid grid = kvGrid.grid.slack(lo, hi, length) <= qGrid.grid.slack(lo, hi, length) ? kvGrid : qGrid;
        grid.bounds(row, lo, hi, acc);
    }

    private static long clamp(long index, int dim) {
        return Math.max(0, Math.min(index, dim - 1));
    }

    /** Block minima and maxima of every row along one grid, with sparse tables over blocks. */
    private static final class SparseGrid {
        private final BlockGrid grid;
        private final int blocks;
        /** [row][level][block]: min (resp. max) of blocks block .. block + 2^level − 1. */
        private final double[][][] min, max;

        SparseGrid(double[] values, int rows, int length, BlockGrid grid) {
            this.grid = grid;
            this.blocks = grid.blocks(length);
            int levels = 32 - Integer.numberOfLeadingZeros(blocks);
            this.min = new double[rows][levels][];
            this.max = new double[rows][levels][];
            for (int r = 0; r < rows; r++) {
                double[] lo = new double[blocks], hi = new double[blocks];
                java.util.Arrays.fill(lo, Double.POSITIVE_INFINITY);
                java.util.Arrays.fill(hi, Double.NEGATIVE_INFINITY);
                for (int i = 0; i < length; i++) {
                    double v = values[r * length + i];
                    if (Double.isNaN(v)) continue;
                    int bl = grid.blockOf(i);
                    lo[bl] = Math.min(lo[bl], v);
                    hi[bl] = Math.max(hi[bl], v);
                }
                min[r][0] = lo;
                max[r][0] = hi;
                for (int k = 1; k < levels; k++) {
                    int n = blocks - (1 << k) + 1, half = 1 << (k - 1);
                    double[] pl = min[r][k - 1], ph = max[r][k - 1];
                    double[] l = new double[n], h = new double[n];
                    for (int i = 0; i < n; i++) {
                        l[i] = Math.min(pl[i], pl[i + half]);
                        h[i] = Math.max(ph[i], ph[i + half]);
                    }
                    min[r][k] = l;
                    max[r][k] = h;
                }
            }
        }

        void bounds(int row, int lo, int hi, double[] acc) {
            int first = grid.blockOf(lo), last = grid.blockOf(hi);
            int k = 31 - Integer.numberOfLeadingZeros(last - first + 1);
            double[] l = min[row][k], h = max[row][k];
            acc[0] = Math.min(acc[0], Math.min(l[first], l[last - (1 << k) + 1]));
            acc[1] = Math.max(acc[1], Math.max(h[first], h[last - (1 << k) + 1]));
        }
    }
}
