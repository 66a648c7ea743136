package attnc.grad;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.function.DoubleUnaryOperator;

/**
 * A derivative estimated by central finite differences, with non-smooth points detected.
 *
 * <p>Estimate: central differences D(h), D(h/2), D(h/4) combined by Richardson extrapolation into
 * R1 = (4D(h/2) − D(h))/3 and R2 = (4D(h/4) − D(h/2))/3, whose error on a smooth function is
 * O(h⁴) (about 4e-15 times the fifth derivative at h = 2^-12). Rounding: if one evaluation is good
 * to {@code noise}, the quotients are good to a few times noise/h.
 *
 * <p>Points where the function is not smooth within h (a kink of abs/min/max or of a ?: whose
 * branches meet, a jump of floor/int() or of a mask that reads a float input) are detected and
 * skipped, by two tests that are O(h³) on smooth functions and have no common blind spot on a
 * single kink: |R1 − R2| (the extrapolations of two step pairs disagree) and |A(h) − 2A(h/2)|,
 * with A the difference of the one-sided quotients (a kink at the point itself, which central
 * differences cannot see). Writing t·h for the kink's distance and Δ for its change of slope, one
 * of the two is at least Δ/6 for every t, and a kink moves R2 by at most Δ/2: with the detection
 * threshold a quarter of the tolerance, an undetected kink cannot make a correct derivative fail.
 * A jump shows as J/h in both tests.
 */
public final class FiniteDifference {
    private static final double GRID = 0x1p16;

    private FiniteDifference() {}

    /**
     * A float32 copy of a float tensor with every value on a grid of 2^-16: then x ± h, x ± h/2 and
     * x ± h/4 for h = 2^-12 are exact float32 values (for |x| < 256), and each quotient divides
     * exactly the step that was taken.
     */
    public static Tensor onGrid(Tensor t) {
        float[] data = t.floats().clone();
        for (int i = 0; i < data.length; i++) data[i] = (float) (Math.rint(data[i] * GRID) / GRID);
        return Tensor.ofFloats(DType.FLOAT32, t.shape(), data);
    }

    /** A copy of an on-grid tensor with one element moved by delta, which must be exact. */
    public static Tensor moved(Tensor t, int element, double delta) {
        float[] data = t.floats().clone();
        double target = data[element] + delta;
        data[element] = (float) target;
        if (data[element] != target) throw new IllegalStateException("step " + delta + " from " + t.floats()[element] + " is not exact in float32");
        return Tensor.ofFloats(DType.FLOAT32, t.shape(), data);
    }

    /** Whether the function was smooth around the point, the estimate, and the tolerance a derivative is held to. */
    public record Check(boolean smooth, double estimate, double tolerance) {
        public boolean agrees(double analytic) {
            return Double.isFinite(analytic) && Math.abs(analytic - estimate) <= tolerance;
        }
    }

    /**
     * {@code f} maps a displacement to the function's value there ({@code f0} at 0); {@code noise}
     * bounds the rounding error of one evaluation. The tolerance is 1e-7 relative (far above the
     * O(h⁴) truncation for the moderate functions tests make) plus 200·noise/h.
     */
    public static Check check(DoubleUnaryOperator f, double f0, double h, double noise, double analytic) {
        double fmh = f.applyAsDouble(-h), fph = f.applyAsDouble(h);
        double fmh2 = f.applyAsDouble(-h / 2), fph2 = f.applyAsDouble(h / 2);
        double fmh4 = f.applyAsDouble(-h / 4), fph4 = f.applyAsDouble(h / 4);
        double d1 = (fph - fmh) / (2 * h), d2 = (fph2 - fmh2) / h, d4 = (fph4 - fmh4) / (h / 2);
        double r1 = (4 * d2 - d1) / 3, r2 = (4 * d4 - d2) / 3;
        double asymmetry = (fph - 2 * f0 + fmh) / h - 2 * (fph2 - 2 * f0 + fmh2) / (h / 2);
        double tolerance = 1e-7 * Math.max(1, Math.abs(analytic)) + 200 * noise / h;
        double threshold = tolerance / 4;
        boolean smooth = Math.abs(r1 - r2) <= threshold && Math.abs(asymmetry) <= threshold;
        return new Check(smooth, r2, tolerance);
    }
}
