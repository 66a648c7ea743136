package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The backward pass's pattern-independent tile arithmetic, in the forward's layout: a tile of
 * weights or score gradients is kept transposed, {@code x[j·bq + i]} for key j and query i, so
 * every rule that is per query (the row's LSE, Δ, the sigmoid's bias) is a vertical vector
 * operation. Products are register-blocked like {@link Tiles}: 4 rows × 4 vectors of columns; a
 * vector a loop carries is cast to its exact class ({@link Lanes#FLOATS}) before a call on it.
 */
public final class GradTiles {
    private GradTiles() {}

    /**
     * out[outOff + r·outStride + c] += Σ_{i < sums} a[aOff + r·rowStride + i·sumStride] · b[bOff + i·bStride + c]
     * for rows r < rows and columns c < cols (whole vectors). With the transposed tile as {@code a},
     * rowStride = bq and sumStride = 1 give Pᵀ·dO and dsᵀ·Q (rows are keys); rowStride = 1 and
     * sumStride = bq give ds·K (rows are queries).
     */
    public static void multiplyAdd(float[] a, int aOff, int rowStride, int sumStride, int rows, int sums,
                                   float[] b, int bOff, int bStride, int cols, float[] out, int outOff, int outStride) {
        int r = 0;
        if (Tiles.SIX_ROWS && cols % (4 * L) == 0) {
            for (int sixes = rows - rows % 12; r < sixes; r += 6) {
                for (int c = 0; c < cols; c += 4 * L) block6x4(a, aOff + r * rowStride, rowStride, sumStride, sums, b, bOff + c, bStride, out, outOff + r * outStride + c, outStride);
            }
        }
        for (; r + 4 <= rows; r += 4) {
            int c = 0;
            for (; c + 4 * L <= cols; c += 4 * L) block4x4(a, aOff + r * rowStride, rowStride, sumStride, sums, b, bOff + c, bStride, out, outOff + r * outStride + c, outStride);
            for (; c < cols; c += L) block4x1(a, aOff + r * rowStride, rowStride, sumStride, sums, b, bOff + c, bStride, out, outOff + r * outStride + c, outStride);
        }
        for (; r < rows; r++) {
            for (int c = 0; c < cols; c += L) row1x1(a, aOff + r * rowStride, sumStride, sums, b, bOff + c, bStride, out, outOff + r * outStride + c);
        }
    }

    private static void block4x4(float[] a, int a0, int rs, int ss, int sums, float[] b, int b0, int bs, float[] out, int o0, int os) {
        int o1 = o0 + os, o2 = o1 + os, o3 = o2 + os;
        int a1 = a0 + rs, a2 = a1 + rs, a3 = a2 + rs;
        FloatVector c00 = FloatVector.fromArray(F, out, o0), c01 = FloatVector.fromArray(F, out, o0 + L);
        FloatVector c02 = FloatVector.fromArray(F, out, o0 + 2 * L), c03 = FloatVector.fromArray(F, out, o0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, out, o1), c11 = FloatVector.fromArray(F, out, o1 + L);
        FloatVector c12 = FloatVector.fromArray(F, out, o1 + 2 * L), c13 = FloatVector.fromArray(F, out, o1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, out, o2), c21 = FloatVector.fromArray(F, out, o2 + L);
        FloatVector c22 = FloatVector.fromArray(F, out, o2 + 2 * L), c23 = FloatVector.fromArray(F, out, o2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, out, o3), c31 = FloatVector.fromArray(F, out, o3 + L);
        FloatVector c32 = FloatVector.fromArray(F, out, o3 + 2 * L), c33 = FloatVector.fromArray(F, out, o3 + 3 * L);
        for (int i = 0, bi = b0, ai = 0; i < sums; i++, bi += bs, ai += ss) {
            FloatVector v0 = FloatVector.fromArray(F, b, bi), v1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector v2 = FloatVector.fromArray(F, b, bi + 2 * L), v3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + ai]);
            c00 = v0.fma(x, c00); c01 = v1.fma(x, c01); c02 = v2.fma(x, c02); c03 = v3.fma(x, c03);
            x = FloatVector.broadcast(F, a[a1 + ai]);
            c10 = v0.fma(x, c10); c11 = v1.fma(x, c11); c12 = v2.fma(x, c12); c13 = v3.fma(x, c13);
            x = FloatVector.broadcast(F, a[a2 + ai]);
            c20 = v0.fma(x, c20); c21 = v1.fma(x, c21); c22 = v2.fma(x, c22); c23 = v3.fma(x, c23);
            x = FloatVector.broadcast(F, a[a3 + ai]);
            c30 = v0.fma(x, c30); c31 = v1.fma(x, c31); c32 = v2.fma(x, c32); c33 = v3.fma(x, c33);
        }
        Lanes.FLOATS.cast(c00).intoArray(out, o0); Lanes.FLOATS.cast(c01).intoArray(out, o0 + L); Lanes.FLOATS.cast(c02).intoArray(out, o0 + 2 * L); Lanes.FLOATS.cast(c03).intoArray(out, o0 + 3 * L);
        Lanes.FLOATS.cast(c10).intoArray(out, o1); Lanes.FLOATS.cast(c11).intoArray(out, o1 + L); Lanes.FLOATS.cast(c12).intoArray(out, o1 + 2 * L); Lanes.FLOATS.cast(c13).intoArray(out, o1 + 3 * L);
        Lanes.FLOATS.cast(c20).intoArray(out, o2); Lanes.FLOATS.cast(c21).intoArray(out, o2 + L); Lanes.FLOATS.cast(c22).intoArray(out, o2 + 2 * L); Lanes.FLOATS.cast(c23).intoArray(out, o2 + 3 * L);
        Lanes.FLOATS.cast(c30).intoArray(out, o3); Lanes.FLOATS.cast(c31).intoArray(out, o3 + L); Lanes.FLOATS.cast(c32).intoArray(out, o3 + 2 * L); Lanes.FLOATS.cast(c33).intoArray(out, o3 + 3 * L);
    }

    /**
     * Six rows × four vectors where there are 32 vector registers ({@link Tiles#SIX_ROWS}; rows in
     * twelves, so that the rest of a multiple of 4 is too); the sums start at zero and are added
     * to out after the loop, so that the six output offsets hold no register during it.
     */
    private static void block6x4(float[] a, int a0, int rs, int ss, int sums, float[] b, int b0, int bs, float[] out, int o0, int os) {
        int a1 = a0 + rs, a2 = a1 + rs, a3 = a2 + rs, a4 = a3 + rs, a5 = a4 + rs;
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        for (int i = 0, bi = b0, ai = 0; i < sums; i++, bi += bs, ai += ss) {
            FloatVector v0 = FloatVector.fromArray(F, b, bi), v1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector v2 = FloatVector.fromArray(F, b, bi + 2 * L), v3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + ai]);
            c00 = v0.fma(x, c00); c01 = v1.fma(x, c01); c02 = v2.fma(x, c02); c03 = v3.fma(x, c03);
            x = FloatVector.broadcast(F, a[a1 + ai]);
            c10 = v0.fma(x, c10); c11 = v1.fma(x, c11); c12 = v2.fma(x, c12); c13 = v3.fma(x, c13);
            x = FloatVector.broadcast(F, a[a2 + ai]);
            c20 = v0.fma(x, c20); c21 = v1.fma(x, c21); c22 = v2.fma(x, c22); c23 = v3.fma(x, c23);
            x = FloatVector.broadcast(F, a[a3 + ai]);
            c30 = v0.fma(x, c30); c31 = v1.fma(x, c31); c32 = v2.fma(x, c32); c33 = v3.fma(x, c33);
            x = FloatVector.broadcast(F, a[a4 + ai]);
            c40 = v0.fma(x, c40); c41 = v1.fma(x, c41); c42 = v2.fma(x, c42); c43 = v3.fma(x, c43);
            x = FloatVector.broadcast(F, a[a5 + ai]);
            c50 = v0.fma(x, c50); c51 = v1.fma(x, c51); c52 = v2.fma(x, c52); c53 = v3.fma(x, c53);
        }
        int o1 = o0 + os, o2 = o1 + os, o3 = o2 + os, o4 = o3 + os, o5 = o4 + os;
        FloatVector.fromArray(F, out, o0).add(Lanes.FLOATS.cast(c00)).intoArray(out, o0); FloatVector.fromArray(F, out, o0 + L).add(Lanes.FLOATS.cast(c01)).intoArray(out, o0 + L);
        FloatVector.fromArray(F, out, o0 + 2 * L).add(Lanes.FLOATS.cast(c02)).intoArray(out, o0 + 2 * L); FloatVector.fromArray(F, out, o0 + 3 * L).add(Lanes.FLOATS.cast(c03)).intoArray(out, o0 + 3 * L);
        FloatVector.fromArray(F, out, o1).add(Lanes.FLOATS.cast(c10)).intoArray(out, o1); FloatVector.fromArray(F, out, o1 + L).add(Lanes.FLOATS.cast(c11)).intoArray(out, o1 + L);
        FloatVector.fromArray(F, out, o1 + 2 * L).add(Lanes.FLOATS.cast(c12)).intoArray(out, o1 + 2 * L); FloatVector.fromArray(F, out, o1 + 3 * L).add(Lanes.FLOATS.cast(c13)).intoArray(out, o1 + 3 * L);
        FloatVector.fromArray(F, out, o2).add(Lanes.FLOATS.cast(c20)).intoArray(out, o2); FloatVector.fromArray(F, out, o2 + L).add(Lanes.FLOATS.cast(c21)).intoArray(out, o2 + L);
        FloatVector.fromArray(F, out, o2 + 2 * L).add(Lanes.FLOATS.cast(c22)).intoArray(out, o2 + 2 * L); FloatVector.fromArray(F, out, o2 + 3 * L).add(Lanes.FLOATS.cast(c23)).intoArray(out, o2 + 3 * L);
        FloatVector.fromArray(F, out, o3).add(Lanes.FLOATS.cast(c30)).intoArray(out, o3); FloatVector.fromArray(F, out, o3 + L).add(Lanes.FLOATS.cast(c31)).intoArray(out, o3 + L);
        FloatVector.fromArray(F, out, o3 + 2 * L).add(Lanes.FLOATS.cast(c32)).intoArray(out, o3 + 2 * L); FloatVector.fromArray(F, out, o3 + 3 * L).add(Lanes.FLOATS.cast(c33)).intoArray(out, o3 + 3 * L);
        FloatVector.fromArray(F, out, o4).add(Lanes.FLOATS.cast(c40)).intoArray(out, o4); FloatVector.fromArray(F, out, o4 + L).add(Lanes.FLOATS.cast(c41)).intoArray(out, o4 + L);
        FloatVector.fromArray(F, out, o4 + 2 * L).add(Lanes.FLOATS.cast(c42)).intoArray(out, o4 + 2 * L); FloatVector.fromArray(F, out, o4 + 3 * L).add(Lanes.FLOATS.cast(c43)).intoArray(out, o4 + 3 * L);
        FloatVector.fromArray(F, out, o5).add(Lanes.FLOATS.cast(c50)).intoArray(out, o5); FloatVector.fromArray(F, out, o5 + L).add(Lanes.FLOATS.cast(c51)).intoArray(out, o5 + L);
        FloatVector.fromArray(F, out, o5 + 2 * L).add(Lanes.FLOATS.cast(c52)).intoArray(out, o5 + 2 * L); FloatVector.fromArray(F, out, o5 + 3 * L).add(Lanes.FLOATS.cast(c53)).intoArray(out, o5 + 3 * L);
    }

    private static void block4x1(float[] a, int a0, int rs, int ss, int sums, float[] b, int b0, int bs, float[] out, int o0, int os) {
        int o1 = o0 + os, o2 = o1 + os, o3 = o2 + os;
        int a1 = a0 + rs, a2 = a1 + rs, a3 = a2 + rs;
        FloatVector c0 = FloatVector.fromArray(F, out, o0), c1 = FloatVector.fromArray(F, out, o1);
        FloatVector c2 = FloatVector.fromArray(F, out, o2), c3 = FloatVector.fromArray(F, out, o3);
        for (int i = 0, bi = b0, ai = 0; i < sums; i++, bi += bs, ai += ss) {
            FloatVector v = FloatVector.fromArray(F, b, bi);
            c0 = v.fma(FloatVector.broadcast(F, a[a0 + ai]), c0);
            c1 = v.fma(FloatVector.broadcast(F, a[a1 + ai]), c1);
            c2 = v.fma(FloatVector.broadcast(F, a[a2 + ai]), c2);
            c3 = v.fma(FloatVector.broadcast(F, a[a3 + ai]), c3);
        }
        Lanes.FLOATS.cast(c0).intoArray(out, o0); Lanes.FLOATS.cast(c1).intoArray(out, o1); Lanes.FLOATS.cast(c2).intoArray(out, o2); Lanes.FLOATS.cast(c3).intoArray(out, o3);
    }

    private static void row1x1(float[] a, int a0, int ss, int sums, float[] b, int b0, int bs, float[] out, int o0) {
        FloatVector c = FloatVector.fromArray(F, out, o0);
        for (int i = 0, bi = b0, ai = a0; i < sums; i++, bi += bs, ai += ss) c = FloatVector.fromArray(F, b, bi).fma(FloatVector.broadcast(F, a[ai]), c);
        Lanes.FLOATS.cast(c).intoArray(out, o0);
    }

    /** p = e^(S − lse[i]) over keys [0, keys) and every query lane; a lane whose lse is +∞ (no row, or nothing visible) gets 0. */
    public static void softmaxWeights(float[] scores, float[] p, int bq, int keys, float[] lse) {
        for (int i0 = 0; i0 < bq; i0 += L) {
            FloatVector top = FloatVector.fromArray(F, lse, i0);
            for (int j = 0, at = i0; j < keys; j++, at += bq) Tiles.expNonPositive(FloatVector.fromArray(F, scores, at).sub(top)).intoArray(p, at);
        }
    }

    /** p = sigmoid(S + bias[i]), as the forward's {@link Tiles#sigmoidColumns}; −∞ (masked) gives 0. */
    public static void sigmoidWeights(float[] scores, float[] p, int bq, int keys, float[] bias) {
        for (int i0 = 0; i0 < bq; i0 += L) {
            FloatVector shift = FloatVector.fromArray(F, bias, i0);
            for (int j = 0, at = i0; j < keys; j++, at += bq) {
                VectorMath.sigmoid(FloatVector.fromArray(F, scores, at).add(shift)).intoArray(p, at);
            }
        }
    }

    /** p = S, with −∞ (masked) as 0, over n elements (whole vectors). */
    public static void identityWeights(float[] scores, float[] p, int n) {
        for (int at = 0; at < n; at += L) {
            FloatVector x = FloatVector.fromArray(F, scores, at);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(p, at);
        }
    }

    /** The softmax rule in place of dP: dS = P ∘ (dP − Δ[i]). */
    public static void softmaxGradient(float[] p, float[] dp, int bq, int keys, float[] delta) {
        for (int i0 = 0; i0 < bq; i0 += L) {
            FloatVector d = FloatVector.fromArray(F, delta, i0);
            for (int j = 0, at = i0; j < keys; j++, at += bq) {
                FloatVector.fromArray(F, p, at).mul(FloatVector.fromArray(F, dp, at).sub(d)).intoArray(dp, at);
            }
        }
    }

    /** The sigmoid rule in place of dP: dS = dP ∘ P(1 − P), over n elements. */
    public static void sigmoidGradient(float[] p, float[] dp, int n) {
        for (int at = 0; at < n; at += L) {
            FloatVector w = FloatVector.fromArray(F, p, at);
            FloatVector.fromArray(F, dp, at).mul(w.mul(w.neg().add(1f))).intoArray(dp, at);
        }
    }

    /**
     * dS = 0 where the tile's bias is −∞ (masked or padding), over n elements: such pairs are not
     * in the row, whatever the rule or the recomputed score made of them.
     */
    public static void zeroMasked(float[] dp, float[] bias, int n) {
        for (int at = 0; at < n; at += L) {
            FloatVector.fromArray(F, dp, at).blend(0f, FloatVector.fromArray(F, bias, at).eq(Float.NEGATIVE_INFINITY)).intoArray(dp, at);
        }
    }

    /** rows[i] += Σ_{j < keys} x[j·bq + i]: per-query sums of a transposed tile. */
    public static void addColumnSums(float[] x, int bq, int keys, float[] rows) {
        for (int i0 = 0; i0 < bq; i0 += L) {
            FloatVector sum = FloatVector.fromArray(F, rows, i0);
            for (int j = 0, at = i0; j < keys; j++, at += bq) sum = Lanes.FLOATS.cast(sum).add(FloatVector.fromArray(F, x, at));
            Lanes.FLOATS.cast(sum).intoArray(rows, i0);
        }
    }

    /**
     * to[toOff + t·bq + r] = from[fromOff + r·stride + t] for columns t < stride and rows r < rows,
     * zero for rows [rows, bq): a query tile's rows transposed, sixteen columns at a time, so that
     * each row's sixteen writes go to lines the row before also wrote (a column of the tile at a
     * time, one row at a time, touched a line a column, and the backward's two tiles of them, Q
     * and dO, outgrew L1: 15% of document's backward at one thread).
     */
    public static void transpose(float[] from, int fromOff, int stride, int rows, float[] to, int toOff, int bq) {
        for (int t0 = 0; t0 < stride; t0 += 16) {
            int t1 = Math.min(stride, t0 + 16);
            for (int r = 0; r < rows; r++) {
                for (int t = t0, src = fromOff + r * stride + t0, dst = toOff + t0 * bq + r; t < t1; t++, src++, dst += bq) to[dst] = from[src];
            }
        }
        if (rows < bq) for (int t = 0; t < stride; t++) Arrays.fill(to, toOff + t * bq + rows, toOff + (t + 1) * bq, 0f);
    }

    /** dst[dstOff + i] += src[i] for i < n (n a whole number of vectors). */
    public static void add(float[] src, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i += L) FloatVector.fromArray(F, dst, dstOff + i).add(FloatVector.fromArray(F, src, i)).intoArray(dst, dstOff + i);
    }
}
