package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;

/**
 * Transfer functions of the float operations. IEEE rounding is monotone, so the correctly rounded
 * +, −, ×, ÷ reach their extremes at the corners of their operands' ranges; Java's exp, log and
 * tanh are semi-monotonic by specification. Functions composed of several roundings (log2,
 * sigmoid) are widened by a few ulps, so a rounding that breaks monotonicity stays inside.
 */
final class FloatOps {
    private FloatOps() {}

    private static final int COMPOSED_ULPS = 4;

    static FloatBound binary(BinaryOp op, FloatBound a, FloatBound b) {
        boolean nan = a.maybeNaN() || b.maybeNaN();
        return switch (op) {
            case ADD -> FloatBound.hull(nan, a.lo() + b.lo(), a.hi() + b.hi(),
                    a.lo() + b.hi(), a.hi() + b.lo());
            case SUB -> FloatBound.hull(nan, a.lo() - b.hi(), a.hi() - b.lo(), a.lo() - b.lo(), a.hi() - b.hi());
            case MUL -> {
                // 0 × ∞ is NaN even where neither factor sits at a corner of its range.
                boolean zeroTimesInfinity = a.contains(0) && b.hasInfinity() || b.contains(0) && a.hasInfinity();
                yield FloatBound.hull(nan || zeroTimesInfinity, a.lo() * b.lo(), a.lo() * b.hi(), a.hi() * b.lo(), a.hi() * b.hi());
            }
            case DIV -> divide(a, b, nan);
            default -> throw new IllegalArgumentException(op + " does not give a float");
        };
    }

    private static FloatBound divide(FloatBound a, FloatBound b, boolean nan) {
        if (b.contains(0)) {
            return new FloatBound(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true);
        }
        boolean infinityOverInfinity = a.hasInfinity() && b.hasInfinity();
        return FloatBound.hull(nan || infinityOverInfinity, a.lo() / b.lo(), a.lo() / b.hi(), a.hi() / b.lo(), a.hi() / b.hi());
    }

    static FloatBound negate(FloatBound a) {
        return new FloatBound(-a.hi(), -a.lo(), a.maybeNaN());
    }

    static FloatBound min(FloatBound a, FloatBound b) {
        return new FloatBound(Math.min(a.lo(), b.lo()), Math.min(a.hi(), b.hi()), a.maybeNaN() || b.maybeNaN());
    }

    static FloatBound max(FloatBound a, FloatBound b) {
        return new FloatBound(Math.max(a.lo(), b.lo()), Math.max(a.hi(), b.hi()), a.maybeNaN() || b.maybeNaN());
    }

    static FloatBound abs(FloatBound a) {
        if (a.lo() >= 0) return a;
        if (a.hi() <= 0) return negate(a);
        return new FloatBound(0, Math.max(-a.lo(), a.hi()), a.maybeNaN());
    }

    /** exp, log, log2, sqrt, tanh, sigmoid, floor: all non-decreasing where defined. */
    static FloatBound monotone(Builtin fn, FloatBound a) {
        boolean nan = a.maybeNaN();
        double lo = a.lo(), hi = a.hi();
        if ((fn == Builtin.LOG || fn == Builtin.LOG2 || fn == Builtin.SQRT) && lo < 0) {
            nan = true;
            if (hi < 0) return FloatBound.TOP;
            lo = fn == Builtin.SQRT ? -0.0 : 0.0;
        }
        double low = Semantics.floatCall(fn, lo), high = Semantics.floatCall(fn, hi);
        if (fn == Builtin.LOG2 || fn == Builtin.SIGMOID) {
            for (int i = 0; i < COMPOSED_ULPS; i++) {
                low = Math.nextDown(low);
                high = Math.nextUp(high);
            }
        }
        return FloatBound.hull(nan, low, high);
    }

    /** float → int floors and saturates (NaN gives 0), monotone. */
    static IntBound toInt(FloatBound a) {
        long low = Semantics.toInt(a.lo()), high = Semantics.toInt(a.hi());
        if (a.maybeNaN()) {
            low = Math.min(low, 0);
            high = Math.max(high, 0);
        }
        return IntBound.range(low, high);
    }

    static FloatBound fromInt(IntBound a) {
        return new FloatBound(a.lo(), a.hi(), false);
    }
}
