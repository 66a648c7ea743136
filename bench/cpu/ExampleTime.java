import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

/**
 * Per .attn file, the JVM kernel's forward and backward (every gradient), one thread (the
 * caller's), timed by the thread's CPU time: the median of {@code reps} calls after a warm-up of
 * {@code warm} seconds each. On a machine shared with other work a thread's CPU time mostly
 * measures the kernel, where wall time measures the load. Uses only the public API, so the same
 * file times any build (example_time.sh's ROOT). Args: FILE.attn ... [--n 1024] [--heads 4] [--d 64]
 * [--reps 15] [--warm 4].
 */
final class ExampleTime {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(option(args, "--n", "1024")), heads = Integer.parseInt(option(args, "--heads", "4"));
        int d = Integer.parseInt(option(args, "--d", "64")), reps = Integer.parseInt(option(args, "--reps", "15"));
        double warm = Double.parseDouble(option(args, "--warm", "4"));
        System.out.printf("one thread, thread CPU time, median of %d calls after %.0f s warm-up; B=1 H=%d N=%d D=%d fp32%n%n", reps, warm, heads, n, d);
        System.out.println("| pattern | fwd ms CPU | bwd ms CPU |");
        System.out.println("|---|---:|---:|");
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                i++;
                continue;
            }
            Pattern pattern = Passes.optimize(Frontend.compile(Path.of(args[i])), Map.of());
            try (JvmKernel kernel = new JvmBackend().compile(pattern).withExecutor(Runnable::run, 1)) {
                Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(1, heads, heads, n, n, d, -1), DType.FLOAT32, new Random(1));
                Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {1, heads, n, d}, new Random(2));
                Result result = kernel.forward(problem);
                double forward = medianCpuMs(() -> kernel.forward(problem), warm, reps);
                double backward = medianCpuMs(() -> kernel.backward(problem, result, dOut), warm, reps);
                System.out.printf("| %s | %.2f | %.2f |%n", pattern.name(), forward, backward);
            }
        }
    }

    private static double medianCpuMs(Runnable body, double warmSeconds, int reps) {
        for (long end = System.nanoTime() + (long) (warmSeconds * 1e9); System.nanoTime() < end; ) body.run();
        long[] t = new long[reps];
        for (int i = 0; i < reps; i++) {
            long start = THREADS.getCurrentThreadCpuTime();
            body.run();
            t[i] = THREADS.getCurrentThreadCpuTime() - start;
        }
        Arrays.sort(t);
        return t[reps / 2] / 1e6;
    }

    private static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals(name)) return args[i + 1];
        return fallback;
    }
}
