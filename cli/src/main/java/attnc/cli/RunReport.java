package attnc.cli;

import attnc.ir.DType;
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
    void header(InputOptions random, String paramTiming) {
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

    void timing(String backend, long compileNanos, long runNanos, int repeat) {
        line("backend", backend + ": compile " + millis(compileNanos) + ", run " + millis(runNanos)
                + (repeat > 1 ? " (fastest of " + repeat + ")" : ""));
    }

    /** FLOPs count only visible pairs: 4·B·H·Nq·Nkv·D times the visible fraction, i.e. 4·D per visible pair. */
    void speed(long visible, long runNanos) {
        long pairs = (long) binding.size("B") * binding.size("H") * binding.size("Nq") * binding.size("Nkv");
        double flops = 4.0 * binding.size("D") * visible;
        line("visible", String.format(Locale.ROOT, "%.2f%% of %d (b, h, q, kv) pairs (counted by evaluating the mask with the reference)",
                pairs == 0 ? 0.0 : 100.0 * visible / pairs, pairs));
        line("speed", String.format(Locale.ROOT, "%.3f GFLOP/s (4*B*H*Nq*Nkv*D x visible fraction = %.4g FLOP)", flops / runNanos, flops));
    }

    /** The reference compared with itself: nothing to measure, but its output must still be finite. */
    boolean selfComparison(Result result) {
        boolean finite = finite(result);
        line("error", "max abs 0, max rel 0 (the backend is the reference itself)");
        if (!finite) line("FAILED", "the output contains NaN or infinity");
        return finite;
    }

    boolean comparison(Result result, Reference.Exact reference, DType dtype) {
        Accuracy accuracy = Accuracy.compare(result.out(), reference.out(), result.lse(), reference.lse());
        double tolerance = Accuracy.tolerance(dtype);
        if (!accuracy.finite()) {
            line("FAILED", "the output contains NaN or infinity");
            return false;
        }
        line("error", String.format(Locale.ROOT, "max abs %.3g, max rel %.3g (|out - ref| / max |ref|)%s against the reference",
                accuracy.maxAbs(), accuracy.maxRel(), result.lse() == null ? "" : String.format(Locale.ROOT, ", lse max abs %.3g", accuracy.lseMaxAbs())));
        boolean ok = accuracy.within(tolerance);
        line(ok ? "ok" : "FAILED", String.format(Locale.ROOT, "%s tolerance %.0e relative (lse %.0e absolute)",
                ok ? "within" : "outside", tolerance, tolerance * 10));
        return ok;
    }

    private static boolean finite(Result result) {
        for (float x : result.out()) if (!Float.isFinite(x)) return false;
        if (result.lse() != null) for (float x : result.lse()) if (Float.isNaN(x)) return false;
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
