package attnc.bench.jmh;

import attnc.bench.Workload;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One forward call of the generated JVM kernel on a {@link Workload} case (B = 1, H = 16, fp32,
 * the case's seeded inputs), output written in place into a tensor made once, no LSE, on a pool
 * of exactly {@code threads} threads (the caller's included; 0: one per available processor).
 * {@link JmhBench} turns the time per call into GFLOP/s of visible work and a share of the
 * measured FMA peak.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class Attention {
    @Param({"dense"}) public String pattern;
    @Param({"2048"}) public int n;
    @Param({"64"}) public int d;
    @Param({"0"}) public int threads;

    private ExecutorService helpers;
    private JvmKernel kernel;
    private Problem problem;
    private Tensor out;

    @Setup(Level.Trial)
    public void compile() throws Exception {
        Workload w = Workload.named(pattern, n, d);
        int workers = Workers.count(threads);
        helpers = Workers.helpers(workers);
        Pattern compiled = Passes.optimize(Frontend.compile(w.name().replaceAll("\\W", "_"), w.source()), Map.of());
        kernel = new JvmBackend().compile(compiled).withExecutor(helpers, workers);
        problem = problem(w);
        out = Tensor.allocate(DType.FLOAT32, 1, w.heads(), w.nq(), w.d());
    }

    static Problem problem(Workload w) {
        float[][] qkv = w.randomQkv();
        return new Problem(Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nq(), w.d()}, qkv[0]),
                Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nkv(), w.d()}, qkv[1]),
                Tensor.ofFloats(DType.FLOAT32, new int[] {1, w.heads(), w.nkv(), w.d()}, qkv[2]), w.tensors(), Map.of(), Problem.BOTTOM_RIGHT);
    }

    @Benchmark
    public Tensor attnc() {
        kernel.forward(problem, out, null);
        return out;
    }

    @TearDown(Level.Trial)
    public void shutdown() {
        kernel.close();
        helpers.shutdownNow();
    }
}
