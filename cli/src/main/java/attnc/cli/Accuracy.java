package attnc.cli;

import attnc.ir.DType;
import attnc.run.Backend;
import java.util.Locale;

/**
 * How far a backend's output is from the reference's. The relative error divides by the largest
 * reference magnitude, not element by element: outputs near zero are common (random V averages
 * out) and an element-wise ratio would report noise there as a large error. The LSE error is
 * relative to each row's magnitude (at least 1): an LSE of 40 carries float32 rounding forty
 * times that of an LSE of 1.
 *
 * @param firstBad the flat output index of the first non-finite element, or -1
 */
record Accuracy(double maxAbs, double maxRel, double lseMaxRel, boolean finite, long firstBad) {

    /**
     * Compares the kernel's rows {@code rows} (null: all) with the reference's, which holds only
     * those rows, in that order; {@code valueDim} elements per row.
     */
    static Accuracy compare(float[] out, float[] lse, int valueDim, int[] rows, double[] reference, double[] referenceLse) {
        double maxAbs = 0, largest = 0, lseMaxRel = 0;
        int count = reference.length / valueDim;
        for (int slot = 0; slot < count; slot++) {
            int row = rows == null ? slot : rows[slot];
            for (int d = 0; d < valueDim; d++) {
                float x = out[row * valueDim + d];
                if (!Float.isFinite(x)) return new Accuracy(Double.NaN, Double.NaN, Double.NaN, false, (long) row * valueDim + d);
                double r = reference[slot * valueDim + d];
                maxAbs = Math.max(maxAbs, Math.abs(x - r));
                largest = Math.max(largest, Math.abs(r));
            }
            if (lse != null && referenceLse != null) {
                float l = lse[row];
                double r = referenceLse[slot];
                if (Float.isNaN(l)) return new Accuracy(Double.NaN, Double.NaN, Double.NaN, false, (long) row * valueDim);
                boolean bothEmpty = l == Float.NEGATIVE_INFINITY && r == Double.NEGATIVE_INFINITY;
                if (!bothEmpty) lseMaxRel = Math.max(lseMaxRel, Math.abs(l - r) / Math.max(1.0, Math.abs(r)));
            }
        }
        return new Accuracy(maxAbs, largest == 0 ? maxAbs : maxAbs / largest, lseMaxRel, true, -1);
    }

    boolean within(Tolerance tolerance) {
        return finite && maxRel <= tolerance.value() && !(lseMaxRel > tolerance.value());
    }

    /** An accepted relative error and why it is that large. */
    record Tolerance(double value, String reason) {
        /**
         * The larger of what the inputs' dtype allows (fp32: sums over thousands of terms in
         * another order, ~1e-6 each, so 1e-4 leaves margin; bf16 inputs carry 8 mantissa bits,
         * ~4e-3 per value) and what the backend's own arithmetic allows (ten times its stated
         * precision: a GPU kernel rounds weights to bf16 whatever its inputs).
         */
        static Tolerance of(Backend backend, DType dtype) {
            double byInputs = dtype == DType.FLOAT32 ? 1e-4 : 2e-2;
            double byBackend = 10 * backend.precision();
            if (byBackend > byInputs) {
                return new Tolerance(byBackend, String.format(Locale.ROOT, "10 x the %s backend's precision %.0e", backend.name(), backend.precision()));
            }
            return new Tolerance(byInputs, dtype.spelling() + " inputs");
        }
    }
}
