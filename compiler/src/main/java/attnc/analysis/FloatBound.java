package attnc.analysis;

/**
 * A sound bound on a float sub-expression (evaluated in double precision, as
 * {@link attnc.ir.Semantics} says): every value that is not NaN lies in [lo, hi] (infinities
 * included), and {@code maybeNaN} is false only when no element can be NaN.
 */
record FloatBound(double lo, double hi, boolean maybeNaN) {

    static final FloatBound TOP = new FloatBound(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true);

    static FloatBound constant(double v) {
        return Double.isNaN(v) ? TOP : new FloatBound(v, v, false);
    }

    /** The hull of some candidate values; a NaN among them marks the result as possibly NaN. */
    static FloatBound hull(boolean maybeNaN, double... values) {
        double low = Double.POSITIVE_INFINITY, high = Double.NEGATIVE_INFINITY;
        boolean nan = maybeNaN;
        for (double v : values) {
            if (Double.isNaN(v)) {
                nan = true;
                continue;
            }
            low = Math.min(low, v);
            high = Math.max(high, v);
        }
        if (low > high) return TOP;
        return new FloatBound(low, high, nan);
    }

    boolean contains(double v) { return lo <= v && v <= hi; }

    boolean hasInfinity() { return Double.isInfinite(lo) || Double.isInfinite(hi); }
}
