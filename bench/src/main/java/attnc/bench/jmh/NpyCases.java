package attnc.bench.jmh;

import attnc.bench.Workload;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.tensor.Npy;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Each case's inputs and attnc's output as .npy under {@code DIR/PATTERN_N<n>_D<d>/} (q, k, v
 * [1, H, N, D]; doc [1, N] or slope [H] where the pattern reads them; out), so the Python peers
 * time the same data and check their output against attnc's.
 */
final class NpyCases {
    private NpyCases() {}

    static void write(Path dir, List<String> patterns, List<Integer> ns, List<Integer> ds, int threads) throws Exception {
        ExecutorService helpers = Executors.newFixedThreadPool(Math.max(1, threads - 1));
        try {
            for (String pattern : patterns) {
                for (int n : ns) {
                    for (int d : ds) {
                        Workload w = Workload.named(pattern, n, d);
                        Path folder = Files.createDirectories(dir.resolve(pattern + "_N" + n + "_D" + d));
                        Problem problem = Attention.problem(w);
                        try (JvmKernel kernel = new JvmBackend().compile(Passes.optimize(Frontend.compile(pattern, w.source()), Map.of()))
                                .withExecutor(helpers, threads)) {
                            Tensor out = Tensor.allocate(DType.FLOAT32, 1, w.heads(), w.nq(), w.d());
                            kernel.forward(problem, out, null);
                            Npy.write(folder.resolve("out.npy"), out);
                        }
                        Npy.write(folder.resolve("q.npy"), problem.q());
                        Npy.write(folder.resolve("k.npy"), problem.k());
                        Npy.write(folder.resolve("v.npy"), problem.v());
                        for (var input : problem.inputs().entrySet()) Npy.write(folder.resolve(input.getKey() + ".npy"), input.getValue());
                    }
                }
            }
        } finally {
            helpers.shutdownNow();
        }
    }
}
