package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.launch.Gradients;
import attnc.launch.Wrt;
import attnc.reference.ReferenceBackward;
import java.util.List;
import java.util.Set;

/**
 * How close a backward kernel's gradients must be to the reference's. The kernel computes in
 * fp32 and the reference in double on the same (already rounded) inputs, so bf16 and fp16
 * storage needs no looser bound.
 *
 * <p>dq, dk and dv: within 2e-5 of their scale, the largest magnitude among the three. Their
 * errors come from fp32 dot products of up to a few hundred terms (D 256, Dv 280 in the properties), weights recomputed from an fp32 LSE
 * (~1e-7·|LSE|), Δ taken from the fp32 output and sums over up to a few hundred keys or rows,
 * each ~1e-6 of the magnitudes summed. One scale for the three, not each its own: dq and dk can
 * cancel to zero while their terms do not (a row with one visible key has dS = P(dP − Δ) = 0
 * exactly), and fp32 reproduces such a zero only as well as its terms allow.
 *
 * <p>An input's gradient sums T terms dS · partial per element (T up to every (b, h, q, kv) pair
 * and every output element), each with an error of ~1e-6 of the term that does not cancel when
 * the terms do: Δ's fp32 error is shared by a whole row, and a row's dS sums to about zero under
 * softmax, so a per-head slope's gradient (the covariance of dS and |q − kv|) can be √T times
 * smaller than what its error is relative to. Its tolerance is 2e-5 · √T of the larger of its own
 * scale and dq, dk and dv's, with T = B·H·Nq·(Nkv + Dv), the number of terms any element can get;
 * or, where larger, 2e-5 of the sum of the element's terms' magnitudes (the reference's {@code
 * magnitudes}): a partial that grows with the shape, an ALiBi slope's |q − kv| up to Nkv, makes
 * each term's rounding that much larger than dq, dk and dv's scale.
 *
 * <p>Where everything is zero (nothing visible) the kernel must be exactly zero. NaN never
 * passes, and the kernel must return exactly the gradients asked for.
 */
final class GradientAgreement {
    static final double RELATIVE = 2e-5;

    private GradientAgreement() {}

    /**
     * {@code all}: the reference's every gradient ({@link Wrt#all}), of which {@code wanted} are
     * compared; {@code terms}: T, the most terms any input gradient's element sums.
     */
    static void check(ReferenceBackward.Exact all, Gradients actual, Set<Wrt> wanted, long terms, String what) {
        assertEquals(wanted, actual.values().keySet(), what + ": gradients returned");
        double operands = 0;
        for (Wrt w : List.of(Wrt.Q, Wrt.K, Wrt.V)) operands = Math.max(operands, largest(all.values().get(w), w, what));
        for (Wrt w : wanted) {
            double[] reference = all.values().get(w);
            double scale = Math.max(operands, largest(reference, w, what));
            double relative = w instanceof Wrt.Input ? RELATIVE * Math.sqrt(Math.max(1, terms)) : RELATIVE;
            compare(w, reference, all.magnitudes().get(w), actual.get(w).floats(), scale, relative * scale, what);
        }
    }

    /** T for a launch: B·H·Nq·(Nkv + Dv). */
    static long terms(attnc.launch.Problem problem) {
        int[] q = problem.q().shape();
        return (long) q[0] * q[1] * q[2] * (problem.k().dim(2) + problem.v().dim(3));
    }

    private static double largest(double[] reference, Wrt wrt, String what) {
        double largest = 0;
        for (double x : reference) {
            if (Double.isNaN(x)) fail(what + ": the reference's " + wrt.label() + " has NaN; the case is not well posed");
            largest = Math.max(largest, Math.abs(x));
        }
        return largest;
    }

    /** {@code magnitudes}: each element's Σ |term|, or null (dq, dk, dv). */
    private static void compare(Wrt wrt, double[] reference, double[] magnitudes, float[] kernel, double scale, double tolerance, String what) {
        assertEquals(reference.length, kernel.length, what + ": " + wrt.label() + " size");
        for (int i = 0; i < reference.length; i++) {
            double allowed = magnitudes == null ? tolerance : Math.max(tolerance, RELATIVE * magnitudes[i]);
            if (Float.isNaN(kernel[i]) || Math.abs(reference[i] - kernel[i]) > allowed) {
                fail(what + ": " + wrt.label() + "[" + i + "] = " + kernel[i] + ", reference " + reference[i] + " (tolerance " + allowed
                        + ", the gradient's scale " + scale + (magnitudes == null ? "" : ", its terms' magnitudes " + magnitudes[i]) + ")");
            }
        }
    }
}
