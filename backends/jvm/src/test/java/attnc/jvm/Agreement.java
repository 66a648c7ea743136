package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.launch.Result;
import attnc.reference.Reference;

/**
 * How close a kernel must be to the reference. The kernel computes in fp32 and the reference in
 * double on the same (already rounded) inputs, so bf16 and fp16 storage needs no looser bound:
 * the only differences are fp32 rounding in dot products (each term about 1e-7 relative, a few
 * hundred terms), exp/tanh in fp32, and the order of summation over the keys, each about 1e-6
 * relative to the accumulator o. The bound is 2e-5 times o's scale (its largest magnitude, at
 * least 1): softmax outputs are convex combinations of values in [-1, 1], unnormalised ones grow
 * with the key count. Where an output transform follows, o's error passes through it: o is
 * checked against the reference's o when the kernel keeps it, and the output against 2e-5 times
 * the larger of its own scale and o's (a transform that squashes o, tanh(o) times an input in
 * [-1, 1], does not shrink o's error below o's scale times its slope, which is at most about 1;
 * one that grows o, exp(o), grows the output's scale with it).
 * NaN never passes, and −∞ LSE (fully masked rows) must match exactly.
 */
final class Agreement {
    static final double RELATIVE = 2e-5;

    private Agreement() {}

    static void check(Reference.Exact expected, Result actual, String what) {
        check(expected, actual, what, RELATIVE);
    }

    /** As above with {@code relative} in place of {@link #RELATIVE}, for dot products longer than a few hundred terms. */
    static void check(Reference.Exact expected, Result actual, String what, double relative) {
        assertEquals(expected.out().length, actual.out().length, what + ": output size");
        double scale = scale(expected.out());
        if (expected.preOutput() != null) {
            double accumulator = scale(expected.preOutput());
            if (actual.preOutput() != null) close(expected.preOutput(), actual.preOutput(), relative * accumulator, what + ": o before the output transform");
            scale = Math.max(scale, accumulator);
        }
        close(expected.out(), actual.out(), relative * scale, what + ": output");
        if (expected.lse() == null) return;
        assertTrue(actual.lse() != null, what + ": LSE missing");
        for (int i = 0; i < expected.lse().length; i++) {
            double e = expected.lse()[i], a = actual.lse()[i];
            boolean ok = e == Double.NEGATIVE_INFINITY ? a == Float.NEGATIVE_INFINITY
                    : !Double.isNaN(a) && Math.abs(e - a) <= relative * Math.max(1, Math.abs(e));
            if (!ok) fail(what + ": lse[" + i + "] = " + a + ", reference " + e);
        }
    }

    private static double scale(double[] values) {
        double scale = 1;
        for (double x : values) if (Double.isFinite(x)) scale = Math.max(scale, Math.abs(x));
        return scale;
    }

    private static void close(double[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": size");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(a) || Math.abs(e - a) > tolerance) {
                fail(what + "[" + i + "] = " + a + ", reference " + e + " (tolerance " + tolerance + ")");
            }
        }
    }
}
