package attnc.bench.jmh;

import static attnc.bench.jmh.DecodeInputs.D;
import static attnc.bench.jmh.DecodeInputs.HEADS;
import static attnc.bench.jmh.DecodeInputs.KV_HEADS;

import attnc.bench.OrtPeer;
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
 * ONNX Runtime's Attention op (the dense peer model, GQA through fewer K/V heads) on
 * {@link Decode}'s contiguous inputs (the same seeds), with as many intra-op threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class OnnxDecode {
    @Param({"1"}) public int nq;
    @Param({"4096"}) public int nkv;
    @Param({"0"}) public int threads;

    private OrtPeer peer;
    private OrtPeer.Call call;

    @Setup(Level.Trial)
    public void open() throws Exception {
        int batch = DecodeInputs.batch(nkv);
        peer = new OrtPeer(Workers.count(threads));
        long kvCount = (long) batch * KV_HEADS * nkv * D;
        call = peer.new Call(DecodeInputs.random((long) batch * HEADS * nq * D, 1), new long[] {batch, HEADS, nq, D},
                DecodeInputs.random(kvCount, 2), DecodeInputs.random(kvCount, 3), new long[] {batch, KV_HEADS, nkv, D});
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
