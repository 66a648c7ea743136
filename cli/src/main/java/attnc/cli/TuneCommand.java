package attnc.cli;

import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.run.Backend;
import attnc.tune.ShapeClass;
import attnc.tune.Tuner;
import attnc.tune.TuningCache;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc tune FILE}: times every configuration the backend offers for this pattern and
 * shape, keeps the best in the tuning cache (which {@code run}, the runtime API and generated
 * wrappers then use for launches of this shape class), and prints tuned against default.
 * {@code attnc tune --report} lists what the cache holds.
 */
@Command(name = "tune", description = {
        "Finds the fastest configuration (tile sizes, ...) of a backend for a pattern and shape and caches it.",
        "Each configuration is checked against the default's output; then the default and every candidate get the same",
        "warm-up and are timed in interleaved rounds on fresh inputs (median of the rounds)."})
final class TuneCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", arity = "0..1", description = "The .attn pattern file (not needed with --report).")
    private Path file;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "jvm", description = "Backend to tune (default: ${DEFAULT-VALUE}).")
    private String backendName;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2", description = "Untimed runs per configuration (default: ${DEFAULT-VALUE}).")
    private int warmups;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "5", description = "Timing rounds, one run of every configuration each; the median counts (default: ${DEFAULT-VALUE}).")
    private int repeats;

    @Option(names = "--report", description = "List the tuning cache: tuned against default time per pattern and shape.")
    private boolean report;

    @Option(names = "--cache", paramLabel = "FILE", description = "Tuning cache file (default: $ATTNC_CACHE_DIR, $XDG_CACHE_HOME/attnc or ~/.cache/attnc, tuning.json).")
    private Path cacheFile;

    @Mixin
    private ProblemOptions problemOptions;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        TuningCache cache = new TuningCache(cacheFile != null ? cacheFile : TuningCache.defaultLocation(),
                message -> err.println("attnc: warning: " + message));
        if (report) return report(out, cache);
        if (file == null) throw new UserError("tune needs a FILE (or --report)");
        if (warmups < 0 || repeats < 1) throw new UserError("--warmup must be >= 0 and --repeats >= 1");
        Pattern pattern = Passes.optimize(Patterns.load(file), Map.of());
        Backend backend = Backend.named(backendName).orElseThrow(() ->
                new UserError("unknown backend '" + backendName + "'; available: " + String.join(", ", Backend.names())));
        if (!backend.available()) throw new UserError("backend '" + backendName + "' cannot run on this machine");
        Map<String, Expr> params = Patterns.paramValues(pattern, problemOptions.inputOptions.params);
        AtomicLong seed = new AtomicLong(problemOptions.inputOptions.random.seed);
        Problem first = problemOptions.build(pattern, params, seed.get());
        Binding binding = Binding.of(pattern, first);
        int candidates = backend.configurations(pattern, binding).size();
        if (candidates == 0) throw new UserError("the " + backendName + " backend has nothing to tune");
        out.println("tuning    " + pattern.name() + " on " + backendName + " (" + backend.device() + "), shape class "
                + ShapeClass.of(binding) + ", " + candidates + " configurations");
        out.flush();
        Tuner tuner = new Tuner(backend, pattern, () -> build(pattern, params, seed.getAndIncrement()),
                new PrintStream(System.err, true), warmups, repeats);
        Tuner.Outcome outcome;
        try {
            outcome = tuner.tune();
        } catch (attnc.launch.ShapeException e) {
            throw e;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // The default configuration cannot run this launch (a head dimension the backend does not support, say).
            throw new UserError("the " + backendName + " backend cannot run this launch: " + e.getMessage());
        }
        for (Tuner.Trial trial : outcome.trials()) {
            out.printf("  %-28s %s%n", trial.config(), trial.rejected() == null ? String.format("%.3f ms", trial.millis()) : "rejected: " + trial.rejected());
        }
        out.printf("default   %.3f ms%n", outcome.defaultMillis());
        if (outcome.best() == null) {
            out.println("best      the default (no configuration beat it by " + Math.round((Tuner.MIN_GAIN - 1) * 100) + "% or more); cache unchanged");
            return 0;
        }
        out.printf("best      %s: %.3f ms, %.2fx the default%n", outcome.best(), outcome.bestMillis(), outcome.speedup());
        String key = cache.key(pattern, binding, first.q().dtype(), backendName, backend.device());
        cache.put(key, new TuningCache.Entry(pattern.name(), ShapeClass.of(binding).toString(), backendName, backend.device(),
                outcome.best().toString(), outcome.bestMillis(), outcome.defaultMillis(), Instant.now().toString()));
        out.println("cached    " + cache.file());
        return 0;
    }

    private Problem build(Pattern pattern, Map<String, Expr> params, long seed) {
        try {
            return problemOptions.build(pattern, params, seed);
        } catch (IOException e) {
            throw new UserError(e.getMessage());
        }
    }

    private static int report(PrintWriter out, TuningCache cache) {
        var entries = cache.current();
        if (entries.isEmpty()) {
            out.println("the tuning cache " + cache.file() + " is empty");
            return 0;
        }
        out.printf("%-20s %-34s %-8s %-22s %-24s %10s %10s %8s%n", "pattern", "shape class", "backend", "device", "config", "default", "tuned", "speedup");
        for (TuningCache.Entry e : entries.values()) {
            out.printf("%-20s %-34s %-8s %-22s %-24s %8.3fms %8.3fms %7.2fx%n", e.pattern(), e.shape(), e.backend(), e.device(),
                    e.config(), e.defaultMillis(), e.millis(), e.defaultMillis() / e.millis());
        }
        return 0;
    }
}
