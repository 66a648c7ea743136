package attnc.bench.jmh;

import attnc.jvm.kernel.Tiles;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The generated kernel's two products alone, on one tile of {@link #QUERIES} queries × {@link
 * #KEYS} keys × {@link #D} (what {@link Tiles} computes inside every tile: S = K·Qᵀ and O += P·V),
 * operands in L1/L2, nothing else: {@link JmhBench} prints them as a percentage of the one-thread
 * FMA peak beside the whole kernel's, so the part of a kernel's time the products do not explain
 * (softmax, packing, masks, output) reads off the table.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TileProducts {
    public TileProducts() {}

    static final int QUERIES = 128, KEYS = 128, D = 64;

    private final float[] keys = random(KEYS * D, 1), queries = random(D * QUERIES, 2), values = random(KEYS * D, 3);
    private final float[] scores = random(KEYS * QUERIES, 4), output = new float[QUERIES * D];

    private static float[] random(int n, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() - 0.5f;
        return x;
    }

    @Benchmark
    public float[] qk() {
        Tiles.qk(keys, 0, D, queries, QUERIES, scores, KEYS);
        return scores;
    }

    @Benchmark
    public float[] pv() {
        Tiles.pv(scores, QUERIES, values, 0, D, output, QUERIES, KEYS);
        return output;
    }

    /** Floating-point operations of one call of either product. */
    public static double flopsPerOp() { return 2.0 * QUERIES * KEYS * D; }
}
