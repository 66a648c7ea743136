package attnc.bench.jmh;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;

/**
 * Issue 17's CPU decode table on JMH, one command: the read bandwidth ({@link StreamRead}) at the
 * run's thread count, then {@link Decode} (contiguous and paged K/V) and {@link OnnxDecode} on
 * the same inputs; prints ms per step, GB/s of K and V read, % of the measured bandwidth and the
 * ratio to ONNX Runtime (its contiguous time over attnc's, for every layout).
 *
 * <pre>bench/decode [--nq 1,4] [--nkv 4096,32768] [--layouts contiguous,page16,page64] [--threads 2] [--peer ort|none]
 *              [--forks 1] [--warmup 3] [--iterations 5] [--time 1]</pre>
 *
 * <p>With {@code --mla}, the MLA decode table instead ({@link MlaDecodeBench}).
 */
public final class DecodeBench {
    private DecodeBench() {}

    record Key(int nq, int nkv, String layout) {}

    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--mla")) {
            MlaDecodeBench.main(args);
            return;
        }
        JmhBench.Arguments a = new JmhBench.Arguments(args);
        List<Integer> nqs = a.ints("--nq", "1,4"), nkvs = a.ints("--nkv", "4096,32768");
        List<String> layouts = a.list("--layouts", "contiguous,page16,page64");
        String peer = a.value("--peer", "ort");
        Runs runs = Runs.parse(a);
        a.refuseUnknown();
        PrintStream out = System.out;
        runs.printHeader(out);
        int threads = runs.threads();

        double bandwidth = runs.measure(StreamRead.class); // bytes per s
        ChainedOptionsBuilder kernels = runs.kernels().include(Decode.class.getName() + "\\.")
                .param("nq", JmhBench.strings(nqs)).param("nkv", JmhBench.strings(nkvs)).param("layout", layouts.toArray(String[]::new))
                .param("threads", String.valueOf(threads));
        Map<Key, double[]> attnc = new LinkedHashMap<>(), ort = new LinkedHashMap<>();
        for (RunResult r : new Runner(kernels.build()).run()) attnc.put(key(r, r.getParams().getParam("layout")), score(r));
        if (peer.equals("ort")) {
            ChainedOptionsBuilder onnx = runs.kernels().include(OnnxDecode.class.getName() + "\\.")
                    .param("nq", JmhBench.strings(nqs)).param("nkv", JmhBench.strings(nkvs)).param("threads", String.valueOf(threads));
            for (RunResult r : new Runner(onnx.build()).run()) ort.put(key(r, "contiguous"), score(r));
        }
        out.printf(Locale.ROOT, "%nread bandwidth (StreamRead, %d threads): %.1f GB/s%n%n", threads, bandwidth / 1e9);
        out.println("| Nq | Nkv | B | layout | attnc ms | attnc GB/s | % of read bandwidth | ORT ms | ORT GB/s | attnc/ORT |");
        out.println("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        for (int nq : nqs) for (int nkv : nkvs) {
            double[] peerScore = ort.get(new Key(nq, nkv, "contiguous"));
            long bytes = DecodeInputs.bytes(DecodeInputs.batch(nkv), nkv);
            for (String layout : layouts) {
                double[] s = attnc.get(new Key(nq, nkv, layout));
                if (s == null) continue;
                double gbs = bytes / (s[0] * 1e-3) / 1e9;
                out.printf(Locale.ROOT, "| %d | %d | %d | %s | %.2f ± %.2f | %.1f | %.0f%% | %s | %s | %s |%n", nq, nkv, DecodeInputs.batch(nkv), layout, s[0], s[1], gbs,
                        100 * gbs * 1e9 / bandwidth, peerScore == null ? "-" : String.format(Locale.ROOT, "%.2f ± %.2f", peerScore[0], peerScore[1]),
                        peerScore == null ? "-" : String.format(Locale.ROOT, "%.1f", bytes / (peerScore[0] * 1e-3) / 1e9),
                        peerScore == null ? "-" : String.format(Locale.ROOT, "%.2f×", peerScore[0] / s[0]));
            }
        }
    }

    private static Key key(RunResult r, String layout) {
        var p = r.getParams();
        return new Key(Integer.parseInt(p.getParam("nq")), Integer.parseInt(p.getParam("nkv")), layout);
    }

    /**
     * The JMH rounds the decode tables share: {@code --threads} (every processor by default),
     * {@code --forks}, {@code --warmup} and {@code --iterations} rounds of {@code --time} seconds.
     */
    record Runs(int threads, int forks, int warmup, int iterations, double seconds) {
        static Runs parse(JmhBench.Arguments a) {
            return new Runs(Integer.parseInt(a.value("--threads", String.valueOf(Runtime.getRuntime().availableProcessors()))),
                    Integer.parseInt(a.value("--forks", "1")), Integer.parseInt(a.value("--warmup", "3")), Integer.parseInt(a.value("--iterations", "5")),
                    Double.parseDouble(a.value("--time", "1")));
        }

        void printHeader(PrintStream out) {
            out.printf(Locale.ROOT, "%s; %d processors; JVM %s; %d threads; forks %d, warm-up %d × %.1f s, %d × %.1f s measured%n", JmhBench.cpuModel(),
                    Runtime.getRuntime().availableProcessors(), Runtime.version(), threads, forks, warmup, seconds, iterations, seconds);
        }

        /** The kernels' options: these rounds. */
        ChainedOptionsBuilder kernels() { return JmhBench.base(forks, warmup, iterations, seconds); }

        /**
         * A probe ({@link StreamRead}, {@link FmaPeak}) at the run's threads, fewer rounds (it reaches its steady state
         * within a second): its operations per second, from JMH's per-ms score (the options' time unit).
         */
        double measure(Class<?> probe) throws Exception {
            double perSecond = Double.NaN;
            for (RunResult r : new Runner(JmhBench.base(forks, 2, 3, seconds).include(probe.getName()).threads(threads).build()).run()) {
                perSecond = r.getPrimaryResult().getScore() * 1e3;
            }
            return perSecond;
        }
    }

    /** The primary score and its error (0 where JMH gives none). */
    static double[] score(RunResult r) {
        var primary = r.getPrimaryResult();
        return new double[] {primary.getScore(), Double.isNaN(primary.getScoreError()) ? 0 : primary.getScoreError()};
    }

}
