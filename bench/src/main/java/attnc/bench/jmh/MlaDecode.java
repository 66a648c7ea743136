package attnc.bench.jmh;

import attnc.ir.DType;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.tensor.Tensor;
import java.util.Map;
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
 * One MLA decode step (DeepSeek's absorbed form) of the JVM decode kernel, dense pattern, fp32:
 * B = 4 sequences, {@code heads} query heads over one latent KV head, D = 576, Dv = 512, one
 * query at the end of {@code nkv} keys. V is K's first 512 columns ({@code values = shared}: a
 * view of K's storage, the cache MLA keeps) or a tensor of its own ({@code separate}); K and V
 * contiguous or in shuffled pages ({@code pageN}). As in {@link Decode}, the trial's setup first
 * runs small steps until C2 has compiled the kernel, so no case is timed in the interpreter.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MlaDecode {
    static final int BATCH = 4, D = 576, DV = 512;

    @Param({"16"}) public int heads;
    @Param({"4096"}) public int nkv;
    @Param({"shared"}) public String values;
    @Param({"contiguous"}) public String layout;
    @Param({"0"}) public int threads;

    /** A small step (one sequence, two key tiles) for the warm-up: at 128 heads a cold step of 512 keys takes about a second. */
    private static final int WARM_KEYS = 128;
    private static final long WARM_NANOS = 3_000_000_000L;

    private DecodeKernel kernel;
    private Decode.Step step;

    @Setup(Level.Trial)
    public void prepare() throws Exception {
        kernel = new DecodeKernel(threads);
        kernel.warm(step(1, Math.min(nkv, WARM_KEYS)), WARM_NANOS);
        step = step(BATCH, nkv);
    }

    private Decode.Step step(int batch, int keys) {
        boolean shared = switch (values) {
            case "shared" -> true;
            case "separate" -> false;
            default -> throw new IllegalArgumentException("values " + values + ": expected shared or separate");
        };
        float[] q = DecodeInputs.random((long) batch * heads * D, 1);
        if (layout.equals("contiguous")) {
            Tensor k = Tensor.wrap(DecodeInputs.random((long) batch * keys * D, 2), batch, 1, keys, D);
            Tensor v = shared ? k.leadingColumns(DV) : Tensor.wrap(DecodeInputs.random((long) batch * keys * DV, 3), batch, 1, keys, DV);
            Problem problem = new Problem(Tensor.wrap(q, batch, heads, 1, D), k, v, Map.of(), Map.of(), Problem.BOTTOM_RIGHT);
            return new Decode.Step(problem, Tensor.allocate(DType.FLOAT32, batch, heads, 1, DV), null);
        }
        Decode.Pages pages = Decode.Pages.shuffled(layout, batch, keys);
        Tensor kPool = Tensor.wrap(DecodeInputs.random((long) pages.count() * pages.page() * D, 2), pages.count(), pages.page(), 1, D);
        Tensor vPool = shared ? kPool.leadingColumns(DV) : Tensor.wrap(DecodeInputs.random((long) pages.count() * pages.page() * DV, 3), pages.count(), pages.page(), 1, DV);
        KvCache cache = new KvCache(kPool, vPool, pages.table(), pages.lengths());
        return new Decode.Step(null, null, new RaggedBatch(Tensor.wrap(q, batch, heads, D), Decode.queryStarts(batch, 1), cache, Map.of()));
    }

    /** Floating-point operations of a step: q·k over D and P·V over Dv, a multiply and an add each. */
    static double flops(int heads, int nkv) { return 2.0 * BATCH * heads * nkv * (D + DV); }

    /** Bytes of K and V a step reads: V's only when it is a tensor of its own. */
    static long bytes(int nkv, boolean shared) { return 4L * BATCH * nkv * (D + (shared ? 0 : DV)); }

    @Benchmark
    public Object attnc() {
        return kernel.run(step);
    }

    @TearDown(Level.Trial)
    public void shutdown() {
        kernel.close();
    }
}
