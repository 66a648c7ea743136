package attnc.bench.jmh;

import attnc.bench.Workload;
import attnc.jvm.emit.Tiling;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * What {@link JmhBench} prints from JMH's scores: the peak table, the kernels against ONNX Runtime
 * with each figure as a share of the FMA peak measured at the same thread count, the scaling
 * table (GFLOP/s and parallel efficiency against one thread) and the roofline position.
 */
final class Report {
    private final Map<Integer, JmhBench.Score> peak, bandwidth;
    private final Map<JmhBench.Key, JmhBench.Score> attnc, ort;
    private final Map<String, Case> cases = new HashMap<>();

    Report(Map<Integer, JmhBench.Score> peak, Map<Integer, JmhBench.Score> bandwidth, Map<JmhBench.Key, JmhBench.Score> attnc,
           Map<JmhBench.Key, JmhBench.Score> ort) {
        this.peak = peak;
        this.bandwidth = bandwidth;
        this.attnc = attnc;
        this.ort = ort;
    }

    void print(PrintStream out) {
        out.println("| threads | FMA peak GFLOP/s | per thread | read GB/s |");
        out.println("|---:|---:|---:|---:|");
        peak.forEach((t, s) -> out.printf(Locale.ROOT, "| %d | %.0f ± %.0f | %.1f | %s |%n", t, gflops(s.value()), gflops(s.error()),
                gflops(s.value()) / t, bandwidth.containsKey(t) ? String.format(Locale.ROOT, "%.1f", bandwidth.get(t).value() / 1e9) : "–"));
        out.println();
        out.println("| case | threads | visible | attnc ms | GFLOP/s | % of peak | ORT ms | ORT GFLOP/s | attnc/ORT |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        attnc.forEach((key, s) -> {
            Workload w = workload(key);
            double rate = flops(key) / (s.value() / 1e3) / 1e9;
            JmhBench.Score theirs = ort.get(key);
            String peer = theirs == null ? "– | – | –" : String.format(Locale.ROOT, "%.1f ± %.1f | %.0f | %.2f×%s", theirs.value(), theirs.error(),
                    flops(key) / (theirs.value() / 1e3) / 1e9, theirs.value() / s.value(), w.peerExact() ? "" : " †");
            out.printf(Locale.ROOT, "| %s | %d | %.3f | %.1f ± %.1f | %.0f | %.0f%% | %s |%n", w.label(), key.threads(), visible(key), s.value(), s.error(),
                    rate, 100 * rate / (peakAt(key.threads()) / 1e9), peer);
        });
        if (attnc.keySet().stream().anyMatch(k -> ort.containsKey(k) && !workload(k).peerExact())) out.println("\n† ONNX Runtime cannot express the score modifier: it ran plain attention of the same shape and mask.");
        scaling(out);
        roofline(out);
    }

    /** GFLOP/s per thread count for each case, speed-up and parallel efficiency against one thread. */
    private void scaling(PrintStream out) {
        TreeSet<Integer> threads = new TreeSet<>();
        attnc.keySet().forEach(k -> threads.add(k.threads()));
        if (threads.size() < 2) return;
        out.println();
        StringBuilder head = new StringBuilder("| case |"), rule = new StringBuilder("|---|");
        for (int t : threads) {
            head.append(" ").append(t).append(t == 1 ? " thread |" : " threads |");
            rule.append("---:|");
        }
        out.println(head + " speed-up " + threads.first() + "→" + threads.last() + " | parallel efficiency |");
        out.println(rule + "---:|---:|");
        Map<String, Map<Integer, Double>> rates = new LinkedHashMap<>();
        attnc.forEach((key, s) -> rates.computeIfAbsent(workload(key).label(), x -> new HashMap<>())
                .put(key.threads(), flops(key) / (s.value() / 1e3) / 1e9));
        rates.forEach((label, byThreads) -> {
            StringBuilder row = new StringBuilder("| " + label + " |");
            for (int t : threads) row.append(byThreads.containsKey(t) ? String.format(Locale.ROOT, " %.0f |", byThreads.get(t)) : " – |");
            Double first = byThreads.get(threads.first()), last = byThreads.get(threads.last());
            if (first != null && last != null) {
                double speedUp = last / first;
                row.append(String.format(Locale.ROOT, " %.2f× | %.0f%% |", speedUp, 100 * speedUp / ((double) threads.last() / threads.first())));
            } else {
                row.append(" – | – |");
            }
            out.println(row);
        });
    }

    /**
     * Arithmetic intensity against the machine balance (peak / read bandwidth at the same thread
     * count). The kernel reads Q once and writes O once per row, and reads a key's K and V rows
     * once per query tile that sees it (bq queries): 4·D flops per visible pair over 8·D/bq bytes.
     */
    private void roofline(PrintStream out) {
        out.println();
        out.println("| case | threads | flop per byte (Q, O once; K, V per query tile) | machine balance | bound | attnc % of bound |");
        out.println("|---|---:|---:|---:|---|---:|");
        int bq = Tiling.standard().q();
        attnc.forEach((key, s) -> {
            JmhBench.Score bytesPerSecond = bandwidth.get(key.threads());
            if (bytesPerSecond == null) return;
            Workload w = workload(key);
            double bytes = 4.0 * w.heads() * (2.0 * w.nq() * w.d() + 2.0 * w.d() * at(key).pairs() / bq);
            double intensity = flops(key) / bytes, balance = peakAt(key.threads()) / bytesPerSecond.value();
            double bound = Math.min(peakAt(key.threads()), intensity * bytesPerSecond.value());
            double rate = flops(key) / (s.value() / 1e3);
            out.printf(Locale.ROOT, "| %s | %d | %.0f | %.1f | %s | %.0f%% |%n", w.label(), key.threads(), intensity, balance,
                    intensity > balance ? "compute" : "memory", 100 * rate / bound);
        });
    }

    /** pattern, n, d, threads, visible fraction, flops, attnc ms, its error, ORT ms (or nan), FMA peak GFLOP/s at those threads. */
    String tsv() {
        StringBuilder text = new StringBuilder("pattern\tn\td\tthreads\tvisible\tflops\tattnc_ms\tattnc_err_ms\tort_ms\tpeak_gflops\n");
        attnc.forEach((key, s) -> {
            Workload w = workload(key);
            JmhBench.Score theirs = ort.get(key);
            text.append(String.format(Locale.ROOT, "%s\t%d\t%d\t%d\t%.6f\t%.6e\t%.4f\t%.4f\t%s\t%.1f%n", key.pattern(), key.n(), key.d(), key.threads(),
                    visible(key), flops(key), s.value(), s.error(), theirs == null ? "nan" : String.format(Locale.ROOT, "%.4f", theirs.value()),
                    peakAt(key.threads()) / 1e9));
        });
        return text.toString();
    }

    private double peakAt(int threads) {
        JmhBench.Score s = peak.get(threads);
        return s == null ? Double.NaN : s.value() * FmaPeak.flopsPerOp();
    }

    private static double gflops(double vectorFmasPerSecond) { return vectorFmasPerSecond * FmaPeak.flopsPerOp() / 1e9; }

    /** A workload with its visible pairs counted once (an O(N²) walk of the mask). */
    private record Case(Workload workload, long pairs) {}

    private Case at(JmhBench.Key key) {
        return cases.computeIfAbsent(key.pattern() + "/" + key.n() + "/" + key.d(), x -> {
            Workload w = Workload.named(key.pattern(), key.n(), key.d());
            return new Case(w, w.visiblePairs());
        });
    }

    private Workload workload(JmhBench.Key key) { return at(key).workload(); }

    private double flops(JmhBench.Key key) { return 4.0 * workload(key).heads() * workload(key).d() * at(key).pairs(); }

    private double visible(JmhBench.Key key) { return at(key).pairs() / ((double) workload(key).nq() * workload(key).nkv()); }
}
