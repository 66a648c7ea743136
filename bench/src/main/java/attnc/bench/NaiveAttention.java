package attnc.bench;

import java.util.stream.IntStream;

/**
 * The straightforward Java a programmer would write first: per query row, every visible score
 * (a scalar dot product), a softmax, the weighted sum of V; heads in parallel. It computes only
 * every {@code rowStep}-th query row (spread over the whole sequence, so the visible fraction is
 * kept) and the benchmark scales its time by rowStep: the full loop would take minutes.
 */
final class NaiveAttention {
    private NaiveAttention() {}

    static void run(Workload w, float[] q, float[] k, float[] v, float[] out, int rowStep) {
        int n = w.nkv(), d = w.d();
        float scale = (float) (1 / Math.sqrt(d));
        IntStream.range(0, w.heads()).parallel().forEach(h -> {
            float[] s = new float[n];
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
                int oBase = (h * w.nq() + i) * d;
                for (int c = 0; c < d; c++) out[oBase + c] = 0;
                for (int kv = 0; kv < n; kv++) {
                    if (s[kv] == Float.NEGATIVE_INFINITY) continue;
                    float p = (float) Math.exp(s[kv] - max);
                    sum += p;
                    int vBase = (h * n + kv) * d;
                    for (int c = 0; c < d; c++) out[oBase + c] += p * v[vBase + c];
                }
                for (int c = 0; c < d; c++) out[oBase + c] /= sum;
            }
        });
    }
}
