package attnc.bench.jmh;

import attnc.jvm.kernel.Lanes;
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
 * operands in L1/L2, nothing else, and the same tile's online softmax: {@link JmhBench} prints the
 * products as a percentage of the one-thread FMA peak beside the whole kernel's, and the softmax's
 * share of the three, so the part of a kernel's time none of them explains (packing, masks,
 * output) reads off the table.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TileProducts {
    public TileProducts() {}

    static final int QUERIES = 128, KEYS = 128, D = 64;

    private final float[] keys = random(KEYS * D, 1), queries = random(D * QUERIES, 2), values = random(KEYS * D, 3);
    private final float[] scores = random(KEYS * QUERIES, 4), output = new float[QUERIES * D];
    private final float[] rowMax = new float[QUERIES], rowSum = new float[QUERIES], rescale = new float[QUERIES];

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

    /**
     * The softmax of a dense tile as the kernel runs it: each vector of queries' column max, the
     * exponentials and sums in place, then the output rows' rescale. Called again on its own
     * weights it keeps the running max, so it times the steady state, where no row is rescaled.
     */
    @Benchmark
    public float[] softmax() {
        for (int i0 = 0; i0 < QUERIES; i0 += Lanes.L) {
            Tiles.softmaxColumns(scores, QUERIES, KEYS, rowMax, rowSum, rescale, i0);
        }
        Tiles.rescaleRows(output, D, rescale, QUERIES);
        return scores;
    }

    /** Floating-point operations of one call of either product. */
    public static double flopsPerOp() { return 2.0 * QUERIES * KEYS * D; }
}
