package attnc.tune;

import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Times every configuration a backend offers for one pattern and shape, honestly: each
 * configuration is compiled, checked against the default configuration's output (a fast wrong
 * kernel is no candidate), warmed up, then timed {@code repeats} times on fresh inputs; its time
 * is the median ({@link Kernel#medianMillis}: whole calls on the CPU, device work on resident data
 * for a GPU kernel). The default is timed the same way, so the speed-up is measured, not assumed.
 */
public final class Tuner {
    /** A configuration's outcome: its median time, or why it was dropped. */
    public record Trial(TuningConfig config, double millis, String rejected) {}

    public record Outcome(TuningConfig best, double bestMillis, double defaultMillis, List<Trial> trials) {
        public double speedup() { return defaultMillis / bestMillis; }
    }

    /**
     * A configuration replaces the default only if it is this much faster: on a shared machine two
     * timings of one kernel differ by several percent, and a tuner that caches noise slows
     * launches down as often as it speeds them up.
     */
    public static final double MIN_GAIN = 1.05;

    /** How many times the backend's precision, relative to the output's magnitude, a configuration may differ from the default. */
    static final double AGREEMENT_FACTOR = 10;

    private final Backend backend;
    private final Pattern pattern;
    private final Supplier<Problem> freshInputs;
    private final PrintStream progress;
    private final int warmups;
    private final int repeats;

    public Tuner(Backend backend, Pattern pattern, Supplier<Problem> freshInputs, PrintStream progress, int warmups, int repeats) {
        this.backend = backend;
        this.pattern = pattern;
        this.freshInputs = freshInputs;
        this.progress = progress;
        this.warmups = warmups;
        this.repeats = repeats;
    }

    public Outcome tune() {
        Problem probe = freshInputs.get();
        Binding binding = Binding.of(pattern, probe);
        List<TuningConfig> space = new ArrayList<>(backend.configurations(pattern, binding));
        // The default is timed once, below; timing it again as a candidate would only measure noise.
        backend.defaultConfiguration(pattern, binding).ifPresent(space::remove);
        Result expected;
        double defaultMillis;
        try (Kernel fallback = backend.compile(pattern)) {
            expected = fallback.forward(probe);
            defaultMillis = time(fallback);
        }
        List<Trial> trials = new ArrayList<>();
        TuningConfig best = null;
        double bestMillis = defaultMillis;
        ProgressBar bar = new ProgressBar(progress, space.size());
        for (TuningConfig config : space) {
            Trial trial = trial(config, probe, expected);
            trials.add(trial);
            if (trial.rejected() == null && trial.millis() < bestMillis && trial.millis() * MIN_GAIN < defaultMillis) {
                best = config;
                bestMillis = trial.millis();
            }
            bar.step(best == null ? "default" : best.toString(), bestMillis);
        }
        bar.done();
        return new Outcome(best, bestMillis, defaultMillis, trials);
    }

    private Trial trial(TuningConfig config, Problem probe, Result expected) {
        try (Kernel kernel = backend.compile(pattern, config)) {
            Result got = kernel.forward(probe);
            double difference = maxDifference(expected.out(), got.out());
            double allowed = AGREEMENT_FACTOR * backend.precision() * Math.max(1.0, maxMagnitude(expected.out()));
            if (!(difference <= allowed)) {
                return new Trial(config, Double.NaN, "output differs from the default by " + difference);
            }
            return new Trial(config, time(kernel), null);
        } catch (RuntimeException e) {
            return new Trial(config, Double.NaN, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private double time(Kernel kernel) {
        return kernel.medianMillis(freshInputs, warmups, repeats);
    }

    static double maxMagnitude(float[] a) {
        double max = 0;
        for (float x : a) max = Math.max(max, Math.abs(x));
        return max;
    }

    static double maxDifference(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (Double.isNaN(d)) return Double.NaN;
            max = Math.max(max, d);
        }
        return max;
    }

    /** A one-line bar on a terminal; a line per tenth otherwise, so logs stay readable. */
    private static final class ProgressBar {
        private final PrintStream out;
        private final int total;
        private final boolean terminal = System.console() != null;
        private int done;
        private int lastTenth = -1;

        ProgressBar(PrintStream out, int total) {
            this.out = out;
            this.total = Math.max(1, total);
        }

        void step(String best, double bestMillis) {
            done++;
            int width = 30;
            int filled = done * width / total;
            String line = "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + done + "/" + total
                    + String.format("  best %.3f ms (%s)", bestMillis, best);
            if (terminal) {
                out.print("\r" + line);
            } else if (done * 10 / total != lastTenth) {
                lastTenth = done * 10 / total;
                out.println(line);
            }
        }

        void done() {
            if (terminal) out.println();
        }
    }
}
