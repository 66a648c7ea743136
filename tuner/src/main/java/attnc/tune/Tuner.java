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
 * configuration is compiled and checked against the default configuration's output (a fast wrong
 * kernel is no candidate); then the default and every candidate get the same warm-up, and are
 * timed in rounds, one run of each per round in a rotating order, so a machine that slows down
 * or speeds up midway (another job, thermal limits, the JIT) weighs on all of them alike. A
 * configuration's time is the median of its rounds ({@link Kernel#medianMillis} of one run: a
 * whole call on the CPU, device work on resident data for a GPU kernel).
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
        // The default is one of the timed kernels already; a second copy of it would only measure noise.
        backend.defaultConfiguration(pattern, binding).ifPresent(space::remove);
        List<Kernel> kernels = new ArrayList<>();
        List<Trial> trials = new ArrayList<>();
        try {
            Kernel fallback = backend.compile(pattern);
            kernels.add(fallback);
            Result expected = fallback.forward(probe);
            List<TuningConfig> timed = new ArrayList<>();
            for (TuningConfig config : space) {
                Kernel kernel = check(config, probe, expected, trials);
                if (kernel != null) {
                    kernels.add(kernel);
                    timed.add(config);
                }
            }
            ProgressBar bar = new ProgressBar(progress, kernels.size() * (1 + repeats));
            for (Kernel kernel : kernels) {
                if (warmups > 0) kernel.medianMillis(freshInputs, warmups - 1, 1);
                bar.step("warming up");
            }
            double[][] rounds = new double[kernels.size()][repeats];
            for (int round = 0; round < repeats; round++) {
                for (int i = 0; i < kernels.size(); i++) {
                    int k = (i + round) % kernels.size();
                    rounds[k][round] = kernels.get(k).medianMillis(freshInputs, 0, 1);
                    bar.step("timing round " + (round + 1) + "/" + repeats);
                }
            }
            bar.done();
            double defaultMillis = median(rounds[0]);
            TuningConfig best = null;
            double bestMillis = defaultMillis;
            for (int k = 1; k < kernels.size(); k++) {
                double millis = median(rounds[k]);
                trials.add(new Trial(timed.get(k - 1), millis, null));
                if (millis < bestMillis && millis * MIN_GAIN < defaultMillis) {
                    best = timed.get(k - 1);
                    bestMillis = millis;
                }
            }
            trials.sort(java.util.Comparator.comparingInt(t -> space.indexOf(t.config())));
            return new Outcome(best, bestMillis, defaultMillis, trials);
        } finally {
            kernels.forEach(Kernel::close);
        }
    }

    /** The compiled configuration if it agrees with the default's output; else null, with the reason among the trials. */
    private Kernel check(TuningConfig config, Problem probe, Result expected, List<Trial> trials) {
        Kernel kernel = null;
        try {
            kernel = backend.compile(pattern, config);
            Result got = kernel.forward(probe);
            double difference = maxDifference(expected.out(), got.out());
            double allowed = AGREEMENT_FACTOR * backend.precision() * Math.max(1.0, maxMagnitude(expected.out()));
            if (difference <= allowed) return kernel;
            trials.add(new Trial(config, Double.NaN, "output differs from the default by " + difference));
        } catch (RuntimeException e) {
            trials.add(new Trial(config, Double.NaN, e.getClass().getSimpleName() + ": " + e.getMessage()));
        }
        if (kernel != null) kernel.close();
        return null;
    }

    private static double median(double[] samples) {
        double[] sorted = samples.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
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

        void step(String stage) {
            done++;
            int width = 30;
            int filled = done * width / total;
            String line = "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + done + "/" + total + "  " + stage;
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
