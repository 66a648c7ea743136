package attnc.bench;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One thread, timed by the thread's CPU time instead of the wall clock: the generated kernel on
 * its caller's thread and ONNX Runtime with one intra-op thread (which runs on the caller), on
 * the same inputs, rounds alternating, the minimum over all rounds. On a machine shared with
 * other work, wall time measures the load; a thread's CPU time mostly does not (other threads
 * still evict its caches). The FMA peak is taken the same way, so "% of peak" is per core.
 *
 * <pre>bench/run --cpu-time [--cases dense,causal] [--n 2048] [--d 64] [--heads 2] [--reps 7] [--rounds 3]</pre>
 */
final class CpuTimeBench {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private CpuTimeBench() {}

    public static void main(String[] args) throws Exception {
        List<String> cases = List.of(option(args, "--cases", "dense,causal").split(","));
        int n = Integer.parseInt(option(args, "--n", "2048")), d = Integer.parseInt(option(args, "--d", "64"));
        int heads = Integer.parseInt(option(args, "--heads", "2")), reps = Integer.parseInt(option(args, "--reps", "7"));
        int rounds = Integer.parseInt(option(args, "--rounds", "3"));
        double peak = fmaPeak();
        System.out.printf("one thread, thread CPU time, min of %d rounds × %d calls; FMA peak %.0f GFLOP per CPU-second; B=1 H=%d fp32%n%n",
                rounds, reps, peak, heads);
        System.out.println("| case | attnc ms CPU | GFLOP per CPU-s | % of peak | ORT ms CPU | ORT GFLOP per CPU-s | attnc/ORT |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|");
        try (OrtPeer ort = new OrtPeer(1)) {
            for (String name : cases) {
                Workload full = Workload.named(name, n, d);
                Workload w = new Workload(full.name(), full.source(), heads, full.nq(), full.nkv(), full.d(), full.peer(), full.peerExact(),
                        full.visible(), full.score(), full.docs());
                float[][] qkv = w.randomQkv();
                Problem problem = new Problem(Tensor.ofFloats(DType.FLOAT32, new int[] {1, heads, n, d}, qkv[0]),
                        Tensor.ofFloats(DType.FLOAT32, new int[] {1, heads, n, d}, qkv[1]),
                        Tensor.ofFloats(DType.FLOAT32, new int[] {1, heads, n, d}, qkv[2]), w.tensors(), Map.of(), Problem.BOTTOM_RIGHT);
                Tensor out = Tensor.allocate(DType.FLOAT32, 1, heads, n, d);
                double flops = w.flops();
                try (JvmKernel kernel = new JvmBackend().compile(Passes.optimize(Frontend.compile(name, w.source()), Map.of())).withExecutor(Runnable::run, 1);
                     OrtPeer.Call call = ort.new Call(w, qkv[0], qkv[1], qkv[2])) {
                    Runnable ours = () -> kernel.forward(problem, out, null), theirs = () -> Timing.unchecked(call::runDiscarding);
                    for (int i = 0; i < 5; i++) ours.run();
                    theirs.run();
                    long attnc = Long.MAX_VALUE, peer = Long.MAX_VALUE;
                    for (int r = 0; r < rounds; r++) {
                        attnc = Math.min(attnc, minCpuNanos(ours, reps));
                        peer = Math.min(peer, minCpuNanos(theirs, reps));
                    }
                    System.out.printf("| %s | %.2f | %.1f | %.0f%% | %.2f | %.1f | %.2f×%s |%n", w.label(), attnc / 1e6, flops / attnc, 100 * flops / attnc / peak,
                            peer / 1e6, flops / peer, (double) peer / attnc, w.peerExact() ? "" : " †");
                }
            }
        }
    }

    private static long minCpuNanos(Runnable body, int reps) {
        long[] t = new long[reps];
        for (int i = 0; i < reps; i++) {
            long start = THREADS.getCurrentThreadCpuTime();
            body.run();
            t[i] = THREADS.getCurrentThreadCpuTime() - start;
        }
        return Arrays.stream(t).min().orElseThrow();
    }

    /** GFLOP per CPU-second of {@link attnc.bench.jmh.FmaPeak}'s independent FMA chains, best of 20 rounds. */
    private static double fmaPeak() {
        var chains = new attnc.bench.jmh.FmaPeak();
        long calls = 2000;
        double best = 0;
        for (int r = 0; r < 20; r++) {
            long start = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < calls; i++) chains.fma();
            best = Math.max(best, calls * attnc.bench.jmh.FmaPeak.flopsPerInvocation() / (THREADS.getCurrentThreadCpuTime() - start));
        }
        return best;
    }

    private static String option(String[] args, String name, String fallback) {
        int i = Arrays.asList(args).indexOf(name);
        return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
    }
}
