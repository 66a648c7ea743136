package attnc.analysis;

import attnc.ir.BinaryOp;

/**
 * Bits of an int range that every value shares: when lo and hi have the same sign, all values
 * between them agree with lo on every bit above the highest bit where lo and hi differ. Bit
 * operations combine these known ones and zeros, which bounds {@code (d & (d - 1)) == 0}
 * (power-of-two distances) away from 0 over a tile whose distances share a high bit.
 */
final class KnownBits {
    private KnownBits() {}

    /** The range {@code fallback} narrowed by what the known bits of a and b say about a op b. */
    static IntBound refine(BinaryOp op, IntBound a, IntBound b, IntBound fallback) {
        int[] x = known(a), y = known(b);
        if (x == null || y == null) return fallback;
        int ones, zeros;
        switch (op) {
            case BIT_AND -> { ones = x[0] & y[0]; zeros = x[1] | y[1]; }
            case BIT_OR -> { ones = x[0] | y[0]; zeros = x[1] & y[1]; }
            default -> { ones = (x[0] & y[1]) | (x[1] & y[0]); zeros = (x[0] & y[0]) | (x[1] & y[1]); }
        }
        long low, high;
        if ((ones & Integer.MIN_VALUE) != 0 || (zeros & Integer.MIN_VALUE) != 0) {
            low = ones;
            high = ~zeros;
        } else {
            low = ones | Integer.MIN_VALUE;
            high = ~zeros & Integer.MAX_VALUE;
        }
        return IntBound.range(Math.max(low, fallback.lo()), Math.min(high, fallback.hi()));
    }

    /** {known ones, known zeros} of a range whose ends have the same sign, else null. */
    private static int[] known(IntBound a) {
        if ((a.lo() < 0) != (a.hi() < 0)) return null;
        int lo = (int) a.lo(), hi = (int) a.hi();
        int differing = lo ^ hi;
        int fixed = differing == 0 ? -1 : ~((Integer.highestOneBit(differing) << 1) - 1);
        return new int[] {lo & fixed, ~lo & fixed};
    }
}
