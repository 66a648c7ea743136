package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The range table against a scan of the same elements: always sound, and exact where its comment
 * says it is — ranges of a few elements, ranges made of whole KV or query tiles, and the
 * tensor-wide bounds beyond {@link RangeTable#MAX_ROWS} rows. Other ranges may widen only to the
 * blocks that enclose them.
 */
class RangeTableTest {

    @Property(tries = 400)
    void boundsAreSoundAndExactOnWholeTiles(@ForAll long seed) {
        Random random = new Random(seed);
        int[] shape = new int[1 + random.nextInt(3)];
        for (int d = 0; d < shape.length - 1; d++) shape[d] = 1 + random.nextInt(random.nextInt(4) == 0 ? 12 : 4);
        shape[shape.length - 1] = 1 + random.nextInt(random.nextBoolean() ? 20 : 300);
        Tensor tensor = tensor(shape, random);
        int tileQ = 1 + random.nextInt(64), tileKv = 1 + random.nextInt(64), offset = random.nextInt(200);
        RangeTable table = new RangeTable(tensor, tileQ, tileKv, offset);
        assertEquals(anyNaN(tensor), table.hasNaN());

        IntBound[] indices = new IntBound[shape.length];
        for (int d = 0; d < shape.length; d++) indices[d] = indexRange(shape[d], d == shape.length - 1 ? new BlockGrid[] {
                BlockGrid.kv(tileKv), BlockGrid.q(tileQ, offset)} : new BlockGrid[0], random);
        double[] got = table.bounds(indices);
        Scan truth = new Scan(tensor, indices);
        String what = "indices " + Arrays.toString(indices) + " of " + Arrays.toString(shape)
                + ", tiles " + tileQ + " x " + tileKv + " offset " + offset;
        assertTrue(got[0] <= truth.min && truth.max <= got[1], () -> "unsound: " + Arrays.toString(got) + " for " + truth + ", " + what);
        if (truth.rows > RangeTable.MAX_ROWS) {
            Scan all = new Scan(tensor, null);
            assertArrayEquals(new double[] {all.min, all.max}, got, what);
            return;
        }
        int lo = (int) clamp(indices[shape.length - 1].lo(), shape[shape.length - 1]), hi = (int) clamp(indices[shape.length - 1].hi(), shape[shape.length - 1]);
        int length = shape[shape.length - 1];
        boolean wholeTiles = aligned(BlockGrid.kv(tileKv), lo, hi, length) || aligned(BlockGrid.q(tileQ, offset), lo, hi, length);
        if (hi - lo < 16 || wholeTiles) {
            assertArrayEquals(new double[] {truth.min, truth.max}, got, () -> "not exact: " + what);
        } else {
            Scan enclosing = new Scan(tensor, indices, Math.min(BlockGrid.kv(tileKv).blockStart(BlockGrid.kv(tileKv).blockOf(lo)),
                    BlockGrid.q(tileQ, offset).blockStart(BlockGrid.q(tileQ, offset).blockOf(lo))),
                    Math.max(end(BlockGrid.kv(tileKv), hi, length), end(BlockGrid.q(tileQ, offset), hi, length)));
            assertTrue(enclosing.min <= got[0] && got[1] <= enclosing.max, () -> "wider than the enclosing blocks: " + what);
        }
    }

    /**
     * The last KV tiles of a row (132..188 of 189, tiles of 44) are whole tiles even though the last
     * one is cut by the row's end: exact, not widened to the query grid's blocks (124..203).
     */
    @Example
    void theLastKvTilesOfARowAreExact() {
        float[] data = new float[189];
        for (int i = 0; i < data.length; i++) data[i] = i >= 124 && i < 132 ? -1000 : i;
        RangeTable table = new RangeTable(Tensor.ofFloats(DType.FLOAT32, new int[] {189}, data), 20, 44, 144);
        assertArrayEquals(new double[] {132, 188}, table.bounds(new IntBound[] {IntBound.range(132, 188)}));
    }

    /** A tile of NaN only has no bounds of its own: it widens nothing (here, not down to 0). */
    @Example
    void aTileOfNaNWidensNothing() {
        float[] data = new float[40];
        for (int i = 0; i < data.length; i++) data[i] = i >= 8 && i < 16 ? Float.NaN : 5 + i;
        RangeTable table = new RangeTable(Tensor.ofFloats(DType.FLOAT32, new int[] {40}, data), 8, 8, 0);
        assertArrayEquals(new double[] {5, 44}, table.bounds(new IntBound[] {IntBound.range(0, 39)}));
    }

    /** At exactly MAX_ROWS rows the rows are still read one by one (beyond, the tensor-wide bounds are used). */
    @Example
    void maxRowsRowsAreReadOneByOne() {
        float[] data = new float[8 * 8 * 5];
        for (int i = 0; i < data.length; i++) data[i] = i;
        RangeTable table = new RangeTable(Tensor.ofFloats(DType.FLOAT32, new int[] {9, 8, 5}, Arrays.copyOf(data, 9 * 8 * 5)), 4, 4, 0);
        assertArrayEquals(new double[] {1, 8 * 8 * 5 - 3}, table.bounds(new IntBound[] {IntBound.range(0, 7), IntBound.range(0, 7), IntBound.range(1, 2)}));
        assertArrayEquals(new double[] {0, 8 * 8 * 5 - 1}, table.bounds(new IntBound[] {IntBound.range(0, 8), IntBound.range(0, 7), IntBound.range(1, 2)}),
                "72 rows: the tensor-wide bounds");
    }

    @Example
    void anEmptyTensorHasNoBounds() {
        RangeTable table = new RangeTable(Tensor.ofFloats(DType.FLOAT32, new int[] {2, 0}, new float[0]), 4, 4, 0);
        assertNull(table.bounds(new IntBound[] {IntBound.range(0, 1), IntBound.range(0, 3)}));
    }

    /** A range of whole blocks of this grid (the last one may end with the row). */
    private static boolean aligned(BlockGrid grid, int lo, int hi, int length) {
        return grid.blockStart(grid.blockOf(lo)) == lo && (hi == length - 1 || grid.blockStart(grid.blockOf(hi) + 1) == hi + 1);
    }

    private static int end(BlockGrid grid, int hi, int length) {
        return Math.min(length - 1, grid.blockStart(grid.blockOf(hi) + 1) - 1);
    }

    /** Often a range of whole blocks, sometimes reaching past the dimension (the table clamps). */
    private static IntBound indexRange(int dim, BlockGrid[] grids, Random random) {
        if (grids.length > 0 && random.nextBoolean()) {
            BlockGrid grid = grids[random.nextInt(grids.length)];
            int blocks = grid.blocks(dim), first = random.nextInt(blocks), last = first + random.nextInt(blocks - first);
            return IntBound.range(grid.blockStart(first), Math.min(dim - 1, grid.blockStart(last + 1) - 1));
        }
        long a = random.nextInt(dim + 6) - 3, b = random.nextInt(dim + 6) - 3;
        return IntBound.range(Math.min(a, b), Math.max(a, b));
    }

    private static Tensor tensor(int[] shape, Random random) {
        int n = Math.toIntExact(Tensor.elementCount(shape));
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = switch (random.nextInt(20)) {
                case 0 -> Float.NaN;
                case 1 -> Float.POSITIVE_INFINITY;
                case 2 -> Float.NEGATIVE_INFINITY;
                default -> random.nextInt(1000) - 500;
            };
        }
        return Tensor.ofFloats(DType.FLOAT32, shape, data);
    }

    private static boolean anyNaN(Tensor t) {
        for (int i = 0; i < t.size(); i++) if (Double.isNaN(t.getDouble(i))) return true;
        return false;
    }

    private static long clamp(long index, int dim) {
        return Math.max(0, Math.min(index, dim - 1));
    }

    /** Min and max of the non-NaN elements the clamped ranges reach (every element when indices is null). */
    private static final class Scan {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        long rows = 1;

        Scan(Tensor t, IntBound[] indices) {
            this(t, indices, -1, -1);
        }

        /** With lastLo ≥ 0, the last dimension spans [lastLo, lastHi] instead. */
        Scan(Tensor t, IntBound[] indices, int lastLo, int lastHi) {
            int[] shape = t.shape();
            for (int i = 0; i < t.size(); i++) {
                int rest = i;
                boolean inside = true;
                for (int d = shape.length - 1; d >= 0; d--) {
                    int index = rest % shape[d];
                    rest /= shape[d];
                    if (indices == null) continue;
                    long lo = clamp(indices[d].lo(), shape[d]), hi = clamp(indices[d].hi(), shape[d]);
                    if (d == shape.length - 1 && lastLo >= 0) { lo = lastLo; hi = lastHi; }
                    inside &= lo <= index && index <= hi;
                }
                double v = t.getDouble(i);
                if (!inside || Double.isNaN(v)) continue;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            if (indices != null) for (int d = 0; d < shape.length - 1; d++) rows *= clamp(indices[d].hi(), shape[d]) - clamp(indices[d].lo(), shape[d]) + 1;
        }

        @Override
        public String toString() {
            return "[" + min + ", " + max + "] over " + rows + " rows";
        }
    }
}
