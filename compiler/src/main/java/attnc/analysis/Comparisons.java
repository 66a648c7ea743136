package attnc.analysis;

import attnc.ir.BinaryOp;

/**
 * Comparisons as three-valued booleans. Two ints are compared through their difference, bounded
 * by ranges and by linear forms together (see {@link IntOps#difference}); the difference's form
 * also gives the linear constraint that holds where the comparison is true and where it is false.
 */
final class Comparisons {
    private Comparisons() {}

    private static final long OPEN = Constraints.UNBOUNDED;

    static BoolBound ints(BinaryOp op, IntBound a, IntBound b, Box box) {
        // a op b  ⟺  a − b ∈ [low, high]
        long low, high;
        switch (op) {
            case LT -> { low = -OPEN; high = -1; }
            case LE -> { low = -OPEN; high = 0; }
            case GT -> { low = 1; high = OPEN; }
            case GE -> { low = 0; high = OPEN; }
            case EQ -> { low = 0; high = 0; }
            case NE -> { return ints(BinaryOp.EQ, a, b, box).not(); }
            default -> throw new IllegalArgumentException(op + " is not a comparison");
        }
        long[] d = IntOps.difference(a, b, box);
        boolean canTrue = Math.max(d[0], low) <= Math.min(d[1], high);
        boolean canFalse = d[0] < low || d[1] > high;
        // a − b = cq·q + ckv·kv + r with r ∈ [rlo, rhi]
        long cq = a.cq() - b.cq(), ckv = a.ckv() - b.ckv();
        long rlo = a.rlo() - b.rhi(), rhi = a.rhi() - b.rlo();
        Constraints whenTrue = Constraints.of(cq, ckv, low == -OPEN ? -OPEN : low - rhi, high == OPEN ? OPEN : high - rlo);
        Constraints whenFalse = low == -OPEN ? Constraints.of(cq, ckv, high + 1 - rhi, OPEN)
                : high == OPEN ? Constraints.of(cq, ckv, -OPEN, low - 1 - rlo)
                : Constraints.NONE;
        return new BoolBound(canTrue, canFalse, whenTrue, whenFalse);
    }

    /** NaN compares false (unequal), so a possible NaN makes every comparison but != possibly false. */
    static BoolBound floats(BinaryOp op, FloatBound a, FloatBound b) {
        boolean nan = a.maybeNaN() || b.maybeNaN();
        return switch (op) {
            case LT -> BoolBound.of(a.lo() < b.hi(), nan || a.hi() >= b.lo());
            case LE -> BoolBound.of(a.lo() <= b.hi(), nan || a.hi() > b.lo());
            case GT -> BoolBound.of(a.hi() > b.lo(), nan || a.lo() <= b.hi());
            case GE -> BoolBound.of(a.hi() >= b.lo(), nan || a.lo() < b.hi());
            case EQ -> BoolBound.of(a.lo() <= b.hi() && b.lo() <= a.hi(),
                    nan || !(a.lo() == a.hi() && b.lo() == b.hi() && a.lo() == b.lo()));
            case NE -> floats(BinaryOp.EQ, a, b).not();
            default -> throw new IllegalArgumentException(op + " is not a comparison");
        };
    }
}
