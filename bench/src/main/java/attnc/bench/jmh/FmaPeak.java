package attnc.bench.jmh;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The Vector API's fp32 FMA peak: twelve independent chains c = c·x + y in registers, nothing
 * loaded or stored in the loop, so the FMA units alone bound it (twelve covers a 4-cycle
 * latency on two pipes with room to spare; fewer chains than latency × pipes would measure
 * latency instead). One operation is one vector FMA: GFLOP/s = ops/s · 2 · lanes, which
 * {@link JmhBench} prints as the peak every kernel figure is a percentage of. Run with JMH's
 * thread count at 1 and at the kernel's thread count, it measures what those threads can reach.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class FmaPeak {
    public FmaPeak() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int STEPS = 4096, CHAINS = 12;

    /** x just below 1 and y small: the chains converge to 1 and never reach a subnormal or infinity. */
    private final float[] operands = {0.9999f, 1e-4f};

    @Benchmark
    @OperationsPerInvocation(STEPS * CHAINS)
    public FloatVector fma() {
        FloatVector x = FloatVector.broadcast(F, operands[0]), y = FloatVector.broadcast(F, operands[1]);
        FloatVector c0 = y, c1 = y.add(1f), c2 = y.add(2f), c3 = y.add(3f), c4 = y.add(4f), c5 = y.add(5f);
        FloatVector c6 = y.add(6f), c7 = y.add(7f), c8 = y.add(8f), c9 = y.add(9f), c10 = y.add(10f), c11 = y.add(11f);
        for (int i = 0; i < STEPS; i++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
        }
        return c0.add(c1).add(c2.add(c3)).add(c4.add(c5).add(c6.add(c7))).add(c8.add(c9).add(c10.add(c11)));
    }

    /** Floating-point operations of one JMH operation (one vector FMA). */
    public static double flopsPerOp() { return 2.0 * F.length(); }

    /** Floating-point operations of one {@link #fma} call. */
    public static double flopsPerInvocation() { return flopsPerOp() * STEPS * CHAINS; }
}
