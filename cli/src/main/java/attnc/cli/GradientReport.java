package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.reference.ReferenceBackward;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;

/**
 * What {@code attnc run --grad} adds after the forward: the backend's backward pass on the
 * forward's result and a seeded random dOut (uniform in [-1, 1)), timed, then the reference
 * backward on the same and one line per gradient ({@code grad dq}, {@code grad dk}, {@code grad dv},
 * {@code grad <input>}) with its relative L2 error, max abs error and tolerance. With
 * {@code --deterministic}, the deterministic backward, run at least twice: its runs must agree bit
 * for bit.
 *
 * <p>Tolerance: {@link #relative} (1e-5 for float32 data) times the gradient's scale, the larger
 * of its own largest reference magnitude and that of dq, dk and dv: a gradient can cancel to
 * near zero while the terms it sums, and so their fp32 rounding, are as large as dq's. An input's
 * gradient sums up to T = B·H·Nq·(Nkv + Dv) terms into one element (every pair into a per-head
 * slope), whose rounding does not cancel with them: its tolerance is √T times larger. NaN fails.
 */
final class GradientReport {
    private final PrintWriter out;
    private final boolean deterministic;

    /** With {@code deterministic}, the backend's deterministic backward, whose runs must agree bit for bit. */
    GradientReport(PrintWriter out, boolean deterministic) {
        this.out = out;
        this.deterministic = deterministic;
    }

    /**
     * Relative tolerance per data type: fp32 kernels keep ~1e-6 per term, so 1e-5; bfloat16 and
     * float16 data get the forward's 2e-2, as GPU kernels round P and dS to 16 bits.
     */
    static double relative(DType dtype) {
        return dtype == DType.FLOAT32 ? 1e-5 : 2e-2;
    }

    /**
     * {@code launch} is what the kernel runs (without params folded into it), {@code problem} what
     * the reference runs with {@code pattern}; false when a gradient is outside its tolerance.
     */
    boolean run(String backend, Pattern pattern, Problem problem, Kernel kernel, Problem launch, Result forward, long seed, int repeat) {
        Tensor dOut = Tensor.random(DType.FLOAT32, forward.outShape(), new Random(seed ^ 0x6A09E667F3BCC908L));
        Gradients gradients = null, first = null;
        long fastest = Long.MAX_VALUE;
        // A deterministic backward runs at least twice, so that the bits of two runs can be compared.
        int runs = deterministic ? Math.max(2, repeat) : repeat;
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            gradients = backward(backend, kernel, launch, forward, dOut);
            fastest = Math.min(fastest, System.nanoTime() - start);
            if (first == null) first = gradients;
        }
        line("backward", String.format(Locale.ROOT, "%s: %.3f ms%s, every gradient%s, dOut uniform in [-1, 1) (seed %d)", backend, fastest / 1e6,
                runs > 1 ? " (fastest of " + runs + ")" : "", deterministic ? ", deterministic" : "", seed));
        boolean ok = true;
        if (deterministic) {
            Optional<String> differs = first.firstDifference(gradients);
            ok = differs.isEmpty();
            line(ok ? "ok" : "FAILED", differs.map(d -> "runs differ: " + d).orElse("every gradient bitwise the same over " + runs + " runs"));
        }
        out.flush();
        ReferenceBackward.Exact exact = ReferenceBackward.run(pattern, problem, forward, dOut, Wrt.all(pattern));
        double operands = 0;
        for (Wrt w : List.of(Wrt.Q, Wrt.K, Wrt.V)) operands = Math.max(operands, largest(exact.values().get(w)));
        int[] q = problem.q().shape();
        double terms = (double) q[0] * q[1] * q[2] * (problem.k().dim(2) + problem.v().dim(3));
        double relative = relative(problem.q().dtype());
        for (Wrt w : Wrt.all(pattern)) {
            double[] reference = exact.values().get(w);
            float[] kernelValues = gradients.get(w).floats();
            double scale = Math.max(operands, largest(reference));
            boolean input = w instanceof Wrt.Input;
            double tolerance = relative * scale * (input ? Math.sqrt(terms) : 1);
            double errorSquares = 0, referenceSquares = 0, maxAbs = 0;
            boolean finite = true;
            for (int i = 0; i < reference.length; i++) {
                double error = kernelValues[i] - reference[i];
                finite &= Float.isFinite(kernelValues[i]);
                errorSquares += error * error;
                referenceSquares += reference[i] * reference[i];
                maxAbs = Math.max(maxAbs, Math.abs(error));
            }
            boolean within = finite && maxAbs <= tolerance;
            ok &= within;
            String l2 = referenceSquares == 0 ? "n/a (reference all 0)" : String.format(Locale.ROOT, "%.2e", Math.sqrt(errorSquares / referenceSquares));
            out.printf(Locale.ROOT, "grad %-12s relative L2 %s, max abs %s (tolerance %.1e = %.0e x %sscale %.3g): %s%n", w.label(), l2,
                    finite ? String.format(Locale.ROOT, "%.2e", maxAbs) : "NaN/inf", tolerance, relative,
                    input ? String.format(Locale.ROOT, "sqrt(T = %.3g) x ", terms) : "", scale, within ? "ok" : "FAILED");
        }
        line(ok ? "ok" : "FAILED", "gradients " + (ok ? "within" : "outside") + " tolerance (scale: the larger of the gradient's and dq, dk, dv's"
                + " largest reference magnitude; inputs sum up to T = B*H*Nq*(Nkv+Dv) terms)");
        return ok;
    }

    private Gradients backward(String backend, Kernel kernel, Problem launch, Result forward, Tensor dOut) {
        try {
            return kernel.backward(launch, forward, dOut, Wrt.all(kernel.pattern()), deterministic);
        } catch (ShapeException e) {
            throw e;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new UserError("the " + backend + " backend cannot run this backward pass: " + e.getMessage());
        }
    }

    private static double largest(double[] values) {
        double largest = 0;
        for (double x : values) largest = Math.max(largest, Math.abs(x));
        return largest;
    }

    private void line(String label, String text) {
        out.printf(Locale.ROOT, "%-9s %s%n", label, text);
    }
}
