package attnc.bench;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.BackwardOptions;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.jvm.kernel.Driver;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The CPU backward benchmark: per case, on the same random inputs, the generated kernel's
 * forward, backward (every gradient the pattern has) and deterministic backward, and the naive
 * Java backward ({@link NaiveBackward}), each after warm-up, the median of repeats (standard and
 * deterministic backward runs alternate). Backward
 * FLOPs are 2.5× the forward's (4·B·H·Nq·Nkv·D × the visible fraction), as FlashAttention counts
 * them. Prints time, GFLOP/s, GFLOP per CPU-second (the machine may be shared), the cost of
 * deterministic mode and the ratio to the naive loop, and checks dq against it.
 *
 * <p>{@code --tsv FILE} also writes, per case, the forward's and the backward's times and the
 * backward's with q, k and v's gradients only (what a peer holding the inputs fixed computes), for
 * {@code bench/cpu/peers_backward.py}; {@code --fast} leaves out the deterministic and naive runs.
 *
 * <pre>bench/run --backward [--quick] [--fast] [--only SUBSTRING] [--reps N] [--n 2048,4096] [--tsv FILE]</pre>
 */
final class BackwardBench {
    private BackwardBench() {}

    static void main(String[] args) throws Exception {
        List<String> flags = List.of(args);
        boolean quick = flags.contains("--quick"), fast = flags.contains("--fast");
        String only = option(args, "--only", ""), tsv = option(args, "--tsv", "");
        int reps = Integer.parseInt(option(args, "--reps", quick ? "3" : "5"));
        List<Case> cases = new ArrayList<>();
        for (int n : java.util.Arrays.stream(option(args, "--n", quick ? "2048" : "2048,4096").split(",")).mapToInt(Integer::parseInt).toArray()) {
            for (String name : List.of("dense", "causal", "sliding_window", "document", "softcap", "alibi")) cases.add(new Case(name, Workload.named(name, n, 64)));
        }
        cases.removeIf(c -> !c.workload().label().contains(only));
        System.out.printf("threads %d, %d repeats (median), B=1 H=16 fp32; backward FLOPs = 2.5 x forward's%n%n", Driver.Pool.shared().parallelism(), reps);
        System.out.println("| case | visible | fwd ms | bwd ms | bwd GFLOP/s | bwd GFLOP per CPU-s | fwd+bwd ms | deterministic bwd ms | naive bwd ms* | attnc/naive | max abs dq diff |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        if (!tsv.isEmpty()) java.nio.file.Files.writeString(java.nio.file.Path.of(tsv), "pattern\tn\td\tthreads\tfwd_ms\tbwd_ms\tbwd_qkv_ms\n");
        for (Case c : cases) measure(c.name(), c.workload(), reps, fast, tsv);
        if (!fast) System.out.println("\n* the naive loop computes every k-th query row (k = Nq/64) and its time is multiplied by k.");
    }

    /** A workload and its short name ({@link Workload#named}), which the TSV and the peers use. */
    private record Case(String name, Workload workload) {}

    /** Seconds each measured kind is warmed for before its timed repeats. */
    private static final double WARM_SECONDS = 3.0;

    private static void measure(String name, Workload w, int reps, boolean fast, String tsv) throws Exception {
        Random random = new Random(w.label().hashCode());
        int h = w.heads(), d = w.d();
        float[] q = Workload.randoms(h * w.nq() * d, random), k = Workload.randoms(h * w.nkv() * d, random), v = Workload.randoms(h * w.nkv() * d, random);
        float[] dOut = Workload.randoms(h * w.nq() * d, random);
        Pattern pattern = Passes.optimize(Frontend.compile(w.name().replaceAll("\\W", "_"), w.source()), Map.of());
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Problem problem = new Problem(Tensor.ofFloats(DType.FLOAT32, new int[] {1, h, w.nq(), d}, q), Tensor.ofFloats(DType.FLOAT32, new int[] {1, h, w.nkv(), d}, k),
                Tensor.ofFloats(DType.FLOAT32, new int[] {1, h, w.nkv(), d}, v), w.tensors(), Map.of(), Problem.BOTTOM_RIGHT);
        Tensor gradient = Tensor.ofFloats(DType.FLOAT32, new int[] {1, h, w.nq(), d}, dOut);
        double forwardFlops = 4.0 * h * d * w.visiblePairs(), backwardFlops = 2.5 * forwardFlops;
        CpuBench.quiesce();
        Timing.warm(WARM_SECONDS, 3, () -> kernel.forward(problem));
        double forward = Timing.median(0, reps, () -> kernel.forward(problem));
        Result result = kernel.forward(problem);
        Gradients[] ours = new Gradients[1];
        java.util.Set<Wrt> operands = java.util.Set.of(Wrt.Operand.Q, Wrt.Operand.K, Wrt.Operand.V);
        CpuBench.quiesce();
        // Every kind timed below is warmed (with input gradients, the q/k/v-only backward is a class of its own),
        // and they alternate, so that a shared machine's load falls on all alike.
        Runnable standard = () -> ours[0] = kernel.backward(problem, result, gradient), operandOnly = () -> kernel.backward(problem, result, gradient, operands);
        Runnable reproducible = () -> kernel.backward(problem, result, gradient, Wrt.all(pattern), BackwardOptions.reproducible());
        if (fast) Timing.warm(WARM_SECONDS, 3, standard, operandOnly);
        else Timing.warm(WARM_SECONDS, 3, standard, operandOnly, reproducible);
        double[] standardTimes = new double[reps], deterministicTimes = new double[reps], operandTimes = new double[reps];
        long cpuStandard = 0;
        for (int i = 0; i < reps; i++) {
            long cpu0 = cpuNanos(), start = System.nanoTime();
            standard.run();
            standardTimes[i] = (System.nanoTime() - start) / 1e9;
            cpuStandard += cpuNanos() - cpu0;
            start = System.nanoTime();
            operandOnly.run();
            operandTimes[i] = (System.nanoTime() - start) / 1e9;
            if (!fast) {
                start = System.nanoTime();
                reproducible.run();
                deterministicTimes[i] = (System.nanoTime() - start) / 1e9;
            }
        }
        double backward = median(standardTimes), deterministic = median(deterministicTimes), cpuSeconds = cpuStandard / 1e9 / reps;
        if (!tsv.isEmpty()) {
            java.nio.file.Files.writeString(java.nio.file.Path.of(tsv), String.format(java.util.Locale.ROOT, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f%n", name, w.nq(),
                    w.d(), Driver.Pool.shared().parallelism(), forward * 1e3, backward * 1e3, median(operandTimes) * 1e3), java.nio.file.StandardOpenOption.APPEND);
        }
        if (fast) {
            System.out.printf("| %s | %.3f | %.1f | %.1f | %.0f | %.0f | %.1f | – | – | – | – |%n", w.label(), w.visiblePairs() / ((double) w.nq() * w.nkv()),
                    forward * 1e3, backward * 1e3, backwardFlops / backward / 1e9, backwardFlops / cpuSeconds / 1e9, (forward + backward) * 1e3);
            return;
        }
        int rowStep = Math.max(1, w.nq() / 64);
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        CpuBench.quiesce();
        double naive = Timing.median(1, Math.min(reps, 3), () -> NaiveBackward.run(w, q, k, v, dOut, dq, dk, dv, rowStep)) * rowStep;
        java.util.Arrays.fill(dq, 0);
        NaiveBackward.run(w, q, k, v, dOut, dq, dk, dv, rowStep);
        double diff = maxDiff(ours[0].dq().floats(), dq, w, rowStep);
        System.out.printf("| %s | %.3f | %.1f | %.1f | %.0f | %.0f | %.1f | %.1f (%+.0f%%) | %.0f | %.1f× | %.1e |%n", w.label(),
                w.visiblePairs() / ((double) w.nq() * w.nkv()), forward * 1e3, backward * 1e3, backwardFlops / backward / 1e9,
                backwardFlops / cpuSeconds / 1e9, (forward + backward) * 1e3, deterministic * 1e3, 100 * (deterministic / backward - 1),
                naive * 1e3, naive / backward, diff);
    }

    private static double median(double[] seconds) {
        double[] sorted = seconds.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Largest |a − b| over the dq rows the naive loop computed. */
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


    private static String option(String[] args, String name, String fallback) {
        int i = java.util.Arrays.asList(args).indexOf(name);
        return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
    }
}
