package attnc.analysis;

/**
 * A sound bound on an int sub-expression over a {@link Box}: for every element of the box, the
 * value v satisfies {@code lo <= v <= hi} and {@code rlo <= v - cq·q - ckv·kv <= rhi}.
 *
 * <p>The second fact is a linear (difference-bound) relation to q and kv: it lets
 * {@code (q - kv) - (q - 5)} be known exactly and lets a comparison of two values subtract their
 * forms before taking a range, which plain intervals cannot. Every value has a form (a
 * non-linear one uses cq = ckv = 0). Values are exact 32-bit results: an operation whose
 * mathematical result might leave the int range could wrap, and gives {@link #TOP}.
 */
record IntBound(long lo, long hi, long cq, long ckv, long rlo, long rhi) {

    static final long MIN = Integer.MIN_VALUE;
    static final long MAX = Integer.MAX_VALUE;
    /** Coefficients and rests beyond these are dropped so that long arithmetic never overflows. */
    private static final long COEFFICIENT_LIMIT = 1L << 30;
    private static final long REST_LIMIT = 1L << 40;

    static final IntBound TOP = new IntBound(MIN, MAX, 0, 0, MIN, MAX);

    static IntBound constant(long c) {
        return new IntBound(c, c, 0, 0, c, c);
    }

    /** Any value in [lo, hi] with no relation to q or kv; {@link #TOP} if that leaves the int range. */
    static IntBound range(long lo, long hi) {
        if (lo < MIN || hi > MAX) return TOP;
        return new IntBound(lo, hi, 0, 0, lo, hi);
    }

    /**
     * The mathematical result lies in [lo, hi] and, in linear form, in cq·q + ckv·kv + [rlo, rhi].
     * Both are intersected; if the result may leave the int range it may wrap, so nothing is known.
     */
    static IntBound of(long lo, long hi, long cq, long ckv, long rlo, long rhi, Box box) {
        if (Math.abs(cq) > COEFFICIENT_LIMIT || Math.abs(ckv) > COEFFICIENT_LIMIT
                || Math.abs(rlo) > REST_LIMIT || Math.abs(rhi) > REST_LIMIT) {
            return range(lo, hi);
        }
        long low = Math.max(lo, box.formMin(cq, ckv) + rlo);
        long high = Math.min(hi, box.formMax(cq, ckv) + rhi);
        if (low < MIN || high > MAX) return TOP;
        return new IntBound(low, high, cq, ckv, rlo, rhi);
    }

    boolean isConstant() { return lo == hi; }

    boolean nonNegative() { return lo >= 0; }
}
