package attnc.bench.jmh;

import attnc.bench.Workload;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The CPU benchmark on JMH, one command: the FMA peak and read bandwidth at each thread count,
 * the kernel's tile products alone ({@link TileProducts}) at one thread, then every case × thread count for the generated kernel and (with {@code --peer ort}) ONNX
 * Runtime, in one run on the same inputs; prints the table with GFLOP/s of visible work, % of
 * the measured peak at that thread count, the ratio to ONNX Runtime, the scaling table and each
 * case's roofline position. {@code --npy DIR} writes every case's inputs and attnc's output as
 * .npy for {@code bench/cpu/peers.py} (PyTorch SDPA and FlexAttention on the same data) and
 * {@code DIR/attnc.tsv} with the times (appended to by each run), so the Python side prints its ratios in the same call.
 *
 * <pre>bench/jmh [--quick] [--cases dense,causal] [--n 2048] [--d 64] [--threads 1,2] [--peer ort|none]
 *           [--forks 2] [--warmup 4] [--iterations 5] [--time 1] [--npy DIR] [--json FILE]</pre>
 */
public final class JmhBench {
    private JmhBench() {}

    /** A benchmark configuration: (case, N, D) and its thread count. */
    record Key(String pattern, int n, int d, int threads) {}

    /** JMH's score (ms per call, or ops/s) and its 99.9% half-interval. */
    record Score(double value, double error) {}

    public static void main(String[] args) throws Exception {
        Arguments a = new Arguments(args);
        boolean quick = a.flag("--quick");
        List<String> cases = a.list("--cases", quick ? "dense,causal" : "dense,causal,sliding_window,document,softcap_causal,alibi");
        List<Integer> ns = a.ints("--n", quick ? "2048" : "2048,4096"), ds = a.ints("--d", "64");
        List<Integer> threads = a.ints("--threads", String.valueOf(Runtime.getRuntime().availableProcessors()));
        String peer = a.value("--peer", "ort");
        int forks = Integer.parseInt(a.value("--forks", "2")), warmup = Integer.parseInt(a.value("--warmup", "4"));
        int iterations = Integer.parseInt(a.value("--iterations", "5"));
        double seconds = Double.parseDouble(a.value("--time", "1"));
        String npy = a.value("--npy", ""), json = a.value("--json", "");
        a.refuseUnknown();
        for (String c : cases) Workload.named(c, 64, 64);
        if (!peer.equals("ort") && !peer.equals("none")) throw new IllegalArgumentException("--peer " + peer + ": expected ort or none");

        PrintStream out = System.out;
        out.printf(Locale.ROOT, "%s; %d processors; JVM %s; forks %d, warm-up %d × %.1f s, %d × %.1f s measured%n", cpuModel(),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), forks, warmup, seconds, iterations, seconds);

        Map<Integer, Score> peak = new TreeMap<>(), bandwidth = new TreeMap<>();
        for (int t : new TreeSet<>(withOne(threads))) {
            // Both reach their steady state within a second (no generated class to compile): fewer rounds than the kernels.
            peak.put(t, single(run(base(forks, Math.min(warmup, 2), Math.min(iterations, 3), seconds).include(FmaPeak.class.getName()).threads(t))));
            if (t == 1 || t == max(threads)) {
                bandwidth.put(t, single(run(base(forks, Math.min(warmup, 2), Math.min(iterations, 3), seconds).include(StreamRead.class.getName()).threads(t))));
            }
        }

        Map<String, Score> products = new TreeMap<>();
        for (RunResult r : run(base(forks, Math.min(warmup, 2), Math.min(iterations, 3), seconds).include(TileProducts.class.getName() + "\\.").threads(1))) {
            products.put(r.getParams().getBenchmark().substring(r.getParams().getBenchmark().lastIndexOf('.') + 1), score(r));
        }

        ChainedOptionsBuilder kernels = base(forks, warmup, iterations, seconds).include(Attention.class.getName() + "\\.")
                .param("pattern", cases.toArray(String[]::new)).param("n", strings(ns)).param("d", strings(ds)).param("threads", strings(threads));
        if (peer.equals("ort")) kernels.include(Onnx.class.getName() + "\\.");
        if (!json.isEmpty()) kernels.resultFormat(ResultFormatType.JSON).result(json);
        Map<Key, Score> attnc = new LinkedHashMap<>(), ort = new LinkedHashMap<>();
        for (RunResult r : run(kernels)) {
            var p = r.getParams();
            Key key = new Key(p.getParam("pattern"), Integer.parseInt(p.getParam("n")), Integer.parseInt(p.getParam("d")), Integer.parseInt(p.getParam("threads")));
            (p.getBenchmark().endsWith(".ort") ? ort : attnc).put(key, score(r));
        }

        Report report = new Report(peak, bandwidth, attnc, ort);
        out.println();
        report.print(out);
        double onePeak = peak.get(1).value() * FmaPeak.flopsPerOp() / 1e9;
        out.printf(Locale.ROOT, "%nthe tile's steps alone, one thread, a %d x %d x %d tile (TileProducts):", TileProducts.QUERIES, TileProducts.KEYS, TileProducts.D);
        double tileSeconds = 0;
        for (Map.Entry<String, Score> e : products.entrySet()) {
            tileSeconds += 1 / e.getValue().value();
            if (e.getKey().equals("softmax")) continue;
            double gflops = e.getValue().value() * TileProducts.flopsPerOp() / 1e9;
            out.printf(Locale.ROOT, " %s %.0f GFLOP/s (%.0f%% of the one-thread peak)", e.getKey(), gflops, 100 * gflops / onePeak);
        }
        Score softmax = products.get("softmax");
        if (softmax != null) {
            out.printf(Locale.ROOT, "; the tile's softmax %.1f µs, %.0f%% of the three", 1e6 / softmax.value(), 100 / softmax.value() / tileSeconds);
        }
        out.println();
        // A failed benchmark (JMH printed its exception above) leaves a hole rather than ending the run.
        List<String> missing = new ArrayList<>();
        for (String c : cases) for (int n : ns) for (int d : ds) for (int t : threads) {
            Key key = new Key(c, n, d, t);
            if (!attnc.containsKey(key)) missing.add("attnc " + key);
            if (peer.equals("ort") && !ort.containsKey(key)) missing.add("ORT " + key);
        }
        if (!missing.isEmpty()) out.println("\nno result (the benchmark failed; JMH's output above says why): " + String.join(", ", missing));
        if (!npy.isEmpty()) {
            NpyCases.write(Path.of(npy), cases, ns, ds, max(threads));
            // Appended, so that several runs (one per shape set) leave one file for the peers.
            Path tsv = Path.of(npy, "attnc.tsv");
            String rows = report.tsv();
            if (Files.exists(tsv)) rows = rows.substring(rows.indexOf('\n') + 1);
            Files.writeString(tsv, rows, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            out.println("\ninputs, attnc outputs and attnc.tsv written to " + npy + " (bench/cpu/peers.py reads them)");
        }
    }

    static ChainedOptionsBuilder base(int forks, int warmup, int iterations, double seconds) {
        TimeValue each = TimeValue.milliseconds(Math.round(seconds * 1000));
        return new OptionsBuilder().forks(forks).warmupIterations(warmup).warmupTime(each).measurementIterations(iterations)
                .measurementTime(each).shouldFailOnError(false).timeUnit(TimeUnit.MILLISECONDS);
    }

    private static Collection<RunResult> run(ChainedOptionsBuilder options) throws RunnerException {
        return new Runner(options.build()).run();
    }

    /** The one result of a run; NaN when its benchmark failed (JMH printed why and went on). */
    private static Score single(Collection<RunResult> results) {
        return results.isEmpty() ? new Score(Double.NaN, Double.NaN) : score(results.iterator().next());
    }

    /** Throughput benchmarks report ops/ms here (the options' time unit); scaled to ops/s. */
    private static Score score(RunResult r) {
        var primary = r.getPrimaryResult();
        double error = Double.isNaN(primary.getScoreError()) ? 0 : primary.getScoreError();
        boolean throughput = primary.getScoreUnit().startsWith("ops/");
        return throughput ? new Score(primary.getScore() * 1e3, error * 1e3) : new Score(primary.getScore(), error);
    }

    private static List<Integer> withOne(List<Integer> threads) {
        List<Integer> all = new ArrayList<>(threads);
        all.add(1);
        return all;
    }

    static int max(List<Integer> threads) { return threads.stream().mapToInt(Integer::intValue).max().orElse(1); }

    static String[] strings(List<Integer> values) { return values.stream().map(String::valueOf).toArray(String[]::new); }

    /** The first "model name" of /proc/cpuinfo, else the architecture. */
    static String cpuModel() {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst()
                    .orElse(System.getProperty("os.arch"));
        } catch (IOException | java.io.UncheckedIOException e) {
            return System.getProperty("os.arch");
        }
    }

    /** Command-line options of the form {@code --name value} and {@code --flag}. */
    static final class Arguments {
        private final List<String> args;
        private final Set<String> used = new HashSet<>();

        Arguments(String[] args) { this.args = Arrays.asList(args); }

        boolean flag(String name) {
            used.add(name);
            return args.contains(name);
        }

        String value(String name, String fallback) {
            used.add(name);
            int i = args.indexOf(name);
            if (i < 0) return fallback;
            if (i + 1 >= args.size()) throw new IllegalArgumentException(name + ": expected a value after it");
            return args.get(i + 1);
        }

        List<String> list(String name, String fallback) { return List.of(value(name, fallback).split(",")); }

        List<Integer> ints(String name, String fallback) {
            List<Integer> values = new ArrayList<>();
            for (String s : list(name, fallback)) {
                try {
                    int v = Integer.parseInt(s.trim());
                    if (v < 1) throw new NumberFormatException();
                    values.add(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + " " + s + ": expected positive whole numbers separated by commas");
                }
            }
            return values;
        }

        void refuseUnknown() {
            for (String s : args) {
                if (s.startsWith("--") && !used.contains(s)) throw new IllegalArgumentException("unknown option " + s);
            }
        }
    }
}
