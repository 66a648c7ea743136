package attnc.bench;

import java.util.stream.IntStream;

/**
 * The backward pass as a programmer would first write it in Java, the stand-in peer for
 * {@link BackwardBench} (PyTorch's CPU autograd is measured on the GPU machine): per query row,
 * the visible scores, the softmax, o, Δ = dO·o, then per key dP = dO·v, dS = P(dP − Δ), ds = dS ·
 * d score/d s, and dq += scale·ds·k, dk += scale·ds·q, dv += P·dO with scalar loops; heads in
 * parallel. Like {@link NaiveAttention} it computes every {@code rowStep}-th row only (its dq rows
 * are complete; dk and dv get those rows' share) and the benchmark scales its time by rowStep.
 */
final class NaiveBackward {
    private NaiveBackward() {}

    static void run(Workload w, float[] q, float[] k, float[] v, float[] dOut, float[] dq, float[] dk, float[] dv, int rowStep) {
        int n = w.nkv(), d = w.d();
        float scale = (float) (1 / Math.sqrt(d));
        IntStream.range(0, w.heads()).parallel().forEach(h -> {
            float[] s = new float[n], o = new float[d];
            for (int i = 0; i < w.nq(); i += rowStep) {
                int qp = w.queryPosition(i), qBase = (h * w.nq() + i) * d;
                float max = Float.NEGATIVE_INFINITY;
                for (int kv = 0; kv < n; kv++) {
                    if (!w.isVisible(h, qp, kv)) { s[kv] = Float.NEGATIVE_INFINITY; continue; }
                    int kBase = (h * n + kv) * d;
                    float dot = 0;
                    for (int c = 0; c < d; c++) dot += q[qBase + c] * k[kBase + c];
                    s[kv] = w.score().apply(dot * scale, h, qp, kv);
                    max = Math.max(max, s[kv]);
                }
                float sum = 0;
                for (int kv = 0; kv < n; kv++) if (s[kv] != Float.NEGATIVE_INFINITY) sum += (float) Math.exp(s[kv] - max);
                java.util.Arrays.fill(o, 0);
                for (int kv = 0; kv < n; kv++) {
                    if (s[kv] == Float.NEGATIVE_INFINITY) continue;
                    float p = (float) Math.exp(s[kv] - max) / sum;
                    for (int c = 0; c < d; c++) o[c] += p * v[(h * n + kv) * d + c];
                }
                float delta = 0;
                for (int c = 0; c < d; c++) delta += dOut[qBase + c] * o[c];
                for (int kv = 0; kv < n; kv++) {
                    if (s[kv] == Float.NEGATIVE_INFINITY) continue;
                    int kBase = (h * n + kv) * d;
                    float p = (float) Math.exp(s[kv] - max) / sum, dp = 0;
                    for (int c = 0; c < d; c++) dp += dOut[qBase + c] * v[kBase + c];
                    float ds = p * (dp - delta) * w.scoreByS(s[kv]) * scale;
                    for (int c = 0; c < d; c++) {
                        dq[qBase + c] += ds * k[kBase + c];
                        dk[kBase + c] += ds * q[qBase + c];
                        dv[kBase + c] += p * dOut[qBase + c];
                    }
                }
            }
        });
    }
}
