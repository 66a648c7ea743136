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
 * The MLA decode table ({@link MlaDecode}), one command: the FMA peak ({@link FmaPeak}) and the
 * read bandwidth ({@link StreamRead}) at the run's thread count, then each case; prints ms per
 * step, GB/s of K and V read, GFLOP/s and % of the peak, and % of the read bandwidth.
 *
 * <pre>bench/decode --mla [--heads 16,128] [--nkv 4096,32768] [--values shared,separate] [--layouts contiguous]
 *              [--threads 2] [--forks 1] [--warmup 3] [--iterations 5] [--time 1]</pre>
 */
public final class MlaDecodeBench {
    private MlaDecodeBench() {}

    record Key(int heads, int nkv, String values, String layout) {}

    public static void main(String[] args) throws Exception {
        JmhBench.Arguments a = new JmhBench.Arguments(args);
        a.flag("--mla");
        List<Integer> heads = a.ints("--heads", "16,128"), nkvs = a.ints("--nkv", "4096,32768");
        List<String> values = a.list("--values", "shared,separate"), layouts = a.list("--layouts", "contiguous");
        DecodeBench.Runs runs = DecodeBench.Runs.parse(a);
        a.refuseUnknown();
        PrintStream out = System.out;
        runs.printHeader(out);
        int threads = runs.threads();

        double peak = runs.measure(FmaPeak.class) * FmaPeak.flopsPerOp(), bandwidth = runs.measure(StreamRead.class); // flops, bytes per s
        ChainedOptionsBuilder kernels = runs.kernels().include(MlaDecode.class.getName() + "\\.")
                .param("heads", JmhBench.strings(heads)).param("nkv", JmhBench.strings(nkvs)).param("values", values.toArray(String[]::new))
                .param("layout", layouts.toArray(String[]::new)).param("threads", String.valueOf(threads));
        Map<Key, double[]> results = new LinkedHashMap<>();
        for (RunResult r : new Runner(kernels.build()).run()) {
            var p = r.getParams();
            results.put(new Key(Integer.parseInt(p.getParam("heads")), Integer.parseInt(p.getParam("nkv")), p.getParam("values"), p.getParam("layout")),
                    DecodeBench.score(r));
        }
        out.printf(Locale.ROOT, "%nFMA peak (FmaPeak, %d threads): %.1f GFLOP/s; read bandwidth (StreamRead): %.1f GB/s%n%n", threads, peak / 1e9, bandwidth / 1e9);
        out.println("| H | Nkv | V | layout | ms | GB/s of K, V | % of read bandwidth | GFLOP/s | % of FMA peak |");
        out.println("|---:|---:|---|---|---:|---:|---:|---:|---:|");
        for (var e : results.entrySet()) {
            Key k = e.getKey();
            double ms = e.getValue()[0], gbs = MlaDecode.bytes(k.nkv(), k.values().equals("shared")) / (ms * 1e-3) / 1e9;
            double gflops = MlaDecode.flops(k.heads(), k.nkv()) / (ms * 1e-3) / 1e9;
            out.printf(Locale.ROOT, "| %d | %d | %s | %s | %.2f ± %.2f | %.1f | %.0f%% | %.1f | %.0f%% |%n", k.heads(), k.nkv(), k.values(), k.layout(), ms,
                    e.getValue()[1], gbs, 100 * gbs * 1e9 / bandwidth, gflops, 100 * gflops * 1e9 / peak);
        }
    }
}
