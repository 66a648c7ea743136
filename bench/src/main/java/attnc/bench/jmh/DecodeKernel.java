package attnc.bench.jmh;

import attnc.front.Frontend;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.pass.Passes;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/**
 * The decode benchmarks' kernel ({@link Decode}, {@link MlaDecode}): dense attention compiled by
 * the JVM backend, run on a pool of exactly the state's threads. A long step takes 0.1–1 s, so
 * JMH's own warm-up would time the first calls in the interpreter and later ones in
 * on-stack-replaced loops: {@link #warm} first runs a small step of the same layout until C2 has
 * compiled the kernel's loops as whole methods.
 */
final class DecodeKernel implements AutoCloseable {
    private final ExecutorService helpers;
    private final JvmKernel kernel;

    DecodeKernel(int threads) throws attnc.front.CompileException {
        int workers = Workers.count(threads);
        helpers = Workers.helpers(workers);
        kernel = new JvmBackend().compile(Passes.optimize(Frontend.compile("dense", "mask: true\n"), Map.of())).withExecutor(helpers, workers);
    }

    /** Runs {@code step} again and again for {@code nanos}. */
    void warm(Decode.Step step, long nanos) {
        for (long start = System.nanoTime(); System.nanoTime() - start < nanos; ) step.run(kernel);
    }

    Object run(Decode.Step step) { return step.run(kernel); }

    @Override
    public void close() {
        kernel.close();
        helpers.shutdownNow();
    }
}
