package attnc.bench;

import attnc.analysis.IndexRanges;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.JvmBackend;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What the pre-launch index-range check costs against the JVM kernel it guards, on a causal
 * document mask of N tokens (documents of random lengths around 2048, ids in order): the check
 * alone and one whole forward call (which includes it), medians after warm-up, and their ratio.
 * Usage: java ... attnc.bench.IndexCheckBench [N] [reps]
 */
public final class IndexCheckBench {
    private IndexCheckBench() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 131072;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int heads = 1, dim = 64;
        Pattern pattern = Passes.optimize(Frontend.compile("document", "input doc: int32[B, Nkv]\nmask: q >= kv && doc[b, q] == doc[b, kv]"), Map.of());
        Random random = new Random(7);
        int[] ids = new int[n];
        for (int i = 0, doc = 0; i < n; doc++) {
            int length = 1024 + random.nextInt(2048);
            for (int j = 0; j < length && i < n; j++) ids[i++] = doc;
        }
        int[] shape = {1, heads, n, dim};
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, shape, random), Tensor.random(DType.FLOAT32, shape, random),
                Tensor.random(DType.FLOAT32, shape, random), Map.of("doc", Tensor.ofInts(DType.INT32, new int[] {1, n}, ids)));
        Binding binding = Binding.of(pattern, problem);
        double checkSeconds = Timing.median(20, Math.max(reps, 21), () -> IndexRanges.check(pattern, binding, problem.inputs()));
        try (Kernel kernel = new JvmBackend().compile(pattern)) {
            double forwardSeconds = Timing.median(1, reps, () -> kernel.forward(problem));
            System.out.printf(Locale.ROOT, "document mask, B=1 H=%d N=%d D=%d: index check %.3f ms, JVM forward %.1f ms (check included): %.4f%% of the kernel's time%n",
                    heads, n, dim, checkSeconds * 1e3, forwardSeconds * 1e3, 100 * checkSeconds / forwardSeconds);
        }
    }
}
