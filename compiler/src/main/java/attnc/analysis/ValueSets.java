package attnc.analysis;

import attnc.tensor.Tensor;
import java.util.Arrays;

/**
 * The distinct values of an int tensor per block of each tile grid, when a block holds at most
 * {@value #LIMIT} of them. Min and max alone cannot tell that a query tile of document 5 and a KV
 * tile holding documents 2 and 9 share nothing; these sets can, so packed documents with ids in
 * any order are EMPTY where they do not meet. O(elements) to build; a query unions at most
 * {@value #MAX_BLOCKS} blocks per row.
 */
final class ValueSets {
    static final int LIMIT = 4;
    private static final int MAX_BLOCKS = 4, SCAN = 16;
    /** A block with more distinct values than LIMIT. */
    private static final byte MANY = LIMIT + 1;

    private final int[] shape;
    private final int length;
    private final int[] values;
    private final BlockGrid[] grids;
    /** [grid][row]: LIMIT slots per block, and each block's count (MANY when it overflowed). */
    private final int[][][] sets;
    private final byte[][][] counts;

    ValueSets(Tensor tensor, BlockGrid... grids) {
        this.shape = tensor.shape();
        this.length = shape[shape.length - 1];
        this.values = tensor.ints().clone();
        this.grids = grids;
        int rows = length == 0 ? 0 : values.length / length;
        this.sets = new int[grids.length][rows][];
        this.counts = new byte[grids.length][rows][];
        for (int g = 0; g < grids.length; g++) {
            int blocks = grids[g].blocks(length);
            for (int r = 0; r < rows; r++) {
                int[] slots = new int[blocks * LIMIT];
                byte[] n = new byte[blocks];
                for (int i = 0; i < length; i++) add(slots, n, grids[g].blockOf(i), values[r * length + i]);
                sets[g][r] = slots;
                counts[g][r] = n;
            }
        }
    }

    private static void add(int[] slots, byte[] n, int block, int v) {
        if (n[block] == MANY) return;
        for (int k = 0; k < n[block]; k++) if (slots[block * LIMIT + k] == v) return;
        if (n[block] == LIMIT) {
            n[block] = MANY;
            return;
        }
        slots[block * LIMIT + n[block]++] = v;
    }

    /** Sorted distinct values the (clamped) index ranges reach, or null when there may be many. */
    int[] distinct(IntBound[] indices) {
        if (values.length == 0) return null;
        int last = indices.length - 1;
        long rows = 1;
        long[] lo = new long[indices.length], hi = new long[indices.length];
        for (int d = 0; d <= last; d++) {
            lo[d] = Math.max(0, Math.min(indices[d].lo(), shape[d] - 1));
            hi[d] = Math.max(0, Math.min(indices[d].hi(), shape[d] - 1));
            if (d < last) rows *= hi[d] - lo[d] + 1;
        }
        if (rows != 1) return null;
        int row = 0;
        for (int d = 0; d < last; d++) row = row * shape[d] + (int) lo[d];
        int from = (int) lo[last], to = (int) hi[last];
        int[] found = new int[2 * LIMIT];
        int n = 0;
        if (to - from < SCAN) {
            for (int i = from; i <= to; i++) {
                n = union(found, n, values[row * length + i]);
                if (n < 0) return null;
            }
        } else {
            int g = grids[0].slack(from, to, length) <= grids[grids.length - 1].slack(from, to, length) ? 0 : grids.length - 1;
            int first = grids[g].blockOf(from), lastBlock = grids[g].blockOf(to);
            if (lastBlock - first + 1 > MAX_BLOCKS) return null;
            for (int bl = first; bl <= lastBlock; bl++) {
                byte count = counts[g][row][bl];
                if (count == MANY) return null;
                for (int k = 0; k < count && n >= 0; k++) n = union(found, n, sets[g][row][bl * LIMIT + k]);
                if (n < 0) return null;
            }
        }
        int[] out = Arrays.copyOf(found, n);
        Arrays.sort(out);
        return out;
    }

    /** Adds v to found[0..n); the new size, or -1 when found is full. */
    private static int union(int[] found, int n, int v) {
        for (int k = 0; k < n; k++) if (found[k] == v) return n;
        if (n == found.length) return -1;
        found[n] = v;
        return n + 1;
    }
}
