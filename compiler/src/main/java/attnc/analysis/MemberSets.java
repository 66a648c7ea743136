package attnc.analysis;

import attnc.tensor.Tensor;
import java.util.Arrays;

/**
 * Membership in the last dimension of an int tensor (routed top-k block lists): each row's
 * distinct values, sorted once (O(elements·log width)). Whether a range of values [v0, v1] is
 * all in a row, partly, or not at all is then two binary searches. With v = kv / C over a KV tile
 * of size C this is exactly "is this KV block selected", so selection inputs are used directly.
 */
final class MemberSets {
    private final int[] shape;
    private final int[][] rows;

    MemberSets(Tensor tensor) {
        this.shape = tensor.shape();
        int width = shape[shape.length - 1];
        int count = width == 0 ? 0 : tensor.size() / width;
        this.rows = new int[count][];
        for (int r = 0; r < count; r++) {
            int[] row = new int[width];
            for (int i = 0; i < width; i++) row[i] = tensor.getInt(r * width + i);
            Arrays.sort(row);
            int n = 0;
            for (int i = 0; i < width; i++) if (n == 0 || row[i] != row[n - 1]) row[n++] = row[i];
            rows[r] = Arrays.copyOf(row, n);
        }
    }

    /** The value range against every row the (clamped) leading index ranges reach. */
    BoolBound member(IntBound value, IntBound[] leading) {
        long count = 1;
        long[] lo = new long[leading.length], hi = new long[leading.length];
        for (int d = 0; d < leading.length; d++) {
            lo[d] = Math.max(0, Math.min(leading[d].lo(), shape[d] - 1));
            hi[d] = Math.max(0, Math.min(leading[d].hi(), shape[d] - 1));
            count *= hi[d] - lo[d] + 1;
        }
        if (count > RangeTable.MAX_ROWS || rows.length == 0) return BoolBound.UNKNOWN;
        boolean canTrue = false, canFalse = false;
        int[] at = new int[leading.length];
        for (int d = 0; d < at.length; d++) at[d] = (int) lo[d];
        while (true) {
            int row = 0;
            for (int d = 0; d < at.length; d++) row = row * shape[d] + at[d];
            long present = countWithin(rows[row], value.lo(), value.hi());
            canTrue |= present > 0;
            canFalse |= present < value.hi() - value.lo() + 1;
            int d = at.length - 1;
            while (d >= 0 && at[d] == hi[d]) {
                at[d] = (int) lo[d];
                d--;
            }
            if (d < 0) break;
            at[d]++;
        }
        return BoolBound.of(canTrue, canFalse);
    }

    private static long countWithin(int[] sorted, long lo, long hi) {
        return upperBound(sorted, hi) - upperBound(sorted, lo - 1);
    }

    /** Number of elements ≤ x. */
    private static int upperBound(int[] sorted, long x) {
        int lo = 0, hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
