package attnc.bench.jmh;

import attnc.bench.OrtPeer;
import attnc.bench.Workload;
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
 * ONNX Runtime's Attention op (the peer models in bench/src/main/resources/onnx) on the same case,
 * inputs and thread count as {@link Attention}: the peer of this 2-core machine. Patterns ONNX
 * cannot express run the closest model ({@link Workload#peerExact()} false: softcap and ALiBi
 * run plain attention of the same shape), and masked ones take the pattern's bool mask.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class Onnx {
    @Param({"dense"}) public String pattern;
    @Param({"2048"}) public int n;
    @Param({"64"}) public int d;
    @Param({"0"}) public int threads;

    private OrtPeer peer;
    private OrtPeer.Call call;

    @Setup(Level.Trial)
    public void open() throws Exception {
        Workload w = Workload.named(pattern, n, d);
        peer = new OrtPeer(Workers.count(threads));
        float[][] qkv = w.randomQkv();
        call = peer.new Call(w, qkv[0], qkv[1], qkv[2]);
    }

    @Benchmark
    public int ort() throws Exception {
        return call.runDiscarding();
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        call.close();
        peer.close();
    }
}
