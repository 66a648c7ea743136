package attnc.reference;

import attnc.tensor.Tensor;

/**
 * Attention written straight from DESIGN.md's kernel semantics with plain loops, apart from the
 * reference: s = scale·q·k, the score rule, the mask, a normalisation over kv, the weighted sum of
 * V, the output rule. Kv head of query head h is h / (H / Hkv); q positions are absolute.
 */
final class DirectAttention {
    interface Visible { boolean test(int b, int h, int q, int kv); }
    interface Score { double apply(int b, int h, int q, int kv, double s); }
    interface Output { double apply(int b, int h, int q, int d, double o); }

    enum Normalisation { SOFTMAX, SIGMOID, NONE }

    record Rules(Visible visible, Score score, Normalisation norm, double sigmoidBias, Output output) {
        static Rules softmax(Visible visible, Score score) {
            return new Rules(visible, score, Normalisation.SOFTMAX, 0, (b, h, q, d, o) -> o);
        }

        Rules withOutput(Output o) { return new Rules(visible, score, norm, sigmoidBias, o); }
    }

    /** Outputs [B, H, Nq, Dv] and, for softmax, LSE [B, H, Nq]. */
    record Outcome(double[] out, double[] lse) {}

    private DirectAttention() {}

    static Outcome run(Tensor q, Tensor k, Tensor v, int queryOffset, Rules rules) {
        int batch = q.dim(0), heads = q.dim(1), nq = q.dim(2), headDim = q.dim(3);
        int kvHeads = k.dim(1), nkv = k.dim(2), valueDim = v.dim(3);
        double scale = 1.0 / Math.sqrt(headDim);
        double[] out = new double[batch * heads * nq * valueDim];
        double[] lse = new double[batch * heads * nq];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int kvHead = h / (heads / kvHeads);
                for (int i = 0; i < nq; i++) {
                    int position = queryOffset + i;
                    double[] x = new double[nkv];
                    boolean[] visible = new boolean[nkv];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < nkv; j++) {
                        visible[j] = rules.visible().test(b, h, position, j);
                        double dot = 0;
                        for (int c = 0; c < headDim; c++) dot += (double) q.floats()[((b * heads + h) * nq + i) * headDim + c] * k.floats()[((b * kvHeads + kvHead) * nkv + j) * headDim + c];
                        x[j] = rules.score().apply(b, h, position, j, scale * dot);
                        if (visible[j]) max = Math.max(max, x[j]);
                    }
                    double[] weights = new double[nkv];
                    double sum = 0;
                    for (int j = 0; j < nkv; j++) {
                        if (!visible[j]) continue;
                        weights[j] = switch (rules.norm()) {
                            case SOFTMAX -> Math.exp(x[j] - max);
                            case SIGMOID -> 1.0 / (1.0 + Math.exp(-(x[j] + rules.sigmoidBias())));
                            case NONE -> x[j];
                        };
                        sum += weights[j];
                    }
                    int row = (b * heads + h) * nq + i;
                    lse[row] = max == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : max + Math.log(sum);
                    for (int d = 0; d < valueDim; d++) {
                        double o = 0;
                        for (int j = 0; j < nkv; j++) o += weights[j] * v.floats()[((b * kvHeads + kvHead) * nkv + j) * valueDim + d];
                        if (rules.norm() == Normalisation.SOFTMAX) o = max == Double.NEGATIVE_INFINITY ? 0 : o / sum;
                        out[row * valueDim + d] = rules.output().apply(b, h, position, d, o);
                    }
                }
            }
        }
        return new Outcome(out, lse);
    }
}
