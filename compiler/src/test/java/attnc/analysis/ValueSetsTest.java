package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Value sets against a scan: a set, when given, holds every value the ranges reach; it is exactly
 * those values for a short range and for a range of whole blocks; and it is given whenever a short
 * range holds at most {@code 2 · LIMIT} values, or whole blocks of at most LIMIT values each do.
 */
class ValueSetsTest {

    @Property(tries = 500)
    void setsAreSoundAndExactOnWholeBlocks(@ForAll long seed) {
        Random random = new Random(seed);
        int rows = 1 + random.nextInt(3), length = 1 + random.nextInt(random.nextBoolean() ? 20 : 200);
        int tileQ = 1 + random.nextInt(40), tileKv = 1 + random.nextInt(40), offset = random.nextInt(100);
        BlockGrid kv = BlockGrid.kv(tileKv), q = BlockGrid.q(tileQ, offset);
        int[] data = new int[rows * length];
        int spread = 1 + random.nextInt(random.nextBoolean() ? 3 : 12), run = 1 + random.nextInt(30);
        for (int i = 0; i < data.length; i++) data[i] = (i / run * 7 + random.nextInt(spread)) % 23 - 5;
        ValueSets sets = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {rows, length}, data), kv, q);

        int row = random.nextInt(rows);
        int lo, hi;
        if (random.nextBoolean()) {
            BlockGrid grid = random.nextBoolean() ? kv : q;
            int first = random.nextInt(grid.blocks(length)), last = Math.min(grid.blocks(length) - 1, first + random.nextInt(5));
            lo = grid.blockStart(first);
            hi = Math.min(length - 1, grid.blockStart(last + 1) - 1);
        } else {
            int a = random.nextInt(length), b = random.nextInt(length);
            lo = Math.min(a, b);
            hi = Math.max(a, b);
        }
        int[] got = sets.distinct(new IntBound[] {IntBound.constant(row), IntBound.range(lo == 0 && random.nextBoolean() ? -3 : lo, hi)});
        TreeSet<Integer> truth = new TreeSet<>();
        for (int i = lo; i <= hi; i++) truth.add(data[row * length + i]);
        int[] exact = truth.stream().mapToInt(Integer::intValue).toArray();
        String what = "row " + row + " [" + lo + ", " + hi + "] of " + Arrays.toString(Arrays.copyOfRange(data, row * length, row * length + length))
                + ", tiles " + tileQ + " x " + tileKv + " offset " + offset;

        if (got != null) {
            for (int v : exact) assertTrue(Arrays.binarySearch(got, v) >= 0, () -> v + " missing from " + Arrays.toString(got) + ": " + what);
            for (int i = 1; i < got.length; i++) assertTrue(got[i - 1] < got[i], () -> "not sorted and distinct: " + Arrays.toString(got));
        }
        // Whole blocks of either grid (the last may end with the row): the sets read are exactly the range's.
        BlockGrid whole = aligned(kv, lo, hi, length) ? kv : aligned(q, lo, hi, length) ? q : null;
        if (hi - lo < 16 && exact.length <= 2 * ValueSets.LIMIT) {
            assertArrayEquals(exact, got, what);
        } else if (whole != null && whole.blockOf(hi) - whole.blockOf(lo) < 4 && everyBlockHasFew(data, row, length, whole, lo, hi) && exact.length <= 2 * ValueSets.LIMIT) {
            assertArrayEquals(exact, got, what);
        }
    }

    @Example
    void severalRowsOrAnEmptyTensorGiveNoSet() {
        ValueSets sets = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {2, 4}, new int[] {1, 1, 2, 2, 3, 3, 4, 4}), BlockGrid.kv(2), BlockGrid.q(2, 0));
        assertNull(sets.distinct(new IntBound[] {IntBound.range(0, 1), IntBound.range(0, 3)}));
        assertArrayEquals(new int[] {3, 4}, sets.distinct(new IntBound[] {IntBound.constant(1), IntBound.range(0, 3)}));
        assertNotNull(sets.distinct(new IntBound[] {IntBound.constant(5), IntBound.range(0, 3)}), "indices are clamped");
        // Indices past the end read the last element; a range past the end, the last one alone.
        assertArrayEquals(new int[] {1, 2}, sets.distinct(new IntBound[] {IntBound.constant(0), IntBound.range(1, 9)}));
        assertArrayEquals(new int[] {4}, sets.distinct(new IntBound[] {IntBound.range(3, 5), IntBound.range(6, 9)}));
        // Rows of a rank-3 tensor are found by every leading index.
        int[] cube = new int[2 * 3 * 20];
        for (int i = 0; i < cube.length; i++) cube[i] = i / 20;
        ValueSets rows = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {2, 3, 20}, cube), BlockGrid.kv(8), BlockGrid.q(8, 3));
        assertArrayEquals(new int[] {5}, rows.distinct(new IntBound[] {IntBound.constant(1), IntBound.constant(2), IntBound.range(0, 19)}));
        assertArrayEquals(new int[] {4}, rows.distinct(new IntBound[] {IntBound.constant(1), IntBound.constant(1), IntBound.range(3, 7)}));
        ValueSets empty = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {2, 0}, new int[0]), BlockGrid.kv(2));
        assertNull(empty.distinct(new IntBound[] {IntBound.constant(0), IntBound.range(0, 3)}));
    }

    /** As for RangeTable: the last KV tiles of a row are whole tiles, read without the query grid's wider blocks. */
    @Example
    void theLastKvTilesOfARowAreExact() {
        int[] data = new int[189];
        for (int i = 124; i < 132; i++) data[i] = 7;
        ValueSets sets = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {189}, data), BlockGrid.kv(44), BlockGrid.q(20, 144));
        assertArrayEquals(new int[] {0}, sets.distinct(new IntBound[] {IntBound.range(132, 188)}));
    }

    /** Up to four whole blocks are read (beyond, there may be many values). */
    @Example
    void fourWholeBlocksGiveTheirValues() {
        int[] data = new int[40];
        for (int i = 0; i < data.length; i++) data[i] = i / 10 % 2;
        ValueSets sets = new ValueSets(Tensor.ofInts(DType.INT32, new int[] {40}, data), BlockGrid.kv(5), BlockGrid.q(7, 0));
        assertArrayEquals(new int[] {0, 1}, sets.distinct(new IntBound[] {IntBound.range(5, 24)}));
        assertNull(sets.distinct(new IntBound[] {IntBound.range(5, 29)}));
    }

    private static boolean aligned(BlockGrid grid, int lo, int hi, int length) {
        return grid.blockStart(grid.blockOf(lo)) == lo && (hi == length - 1 || grid.blockStart(grid.blockOf(hi) + 1) == hi + 1);
    }

    private static boolean everyBlockHasFew(int[] data, int row, int length, BlockGrid grid, int lo, int hi) {
        for (int bl = grid.blockOf(lo); bl <= grid.blockOf(hi); bl++) {
            TreeSet<Integer> values = new TreeSet<>();
            for (int i = grid.blockStart(bl); i < Math.min(length, grid.blockStart(bl + 1)); i++) values.add(data[row * length + i]);
            if (values.size() > ValueSets.LIMIT) return false;
        }
        return true;
    }
}
