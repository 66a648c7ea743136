package attnc.reference;

import attnc.tensor.Tensor;

/**
 * Attention and its gradients written out for one (b, h) at a time with dense Nq × Nkv matrices,
 * straight from the textbook formulas, apart from {@link ReferenceBackward}: S = scale·QKᵀ,
 * Z = logit(S), P = norm(Z) on visible entries, O = PV, dV = Pᵀ dO, dP = dO Vᵀ, dZ by the norm's
 * rule, dS = dZ ∘ logit'(S), dQ = scale·dS K, dK = scale·dSᵀ Q. dO is the gradient with respect to
 * O (after any output transform's chain rule, which the caller applies).
 */
final class DenseBackward {
    interface Visible { boolean test(int b, int h, int q, int kv); }
    interface Logit { double at(int b, int h, int q, int kv, double s); }
    interface PerHead { double at(int h); }

    enum Norm { SOFTMAX, SIGMOID, NONE }

    /** The matrices of every (b, h), indexed [b][h][i][j] (i the query row, j the key), and dq, dk, dv flat. */
    record Outcome(double[][][][] p, double[][][][] s, double[][][][] dZ, double[][][] sinkWeight, double[][][] delta, double[][][][] o,
                   double[] dq, double[] dk, double[] dv) {}

    private DenseBackward() {}

    /**
     * {@code sink} (softmax) and {@code bias} (sigmoid) may be null; {@code slope} is d logit/d s.
     * {@code dO} is [B, H, Nq, Dv] as a flat array.
     */
    static Outcome run(Tensor q, Tensor k, Tensor v, int offset, double scale, Visible visible, Logit logit, Logit slope, Norm norm,
                       PerHead sink, PerHead bias, double[] dO) {
        int batch = q.dim(0), heads = q.dim(1), nq = q.dim(2), headDim = q.dim(3), kvHeads = k.dim(1), nkv = k.dim(2), valueDim = v.dim(3);
        double[][][][] p = new double[batch][heads][nq][nkv], s = new double[batch][heads][nq][nkv], dZ = new double[batch][heads][nq][nkv];
        double[][][][] o = new double[batch][heads][nq][valueDim];
        double[][][] sinkWeight = new double[batch][heads][nq], delta = new double[batch][heads][nq];
        double[] dq = new double[q.size()], dk = new double[k.size()], dv = new double[v.size()];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int kvHead = h / (heads / kvHeads);
                for (int i = 0; i < nq; i++) {
                    int position = offset + i;
                    double[] z = new double[nkv];
                    boolean[] seen = new boolean[nkv];
                    for (int j = 0; j < nkv; j++) {
                        seen[j] = visible.test(b, h, position, j);
                        double x = 0;
                        for (int c = 0; c < headDim; c++) x += (double) q.floats()[((b * heads + h) * nq + i) * headDim + c] * k.floats()[((b * kvHeads + kvHead) * nkv + j) * headDim + c];
                        s[b][h][i][j] = scale * x;
                        z[j] = logit.at(b, h, position, j, s[b][h][i][j]);
                    }
                    double denominator = sink == null ? 0 : Math.exp(sink.at(h));
                    for (int j = 0; j < nkv; j++) {
                        if (!seen[j]) continue;
                        p[b][h][i][j] = switch (norm) {
                            case SOFTMAX -> Math.exp(z[j]);
                            case SIGMOID -> 1 / (1 + Math.exp(-(z[j] + bias.at(h))));
                            case NONE -> z[j];
                        };
                        denominator += p[b][h][i][j];
                    }
                    if (norm == Norm.SOFTMAX && denominator > 0) {
                        for (int j = 0; j < nkv; j++) p[b][h][i][j] /= denominator;
                        if (sink != null) sinkWeight[b][h][i] = Math.exp(sink.at(h)) / denominator;
                    }
                    int row = (b * heads + h) * nq + i;
                    for (int d = 0; d < valueDim; d++) {
                        for (int j = 0; j < nkv; j++) o[b][h][i][d] += p[b][h][i][j] * v.floats()[((b * kvHeads + kvHead) * nkv + j) * valueDim + d];
                        delta[b][h][i] += dO[row * valueDim + d] * o[b][h][i][d];
                    }
                    for (int j = 0; j < nkv; j++) {
                        if (!seen[j]) continue;
                        double dP = 0;
                        for (int d = 0; d < valueDim; d++) {
                            int at = ((b * kvHeads + kvHead) * nkv + j) * valueDim + d;
                            dP += dO[row * valueDim + d] * v.floats()[at];
                            dv[at] += p[b][h][i][j] * dO[row * valueDim + d];
                        }
                        double pij = p[b][h][i][j];
                        dZ[b][h][i][j] = switch (norm) {
                            case SOFTMAX -> pij * (dP - delta[b][h][i]);
                            case SIGMOID -> dP * pij * (1 - pij);
                            case NONE -> dP;
                        };
                        double dS = dZ[b][h][i][j] * slope.at(b, h, position, j, s[b][h][i][j]);
                        for (int c = 0; c < headDim; c++) {
                            int qAt = ((b * heads + h) * nq + i) * headDim + c, kAt = ((b * kvHeads + kvHead) * nkv + j) * headDim + c;
                            dq[qAt] += scale * dS * k.floats()[kAt];
                            dk[kAt] += scale * dS * q.floats()[qAt];
                        }
                    }
                }
            }
        }
        return new Outcome(p, s, dZ, sinkWeight, delta, o, dq, dk, dv);
    }
}
