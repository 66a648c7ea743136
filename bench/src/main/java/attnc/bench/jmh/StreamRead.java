package attnc.bench.jmh;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Memory read bandwidth, the roofline's other side: each thread sums its own 64 MiB array (twice
 * the 32 MiB L3 of either machine) with four vector accumulators. One operation is one byte read.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class StreamRead {
    static final int FLOATS = 16 << 20;
    private float[] data;

    @Setup(Level.Trial)
    public void fill() {
        data = new float[FLOATS];
        for (int i = 0; i < FLOATS; i++) data[i] = i & 1023;
    }

    @Benchmark
    @OperationsPerInvocation(FLOATS * Float.BYTES)
    public float read() {
        int step = FmaPeak.F.length();
        FloatVector a0 = FloatVector.zero(FmaPeak.F), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < FLOATS; i += 4 * step) {
            a0 = a0.add(FloatVector.fromArray(FmaPeak.F, data, i));
            a1 = a1.add(FloatVector.fromArray(FmaPeak.F, data, i + step));
            a2 = a2.add(FloatVector.fromArray(FmaPeak.F, data, i + 2 * step));
            a3 = a3.add(FloatVector.fromArray(FmaPeak.F, data, i + 3 * step));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
