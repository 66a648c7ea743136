package attnc.analysis;

import java.util.Arrays;

/**
 * A conjunction of linear constraints {@code lo <= a·q + c·kv <= hi} over the query and key
 * positions, each with its direction (a, c) reduced (gcd 1, first non-zero coefficient positive).
 * A boolean sub-expression carries one set that holds wherever it is true and one that holds
 * wherever it is false; {@code &&} joins the sets of its operands and asks whether the joint set
 * still meets the box. That is what makes {@code q - kv >= 0 && q - kv < w} with w ≤ 0, or
 * {@code kv >= q && kv <= q - 1}, exactly EMPTY where three-valued logic alone says PARTIAL.
 *
 * <p>Feasibility is decided per direction (intersect the bounds, compare with the direction's
 * range over the box), which is sound; it is exact for one direction whose values over the box
 * leave no gaps (a unit coefficient over a span at least as wide as the other one, as q − kv over
 * any tile), not for −3q + 2kv over q −3..−2, kv −5..−1, which spans −4..7 but never takes −3.
 */
final class Constraints {
    /** No constraint: what a sub-expression with no linear meaning implies. */
    static final Constraints NONE = new Constraints(new long[0]);

    /** Open ends; far beyond any form's range, and still safe to negate. */
    static final long UNBOUNDED = 1L << 62;

    /** Four longs per constraint: a, c, lo, hi. */
    private final long[] rows;

    private Constraints(long[] rows) {
        this.rows = rows;
    }

    /** {@code lo <= a·q + c·kv <= hi}; NONE when the form does not involve q or kv. */
    static Constraints of(long a, long c, long lo, long hi) {
        if (a == 0 && c == 0) return NONE;
        long g = gcd(Math.abs(a), Math.abs(c));
        if (a < 0 || a == 0 && c < 0) {
            g = -g;
        }
        long low = lo <= -UNBOUNDED ? -UNBOUNDED : lo >= UNBOUNDED ? UNBOUNDED : lo;
        long high = hi >= UNBOUNDED ? UNBOUNDED : hi <= -UNBOUNDED ? -UNBOUNDED : hi;
        if (g < 0) {
            long t = low;
            low = -high;
            high = -t;
        }
        long m = Math.abs(g);
        return new Constraints(new long[] {a / g, c / g, ceilDiv(low, m), Math.floorDiv(high, m)});
    }

    boolean isNone() { return rows.length == 0; }

    /** Both sets hold. */
    Constraints and(Constraints other) {
        if (other.isNone()) return this;
        if (isNone()) return other;
        long[] joined = Arrays.copyOf(rows, rows.length + other.rows.length);
        System.arraycopy(other.rows, 0, joined, rows.length, other.rows.length);
        return new Constraints(joined);
    }

    /** One of the sets holds: per direction present in both, the hull of their bounds. */
    Constraints or(Constraints other) {
        if (isNone() || other.isNone()) return NONE;
        long[] hull = new long[0];
        for (int i = 0; i < rows.length; i += 4) {
            long[] mine = boundsOf(rows[i], rows[i + 1]), theirs = other.boundsOf(rows[i], rows[i + 1]);
            if (theirs == null || indexOf(hull, rows[i], rows[i + 1]) >= 0) continue;
            hull = Arrays.copyOf(hull, hull.length + 4);
            hull[hull.length - 4] = rows[i];
            hull[hull.length - 3] = rows[i + 1];
            hull[hull.length - 2] = Math.min(mine[0], theirs[0]);
            hull[hull.length - 1] = Math.max(mine[1], theirs[1]);
        }
        return new Constraints(hull);
    }

    /** Whether some integer point of the box might satisfy every constraint (false is certain). */
    boolean feasible(Box box) {
        for (int i = 0; i < rows.length; i += 4) {
            long[] bounds = boundsOf(rows[i], rows[i + 1]);
            long low = Math.max(bounds[0], box.formMin(rows[i], rows[i + 1]));
            long high = Math.min(bounds[1], box.formMax(rows[i], rows[i + 1]));
            if (low > high) return false;
        }
        return true;
    }

    /** The intersection of every bound this set gives on direction (a, c), or null if none. */
    private long[] boundsOf(long a, long c) {
        long[] bounds = null;
        for (int i = 0; i < rows.length; i += 4) {
            if (rows[i] != a || rows[i + 1] != c) continue;
            if (bounds == null) bounds = new long[] {rows[i + 2], rows[i + 3]};
            else {
                bounds[0] = Math.max(bounds[0], rows[i + 2]);
                bounds[1] = Math.min(bounds[1], rows[i + 3]);
            }
        }
        return bounds;
    }

    private static int indexOf(long[] rows, long a, long c) {
        for (int i = 0; i < rows.length; i += 4) if (rows[i] == a && rows[i + 1] == c) return i;
        return -1;
    }

    private static long ceilDiv(long x, long m) {
        return -Math.floorDiv(-x, m);
    }

    private static long gcd(long x, long y) {
        while (y != 0) {
            long t = x % y;
            x = y;
            y = t;
        }
        return x;
    }
}
