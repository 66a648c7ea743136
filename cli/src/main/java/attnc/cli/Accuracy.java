package attnc.cli;

import attnc.ir.DType;

/**
 * How far a backend's output is from the reference's. The relative error divides by the largest
 * reference magnitude, not element by element: outputs near zero are common (random V averages
 * out) and an element-wise ratio would report noise there as a large error.
 */
record Accuracy(double maxAbs, double maxRel, double lseMaxAbs, boolean finite) {

    static Accuracy compare(float[] out, double[] reference, float[] lse, double[] referenceLse) {
        double maxAbs = 0, largest = 0;
        boolean finite = true;
        for (int i = 0; i < out.length; i++) {
            finite &= Float.isFinite(out[i]);
            maxAbs = Math.max(maxAbs, Math.abs(out[i] - reference[i]));
            largest = Math.max(largest, Math.abs(reference[i]));
        }
        double lseMaxAbs = 0;
        if (lse != null && referenceLse != null) {
            for (int i = 0; i < lse.length; i++) {
                boolean bothEmpty = lse[i] == Float.NEGATIVE_INFINITY && referenceLse[i] == Double.NEGATIVE_INFINITY;
                if (Float.isNaN(lse[i])) finite = false;
                if (!bothEmpty) lseMaxAbs = Math.max(lseMaxAbs, Math.abs(lse[i] - referenceLse[i]));
            }
        }
        if (!finite) return new Accuracy(Double.NaN, Double.NaN, Double.NaN, false);
        return new Accuracy(maxAbs, largest == 0 ? maxAbs : maxAbs / largest, lseMaxAbs, true);
    }

    /**
     * Accepted relative error per input dtype: fp32 kernels reorder sums over thousands of terms
     * (~1e-6 each, so 1e-4 leaves margin); bf16 inputs carry 8 mantissa bits (~4e-3 per value).
     */
    static double tolerance(DType dtype) {
        return dtype == DType.FLOAT32 ? 1e-4 : 2e-2;
    }

    boolean within(double tolerance) {
        return finite && maxRel <= tolerance && lseMaxAbs <= tolerance * 10;
    }
}
