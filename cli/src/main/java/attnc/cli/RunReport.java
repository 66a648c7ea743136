package attnc.cli;

import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.reference.Reference;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Collectors;

/** The lines {@code attnc run} prints, one concern per line, each starting with a fixed-width label. */
final class RunReport {
    private final PrintWriter out;
    private final Pattern pattern;
    private final Path file;
    private final Binding binding;
    private final Problem problem;

    RunReport(PrintWriter out, Pattern pattern, Path file, Binding binding, Problem problem) {
        this.out = out;
        this.pattern = pattern;
        this.file = file;
        this.binding = binding;
        this.problem = problem;
    }

    /** @param random the options the inputs were drawn with, or null when they were read from files */
    void header(RandomData random, String paramTiming) {
        line("pattern", pattern.name() + " (" + file + ")");
        line("shape", binding.sizes().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey(
                        java.util.Comparator.comparingInt(RunReport::sizeOrder).thenComparing(java.util.Comparator.naturalOrder())))
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "))
                + ", " + problem.q().dtype() + ", query offset " + binding.queryOffset());
        if (!binding.params().isEmpty()) {
            line("params", binding.params().entrySet().stream().map(e -> e.getKey() + "=" + Printer.expr(e.getValue()))
                    .collect(Collectors.joining(" ")) + " (" + paramTiming + ")");
        }
        line("data", random == null ? "read from --inputs" : "q, k, v uniform in [-1, 1), seed " + random.seed);
        for (Input input : pattern.inputs()) {
            line("input", input.name() + ": " + input.dtype() + problem.inputs().get(input.name()).shapeText()
                    + (random == null ? "" : ", " + RandomInputs.describe(input.dtype(), random.intBound)));
        }
    }

    void notes(java.util.List<String> notes) {
        if (!notes.isEmpty()) line("note", String.join("; ", notes));
    }

    /** Compile time, and the timed runs' median and spread (after warm-up, so JIT compilation is not in them). */
    void timing(String backend, long compileNanos, Timing timing) {
        line("backend", backend + ": compile " + millis(compileNanos) + ", run " + millis(timing.medianNanos())
                + (timing.runs() > 1 ? String.format(Locale.ROOT, " median of %d (min %.3f, max %.3f ms)", timing.runs(),
                timing.minNanos() / 1e6, timing.maxNanos() / 1e6) : "")
                + (timing.warmups() > 0 ? " after " + timing.warmups() + " warm-up run" + (timing.warmups() == 1 ? "" : "s") : " (no warm-up)"));
    }

    /** The kernel's own median (Kernel.medianMillis: device work on resident data), apart from the end-to-end calls above. */
    void deviceTime(double millis, int runs) {
        line("kernel", String.format(Locale.ROOT, "%.3f ms median of %d, device work only (the run time above is end to end: "
                + "uploads, launch, download)", millis, runs));
    }

    /**
     * FLOPs count only visible pairs: 2·B·H·Nq·Nkv·(D + Dv) times the visible fraction, i.e. 2·D
     * for q·k and 2·Dv for p·v per visible pair; {@code visibleFraction} is NaN when it was not
     * counted (then dense FLOPs).
     */
    void speed(double visibleFraction, String counted, long runNanos) {
        long pairs = (long) binding.size("B") * binding.size("H") * binding.size("Nq") * binding.size("Nkv");
        double perPair = 2.0 * (binding.size("D") + binding.size("Dv"));
        if (Double.isNaN(visibleFraction)) {
            line("visible", "not counted (" + counted + ")");
            line("speed", String.format(Locale.ROOT, "%.3f GFLOP/s dense (2*B*H*Nq*Nkv*(D+Dv) = %.4g FLOP, as if every pair were visible)",
                    perPair * pairs / runNanos, perPair * pairs));
            return;
        }
        double flops = perPair * visibleFraction * pairs;
        line("visible", String.format(Locale.ROOT, "%.2f%% of %d (b, h, q, kv) pairs (%s)", 100.0 * visibleFraction, pairs, counted));
        line("speed", String.format(Locale.ROOT, "%.3f GFLOP/s (2*B*H*Nq*Nkv*(D+Dv) x visible fraction = %.4g FLOP)", flops / runNanos, flops));
    }

    /** The reference compared with itself: nothing to measure, but its output must still be finite. */
    boolean selfComparison(Result result) {
        line("error", "max abs 0, max rel 0 (the backend is the reference itself)");
        return finite(result, "the output");
    }

    /** {@code rows}: the rows the reference computed (null: all), in its order. */
    boolean comparison(Result result, Reference.Exact reference, int[] rows, String checked, Accuracy.Tolerance tolerance) {
        int valueDim = result.outShape()[3];
        Accuracy accuracy = Accuracy.compare(result.out(), result.lse(), valueDim, rows, reference.out(), reference.lse());
        if (!accuracy.finite()) return finite(result, "the output");
        line("error", String.format(Locale.ROOT, "max abs %.3g, max rel %.3g (|out - ref| / max |ref|)%s against the reference, %s",
                accuracy.maxAbs(), accuracy.maxRel(),
                result.lse() == null ? "" : String.format(Locale.ROOT, ", lse max rel %.3g (|lse - ref| / max(1, |ref|))", accuracy.lseMaxRel()),
                checked));
        boolean ok = accuracy.within(tolerance);
        line(ok ? "ok" : "FAILED", String.format(Locale.ROOT, "%s tolerance %.0e relative, out and lse (%s)",
                ok ? "within" : "outside", tolerance.value(), tolerance.reason()));
        return ok;
    }

    /** Without the reference: the output must at least be finite. */
    boolean unchecked(Result result) {
        line("error", "not measured (--check none)");
        return finite(result, "the output");
    }

    private boolean finite(Result result, String what) {
        float[] out = result.out();
        for (int i = 0; i < out.length; i++) {
            if (!Float.isFinite(out[i])) {
                line("FAILED", what + " has " + out[i] + " at " + NpyFolder.position(result.outShape(), i)
                        + " [b, h, q, d]");
                return false;
            }
        }
        if (result.lse() != null) {
            for (int i = 0; i < result.lse().length; i++) {
                if (Float.isNaN(result.lse()[i])) {
                    line("FAILED", "the lse has NaN at " + NpyFolder.position(java.util.Arrays.copyOf(result.outShape(), 3), i) + " [b, h, q]");
                    return false;
                }
            }
        }
        return true;
    }

    private void line(String label, String text) {
        out.printf(Locale.ROOT, "%-9s %s%n", label, text);
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }

    private static int sizeOrder(String size) {
        int standard = attnc.ir.Sizes.STANDARD.indexOf(size);
        return standard >= 0 ? standard : attnc.ir.Sizes.STANDARD.size();
    }
}
