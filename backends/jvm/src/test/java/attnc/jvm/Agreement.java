package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.launch.Result;
import attnc.reference.Reference;

/**
 * How close a kernel must be to the reference. The kernel computes in fp32 and the reference in
 * double on the same (already rounded) inputs, so bf16 and fp16 storage needs no looser bound:
 * the only differences are fp32 rounding in dot products of up to 256 terms, exp/tanh in fp32,
 * and the order of summation over at most a few hundred keys, each about 1e-6 relative. The
 * bound is 2e-5 times the output's scale (its largest magnitude, at least 1): softmax outputs
 * are convex combinations of values in [-1, 1], unnormalised ones grow with the key count.
 * NaN never passes, and −∞ LSE (fully masked rows) must match exactly.
 */
final class Agreement {
    static final double RELATIVE = 2e-5;

    private Agreement() {}

    static void check(Reference.Exact expected, Result actual, String what) {
        assertEquals(expected.out().length, actual.out().length, what + ": output size");
        double scale = 1;
        for (double x : expected.out()) if (Double.isFinite(x)) scale = Math.max(scale, Math.abs(x));
        double tolerance = RELATIVE * scale;
        for (int i = 0; i < expected.out().length; i++) {
            double e = expected.out()[i], a = actual.out()[i];
            if (Double.isNaN(a) || Math.abs(e - a) > tolerance) {
                fail(what + ": output[" + i + "] = " + a + ", reference " + e + " (tolerance " + tolerance + ")");
            }
        }
        if (expected.lse() == null) return;
        assertTrue(actual.lse() != null, what + ": LSE missing");
        for (int i = 0; i < expected.lse().length; i++) {
            double e = expected.lse()[i], a = actual.lse()[i];
            boolean ok = e == Double.NEGATIVE_INFINITY ? a == Float.NEGATIVE_INFINITY
                    : !Double.isNaN(a) && Math.abs(e - a) <= RELATIVE * Math.max(1, Math.abs(e));
            if (!ok) fail(what + ": lse[" + i + "] = " + a + ", reference " + e);
        }
    }
}
