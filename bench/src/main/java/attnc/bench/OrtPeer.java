package attnc.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime running the peer models (the ONNX Attention op, opset 23: dense, causal, and
 * masked with a bool [S, S] mask), with as many intra-op threads as cores. Inputs are direct
 * buffers built once per case, outside the timed region.
 */
public final class OrtPeer implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final Map<Workload.Peer, OrtSession> sessions = new LinkedHashMap<>();

    public OrtPeer(int threads) throws OrtException, IOException {
        for (Workload.Peer peer : Workload.Peer.values()) {
            String file = "/onnx/attention_" + peer.name().toLowerCase() + ".onnx";
            byte[] model;
            try (InputStream in = OrtPeer.class.getResourceAsStream(file)) {
                model = in.readAllBytes();
            }
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(threads);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            sessions.put(peer, env.createSession(model, options));
        }
    }

    /** The models' inputs, names and shapes, as ONNX Runtime reports them. */
    String describe() throws OrtException {
        StringBuilder text = new StringBuilder();
        for (var e : sessions.entrySet()) {
            text.append(e.getKey()).append(':');
            for (Map.Entry<String, NodeInfo> in : e.getValue().getInputInfo().entrySet()) text.append(' ').append(in.getKey()).append(' ').append(in.getValue().getInfo());
            text.append('\n');
        }
        return text.toString();
    }

    /** A prepared call: input tensors bound to the model's input names. */
    public final class Call implements AutoCloseable {
        private final OrtSession session;
        private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();

        /**
         * The dense model on q {@code qShape} and k, v {@code kvShape} ([B, heads, N, D]; fewer
         * K/V heads than query heads is ONNX's GQA): a decode step's peer.
         */
        public Call(float[] q, long[] qShape, float[] k, float[] v, long[] kvShape) throws OrtException {
            session = sessions.get(Workload.Peer.DENSE);
            List<String> names = new ArrayList<>(session.getInputNames());
            inputs.put(names.get(0), tensor(q, qShape));
            inputs.put(names.get(1), tensor(k, kvShape));
            inputs.put(names.get(2), tensor(v, kvShape));
        }

        public Call(Workload w, float[] q, float[] k, float[] v) throws OrtException {
            session = sessions.get(w.peer());
            List<String> names = new ArrayList<>(session.getInputNames());
            inputs.put(names.get(0), tensor(q, 1, w.heads(), w.nq(), w.d()));
            inputs.put(names.get(1), tensor(k, 1, w.heads(), w.nkv(), w.d()));
            inputs.put(names.get(2), tensor(v, 1, w.heads(), w.nkv(), w.d()));
            if (w.peer() == Workload.Peer.MASKED) {
                ByteBuffer mask = ByteBuffer.allocateDirect(w.nq() * w.nkv()).order(ByteOrder.nativeOrder());
                for (int i = 0; i < w.nq(); i++) for (int kv = 0; kv < w.nkv(); kv++) mask.put((byte) (w.isVisible(0, w.queryPosition(i), kv) ? 1 : 0));
                mask.flip();
                inputs.put(names.get(3), OnnxTensor.createTensor(env, mask, new long[] {w.nq(), w.nkv()}, OnnxJavaType.BOOL));
            }
        }

        /** Runs the model; returns the output [1, H, Nq, D] as floats. */
        public float[] run() throws OrtException {
            try (OrtSession.Result result = session.run(inputs)) {
                FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[] copy = new float[out.remaining()];
                out.get(copy);
                return copy;
            }
        }

        /** Runs the model and keeps nothing: what a benchmark times (the copy out of ONNX Runtime's buffer is not its work). */
        public int runDiscarding() throws OrtException {
            try (OrtSession.Result result = session.run(inputs)) {
                return result.size();
            }
        }

        @Override
        public void close() {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(float[] data, long... shape) throws OrtException {
        FloatBuffer buffer = ByteBuffer.allocateDirect(data.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buffer.put(data).flip();
        return OnnxTensor.createTensor(env, buffer, shape);
    }

    @Override
    public void close() throws OrtException {
        for (OrtSession s : sessions.values()) s.close();
    }
}
