package attnc.bench;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * One benchmark case: a pattern (its .attn source), sizes, the ONNX Runtime model that computes
 * the same attention (or the closest one it can), and the pattern in plain Java for the
 * hand-written loop and for counting visible pairs.
 */
public record Workload(String name, String source, int heads, int nq, int nkv, int d, Peer peer, boolean peerExact,
                       Visible visible, Score score, int docs) {

    /** d score/d s at a score the pattern computed: 1 except under the tanh soft cap, where it is 1 − (score/30)². */
    float scoreByS(float score) {
        return name.startsWith("softcap") ? 1 - (score / 30) * (score / 30) : 1;
    }

    public enum Peer { DENSE, CAUSAL, MASKED }

    public interface Visible { boolean test(int h, int q, int kv); }

    public interface Score { float apply(float s, int h, int q, int kv); }

    static final Score PLAIN = (s, h, q, kv) -> s;

    /** Absolute position of query row i: bottom-right aligned, as the kernels default to. */
    int queryPosition(int i) { return nkv - nq + i; }

    /** ALiBi slope of head h: 2^(−8(h+1)/H), as in the paper. */
    static float slope(int h, int heads) { return (float) Math.pow(2, -8.0 * (h + 1) / heads); }

    int document(int kv) { return (int) ((long) kv * docs / nkv); }

    public String label() { return name + " N=" + (nq == nkv ? String.valueOf(nkv) : nq + "/" + nkv) + " D=" + d; }

    public static Workload dense(int n, int d) {
        return new Workload("dense", "mask: true\n", 16, n, n, d, Peer.DENSE, true, (h, q, kv) -> true, PLAIN, 0);
    }

    public static Workload causal(int n, int d) {
        return new Workload("causal", "mask: q >= kv\n", 16, n, n, d, Peer.CAUSAL, true, (h, q, kv) -> q >= kv, PLAIN, 0);
    }

    public static Workload slidingWindow(int n, int d) {
        return new Workload("sliding window 1024", "param window: int = 1024\nmask: q >= kv && q - kv < window\n", 16, n, n, d,
                Peer.MASKED, true, (h, q, kv) -> q >= kv && q - kv < 1024, PLAIN, 0);
    }

    public static Workload document(int n, int d) {
        return new Workload("document (8 docs)", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]\n", 16, n, n, d,
                Peer.MASKED, true, null, PLAIN, 8);
    }

    public static Workload softcap(int n, int d) {
        return new Workload("softcap 30", "mask: true\nscore: 30.0 * tanh(s / 30.0)\n", 16, n, n, d, Peer.DENSE, false,
                (h, q, kv) -> true, (s, h, q, kv) -> (float) (30 * Math.tanh(s / 30)), 0);
    }

    /** Causal softcapping, as the 16-core peers run it (the issue-15 table's "softcap (causal)"). */
    public static Workload softcapCausal(int n, int d) {
        return new Workload("softcap causal", "mask: q >= kv\nscore: 30.0 * tanh(s / 30.0)\n", 16, n, n, d, Peer.CAUSAL, false,
                (h, q, kv) -> q >= kv, (s, h, q, kv) -> (float) (30 * Math.tanh(s / 30)), 0);
    }

    public static Workload alibi(int n, int d) {
        return new Workload("ALiBi causal", "input slope: float32[H]\nmask: q >= kv\nscore: s - slope[h] * (q - kv)\n", 16, n, n, d,
                Peer.CAUSAL, false, (h, q, kv) -> q >= kv, (s, h, q, kv) -> s - slope(h, 16) * (q - kv), 0);
    }

    public static Workload decode(int nkv, int d) {
        return new Workload("decode", "mask: true\n", 16, 1, nkv, d, Peer.DENSE, true, (h, q, kv) -> true, PLAIN, 0);
    }

    boolean isVisible(int h, int q, int kv) {
        return docs > 0 ? document(q) == document(kv) : visible.test(h, q, kv);
    }

    /** Visible (query, key) pairs of one head (every head sees the same here). */
    public long visiblePairs() {
        long count = 0;
        for (int i = 0; i < nq; i++) {
            int q = queryPosition(i);
            for (int kv = 0; kv < nkv; kv++) if (isVisible(0, q, kv)) count++;
        }
        return count;
    }

    /**
     * A case by its short name (dense, causal, sliding_window, document, softcap, softcap_causal,
     * alibi, decode): how benchmark parameters and the Python peers name them.
     */
    public static Workload named(String name, int n, int d) {
        return switch (name) {
            case "dense" -> dense(n, d);
            case "causal" -> causal(n, d);
            case "sliding_window" -> slidingWindow(n, d);
            case "document" -> document(n, d);
            case "softcap" -> softcap(n, d);
            case "softcap_causal" -> softcapCausal(n, d);
            case "alibi" -> alibi(n, d);
            case "decode" -> decode(n, d);
            default -> throw new IllegalArgumentException("unknown case '" + name
                    + "': expected dense, causal, sliding_window, document, softcap, softcap_causal, alibi or decode");
        };
    }

    /** Seeded random q, k and v in [−1, 1), [1, H, N, D] each: every benchmark of this case gets the same. */
    public float[][] randomQkv() {
        Random random = new Random(label().hashCode());
        return new float[][] {randoms(heads * nq * d, random), randoms(heads * nkv * d, random), randoms(heads * nkv * d, random)};
    }

    /** The pattern's input tensors: document ids, ALiBi slopes. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> inputs = new HashMap<>();
        if (docs > 0) {
            int[] ids = new int[nkv];
            for (int i = 0; i < ids.length; i++) ids[i] = document(i);
            inputs.put("doc", Tensor.ofInts(DType.INT32, new int[] {1, nkv}, ids));
        }
        if (source.contains("slope")) {
            float[] slopes = new float[heads];
            for (int h = 0; h < slopes.length; h++) slopes[h] = slope(h, heads);
            inputs.put("slope", Tensor.ofFloats(DType.FLOAT32, new int[] {heads}, slopes));
        }
        return inputs;
    }

    /** Work of one call: 4·H·D per visible pair (the QKᵀ and P·V products). */
    public double flops() { return 4.0 * heads * d * visiblePairs(); }

    static float[] randoms(int n, Random random) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() * 2 - 1;
        return x;
    }
}
