package attnc.bench.jmh;

import static attnc.bench.jmh.DecodeInputs.D;
import static attnc.bench.jmh.DecodeInputs.HEADS;
import static attnc.bench.jmh.DecodeInputs.KV_HEADS;

import attnc.ir.DType;
import attnc.jvm.JvmKernel;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * One decode step of the JVM kernel (dense attention, {@link DecodeInputs}' shape): K and V
 * contiguous [B, Hkv, Nkv, D] through {@code Kernel.forward(problem, out, null)}, or held in a
 * paged cache ({@code page16}, {@code page64}: pages shuffled through the pool) through
 * {@code Kernel.forward(RaggedBatch)}, on a pool of exactly {@code threads} threads. The trial's setup
 * first runs small steps of the same layout for two seconds, so that every case is timed in C2's code.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class Decode {
    @Param({"1"}) public int nq;
    @Param({"4096"}) public int nkv;
    @Param({"contiguous"}) public String layout;
    @Param({"0"}) public int threads;

    /** Keys of the small step {@link #prepare} runs first, until C2 has compiled the kernel's loops as whole methods. */
    private static final int WARM_KEYS = 512;
    private static final long WARM_NANOS = 2_000_000_000L;

    private DecodeKernel kernel;
    private Step step;

    @Setup(Level.Trial)
    public void prepare() throws Exception {
        kernel = new DecodeKernel(threads);
        kernel.warm(step(1, Math.min(nkv, WARM_KEYS)), WARM_NANOS);
        step = step(DecodeInputs.batch(nkv), nkv);
    }

    /** The inputs of one step: {@code batch} sequences of {@code keys} keys in this state's layout. */
    private Step step(int batch, int keys) {
        float[] q = DecodeInputs.random((long) batch * HEADS * nq * D, 1);
        long kvCount = (long) batch * KV_HEADS * keys * D;
        if (layout.equals("contiguous")) {
            Problem problem = new Problem(Tensor.wrap(q, batch, HEADS, nq, D), Tensor.wrap(DecodeInputs.random(kvCount, 2), batch, KV_HEADS, keys, D),
                    Tensor.wrap(DecodeInputs.random(kvCount, 3), batch, KV_HEADS, keys, D), Map.of(), Map.of(), Problem.BOTTOM_RIGHT);
            return new Step(problem, Tensor.allocate(DType.FLOAT32, batch, HEADS, nq, D), null);
        }
        Pages pages = Pages.shuffled(layout, batch, keys);
        long poolCount = (long) pages.count() * pages.page() * KV_HEADS * D;
        KvCache cache = new KvCache(Tensor.wrap(DecodeInputs.random(poolCount, 2), pages.count(), pages.page(), KV_HEADS, D),
                Tensor.wrap(DecodeInputs.random(poolCount, 3), pages.count(), pages.page(), KV_HEADS, D), pages.table(), pages.lengths());
        return new Step(null, null, new RaggedBatch(Tensor.wrap(q, batch * nq, HEADS, D), queryStarts(batch, nq), cache, Map.of()));
    }

    /**
     * A paged layout ({@code layout} "page16", "page64", ...) of {@code batch} sequences of
     * {@code keys} keys each, the pool's {@code count} pages in a seeded shuffled order.
     */
    record Pages(int page, int count, Tensor table, Tensor lengths) {
        static Pages shuffled(String layout, int batch, int keys) {
            if (!layout.startsWith("page")) throw new IllegalArgumentException("layout " + layout + ": expected contiguous, page16, page64, ...");
            int page = Integer.parseInt(layout.substring(4)), perSequence = (keys + page - 1) / page, count = batch * perSequence;
            List<Integer> order = new ArrayList<>();
            for (int p = 0; p < count; p++) order.add(p);
            Collections.shuffle(order, new Random(4));
            int[] lengths = new int[batch];
            Arrays.fill(lengths, keys);
            return new Pages(page, count, Tensor.wrap(order.stream().mapToInt(Integer::intValue).toArray(), batch, perSequence), Tensor.wrap(lengths, batch));
        }
    }

    /** Offsets of {@code batch} sequences of {@code nq} packed queries each. */
    static Tensor queryStarts(int batch, int nq) {
        int[] starts = new int[batch + 1];
        for (int b = 0; b < batch; b++) starts[b + 1] = starts[b] + nq;
        return Tensor.wrap(starts, batch + 1);
    }

    /** A contiguous problem and its output, or a paged batch. */
    record Step(Problem problem, Tensor out, RaggedBatch paged) {
        Object run(JvmKernel kernel) {
            if (paged != null) return kernel.forward(paged);
            kernel.forward(problem, out, null);
            return out;
        }
    }

    @Benchmark
    public Object attnc() {
        return kernel.run(step);
    }

    @TearDown(Level.Trial)
    public void shutdown() {
        kernel.close();
    }
}
