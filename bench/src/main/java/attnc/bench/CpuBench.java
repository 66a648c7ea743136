package attnc.bench;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Driver;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The CPU benchmark: for each case, on the same random inputs, times the generated kernel, ONNX
 * Runtime's Attention op and a hand-written Java loop (warm-up, then the median of repeats),
 * and prints time, GFLOP/s of visible work (4·B·H·Nq·Nkv·D × visible fraction) and the ratio
 * to ONNX Runtime. Outputs are cross-checked (max |Δ| against ONNX Runtime where it computes the
 * same function, else against the Java loop's rows).
 *
 * <pre>bench/run [--quick] [--only SUBSTRING] [--reps N] [--kernel-only] [--tile QxKV]</pre>
 * {@code --kernel-only} times the generated kernel alone (for tuning and profiling);
 * {@code --backward} runs {@link BackwardBench} instead, {@code --cpu-time} {@link CpuTimeBench}.
 */
public final class CpuBench {
    private static int tileQ, tileKv;

    private CpuBench() {}

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--backward")) {
            BackwardBench.main(args);
            return;
        }
        if (List.of(args).contains("--cpu-time")) {
            CpuTimeBench.main(args);
            return;
        }
        boolean quick = List.of(args).contains("--quick");
        String only = option(args, "--only", "");
        int reps = Integer.parseInt(option(args, "--reps", quick ? "3" : "5"));
        boolean kernelOnly = List.of(args).contains("--kernel-only");
        String[] tile = option(args, "--tile", "").split("x");
        tileQ = tile.length == 2 ? Integer.parseInt(tile[0]) : 0;
        tileKv = tile.length == 2 ? Integer.parseInt(tile[1]) : 0;
        List<Workload> cases = new ArrayList<>();
        if (quick) {
            cases.addAll(List.of(Workload.dense(2048, 64), Workload.causal(2048, 64), Workload.slidingWindow(8192, 64),
                    Workload.document(2048, 64), Workload.decode(32768, 64)));
        } else {
            for (int n : new int[] {2048, 4096}) {
                for (int d : new int[] {64, 128}) {
                    cases.addAll(List.of(Workload.dense(n, d), Workload.causal(n, d), Workload.slidingWindow(n, d),
                            Workload.document(n, d), Workload.softcap(n, d), Workload.alibi(n, d)));
                }
            }
            for (int d : new int[] {64, 128}) cases.add(Workload.slidingWindow(8192, d));
            for (int d : new int[] {64, 128}) cases.add(Workload.decode(32768, d));
        }
        cases.removeIf(w -> !w.label().contains(only));
        System.out.printf("threads %d, %d repeats (median), B=1 H=16 fp32%n%n", Driver.Pool.shared().parallelism(), reps);
        try (OrtPeer ort = new OrtPeer(Driver.Pool.shared().parallelism())) {
            System.out.print(ort.describe());
            System.out.println();
            System.out.println("| case | visible | attnc ms | attnc GFLOP/s | ORT ms | ORT GFLOP/s | attnc/ORT | Java loop ms* | Java loop GFLOP/s | max abs diff |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            for (Workload w : cases) measure(w, kernelOnly ? null : ort, reps);
        }
        System.out.println("\n* the Java loop computes every k-th query row (k = Nq/64) and its time is multiplied by k.");
    }

    private static void measure(Workload w, OrtPeer ort, int reps) throws Exception {
        float[][] qkv = w.randomQkv();
        float[] q = qkv[0], k = qkv[1], v = qkv[2];
        Pattern pattern = Passes.optimize(Frontend.compile(w.name().replaceAll("\\W", "_"), w.source()), Map.of());
        JvmKernel kernel = tileQ > 0 ? new JvmBackend().compile(pattern, new Tiling(tileQ, tileKv)) : new JvmBackend().compile(pattern);
        Problem problem = new Problem(Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nq(), w.d()}, q),
                Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nkv(), w.d()}, k),
                Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nkv(), w.d()}, v), w.tensors(), Map.of(), Problem.BOTTOM_RIGHT);
        double flops = w.flops();
        float[][] ours = new float[1][];
        quiesce();
        // The generated class is new to the JIT: enough untimed calls for C2 to compile its loops.
        double attnc = Timing.median(5, reps, () -> ours[0] = kernel.forward(problem).out());

        String ortMs = "n/a", ortRate = "n/a", ratio = "n/a", diff;
        float[][] theirs = new float[1][];
        if (ort == null) {
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            double cpuWall = Timing.median(0, reps, () -> kernel.forward(problem));
            double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9 / reps;
            System.out.printf("| %s | attnc %s ms, %s GFLOP/s; %.0f GFLOP per CPU-second (%.2f cores busy) |%n", w.label(), ms(attnc),
                    rate(flops, attnc), flops / cpuSeconds / 1e9, cpuSeconds / cpuWall);
            return;
        }
        try (OrtPeer.Call call = ort.new Call(w, q, k, v)) {
            quiesce();
            double peer = Timing.median(1, reps, () -> theirs[0] = Timing.unchecked(call::run));
            ortMs = ms(peer);
            ortRate = rate(flops, peer);
            ratio = String.format("%.2f×", peer / attnc);
        } catch (Exception | OutOfMemoryError e) {
            ortMs = "failed: " + e.getClass().getSimpleName();
        }
        int rowStep = Math.max(1, w.nq() / 64);
        quiesce();
        float[] naiveOut = new float[w.heads() * w.nq() * w.d()];
        double naive = Timing.median(1, Math.min(reps, 3), () -> NaiveAttention.run(w, q, k, v, naiveOut, rowStep)) * rowStep;
        if (theirs[0] != null && w.peerExact()) {
            diff = String.format("%.1e vs ORT", maxDiff(ours[0], theirs[0], w, 1));
        } else {
            diff = String.format("%.1e vs loop", maxDiff(ours[0], naiveOut, w, rowStep));
        }
        String visible = String.format("%.3f", w.visiblePairs() / ((double) w.nq() * w.nkv()));
        System.out.printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", w.label(), visible, ms(attnc), rate(flops, attnc),
                ortMs, ortRate, ratio + (w.peerExact() ? "" : " †"), ms(naive), rate(flops, naive), diff);
    }

    /**
     * Lets the previous measurement's threads go idle (ONNX Runtime's pool spins for a while
     * after each run, which would steal a core from whatever is timed next) and collects garbage.
     */
    static void quiesce() throws InterruptedException {
        System.gc();
        Thread.sleep(500);
    }

    /** Largest |a − b| over the rows the second output computed (every rowStep-th). */
    private static double maxDiff(float[] a, float[] b, Workload w, int rowStep) {
        double max = 0;
        for (int h = 0; h < w.heads(); h++) {
            for (int i = 0; i < w.nq(); i += rowStep) {
                for (int c = 0; c < w.d(); c++) {
                    int at = (h * w.nq() + i) * w.d() + c;
                    double d = Math.abs(a[at] - b[at]);
                    if (Double.isNaN(d)) return Double.NaN;
                    max = Math.max(max, d);
                }
            }
        }
        return max;
    }

    private static String ms(double seconds) { return String.format("%.1f", seconds * 1e3); }

    private static String rate(double flops, double seconds) { return String.format("%.0f", flops / seconds / 1e9); }

    private static String option(String[] args, String name, String fallback) {
        int i = Arrays.asList(args).indexOf(name);
        return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
    }
}
