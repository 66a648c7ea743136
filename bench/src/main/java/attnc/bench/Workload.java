package attnc.bench;

/**
 * One benchmark case: a pattern (its .attn source), sizes, the ONNX Runtime model that computes
 * the same attention (or the closest one it can), and the pattern in plain Java for the
 * hand-written loop and for counting visible pairs.
 */
record Workload(String name, String source, int heads, int nq, int nkv, int d, Peer peer, boolean peerExact,
                Visible visible, Score score, int docs) {

    /** d score/d s at a score the pattern computed: 1 except under the tanh soft cap, where it is 1 − (score/30)². */
    float scoreByS(float score) {
        return name.startsWith("softcap") ? 1 - (score / 30) * (score / 30) : 1;
    }

    enum Peer { DENSE, CAUSAL, MASKED }

    interface Visible { boolean test(int h, int q, int kv); }

    interface Score { float apply(float s, int h, int q, int kv); }

    static final Score PLAIN = (s, h, q, kv) -> s;

    /** Absolute position of query row i: bottom-right aligned, as the kernels default to. */
    int queryPosition(int i) { return nkv - nq + i; }

    /** ALiBi slope of head h: 2^(−8(h+1)/H), as in the paper. */
    static float slope(int h, int heads) { return (float) Math.pow(2, -8.0 * (h + 1) / heads); }

    int document(int kv) { return (int) ((long) kv * docs / nkv); }

    String label() { return name + " N=" + (nq == nkv ? String.valueOf(nkv) : nq + "/" + nkv) + " D=" + d; }

    static Workload dense(int n, int d) {
        return new Workload("dense", "mask: true\n", 16, n, n, d, Peer.DENSE, true, (h, q, kv) -> true, PLAIN, 0);
    }

    static Workload causal(int n, int d) {
        return new Workload("causal", "mask: q >= kv\n", 16, n, n, d, Peer.CAUSAL, true, (h, q, kv) -> q >= kv, PLAIN, 0);
    }

    static Workload slidingWindow(int n, int d) {
        return new Workload("sliding window 1024", "param window: int = 1024\nmask: q >= kv && q - kv < window\n", 16, n, n, d,
                Peer.MASKED, true, (h, q, kv) -> q >= kv && q - kv < 1024, PLAIN, 0);
    }

    static Workload document(int n, int d) {
        return new Workload("document (8 docs)", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]\n", 16, n, n, d,
                Peer.MASKED, true, null, PLAIN, 8);
    }

    static Workload softcap(int n, int d) {
        return new Workload("softcap 30", "mask: true\nscore: 30.0 * tanh(s / 30.0)\n", 16, n, n, d, Peer.DENSE, false,
                (h, q, kv) -> true, (s, h, q, kv) -> (float) (30 * Math.tanh(s / 30)), 0);
    }

    static Workload alibi(int n, int d) {
        return new Workload("ALiBi causal", "input slope: float32[H]\nmask: q >= kv\nscore: s - slope[h] * (q - kv)\n", 16, n, n, d,
                Peer.CAUSAL, false, (h, q, kv) -> q >= kv, (s, h, q, kv) -> s - slope(h, 16) * (q - kv), 0);
    }

    static Workload decode(int nkv, int d) {
        return new Workload("decode", "mask: true\n", 16, 1, nkv, d, Peer.DENSE, true, (h, q, kv) -> true, PLAIN, 0);
    }

    boolean isVisible(int h, int q, int kv) {
        return docs > 0 ? document(q) == document(kv) : visible.test(h, q, kv);
    }

    /** Visible (query, key) pairs of one head (every head sees the same here). */
    long visiblePairs() {
        long count = 0;
        for (int i = 0; i < nq; i++) {
            int q = queryPosition(i);
            for (int kv = 0; kv < nkv; kv++) if (isVisible(0, q, kv)) count++;
        }
        return count;
    }
}
