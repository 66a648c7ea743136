package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The pattern-independent arithmetic of a tile: the two matrix products and the online-softmax
 * row update. Register-blocked 4 rows × 4 vectors: per step 4 vector loads and 4 broadcasts feed
 * 16 FMAs, and the 16 accumulators plus operands fit AVX-512's 32 registers. Static and
 * monomorphic, so C2 compiles each once and every generated kernel shares the compiled code.
 */
public final class Tiles {
    private Tiles() {}

    /**
     * s[r·bk + j] = Σ_d q[r·d + i] · kt[i·bk + j] for rows [0, rows) (a multiple of 4) and
     * keys [0, bk) (a multiple of 4 vectors).
     */
    public static void qk(float[] q, int d, float[] kt, int bk, float[] s, int rows) {
        for (int r = 0; r < rows; r += 4) {
            int q0 = r * d, q1 = q0 + d, q2 = q1 + d, q3 = q2 + d;
            for (int c = 0; c < bk; c += 4 * L) {
                FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
                FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                for (int i = 0, kb = c; i < d; i++, kb += bk) {
                    FloatVector k0 = FloatVector.fromArray(F, kt, kb);
                    FloatVector k1 = FloatVector.fromArray(F, kt, kb + L);
                    FloatVector k2 = FloatVector.fromArray(F, kt, kb + 2 * L);
                    FloatVector k3 = FloatVector.fromArray(F, kt, kb + 3 * L);
                    FloatVector x = FloatVector.broadcast(F, q[q0 + i]);
                    a00 = k0.fma(x, a00); a01 = k1.fma(x, a01); a02 = k2.fma(x, a02); a03 = k3.fma(x, a03);
                    x = FloatVector.broadcast(F, q[q1 + i]);
                    a10 = k0.fma(x, a10); a11 = k1.fma(x, a11); a12 = k2.fma(x, a12); a13 = k3.fma(x, a13);
                    x = FloatVector.broadcast(F, q[q2 + i]);
                    a20 = k0.fma(x, a20); a21 = k1.fma(x, a21); a22 = k2.fma(x, a22); a23 = k3.fma(x, a23);
                    x = FloatVector.broadcast(F, q[q3 + i]);
                    a30 = k0.fma(x, a30); a31 = k1.fma(x, a31); a32 = k2.fma(x, a32); a33 = k3.fma(x, a33);
                }
                int o = r * bk + c;
                a00.intoArray(s, o); a01.intoArray(s, o + L); a02.intoArray(s, o + 2 * L); a03.intoArray(s, o + 3 * L);
                o += bk;
                a10.intoArray(s, o); a11.intoArray(s, o + L); a12.intoArray(s, o + 2 * L); a13.intoArray(s, o + 3 * L);
                o += bk;
                a20.intoArray(s, o); a21.intoArray(s, o + L); a22.intoArray(s, o + 2 * L); a23.intoArray(s, o + 3 * L);
                o += bk;
                a30.intoArray(s, o); a31.intoArray(s, o + L); a32.intoArray(s, o + 2 * L); a33.intoArray(s, o + 3 * L);
            }
        }
    }

    /**
     * o[r·vs + c] += Σ_j p[r·bk + j] · v[j·vs + c] for rows [0, rows) (a multiple of 4), keys
     * [0, bk) and columns [0, vs) (whole vectors): blocks of 4 vectors, then single vectors.
     */
    public static void pv(float[] p, int bk, float[] v, int vs, float[] o, int rows) {
        for (int r = 0; r < rows; r += 4) {
            int p0 = r * bk, p1 = p0 + bk, p2 = p1 + bk, p3 = p2 + bk;
            int c = 0;
            for (; c + 4 * L <= vs; c += 4 * L) {
                int o0 = r * vs + c, o1 = o0 + vs, o2 = o1 + vs, o3 = o2 + vs;
                FloatVector a00 = FloatVector.fromArray(F, o, o0), a01 = FloatVector.fromArray(F, o, o0 + L);
                FloatVector a02 = FloatVector.fromArray(F, o, o0 + 2 * L), a03 = FloatVector.fromArray(F, o, o0 + 3 * L);
                FloatVector a10 = FloatVector.fromArray(F, o, o1), a11 = FloatVector.fromArray(F, o, o1 + L);
                FloatVector a12 = FloatVector.fromArray(F, o, o1 + 2 * L), a13 = FloatVector.fromArray(F, o, o1 + 3 * L);
                FloatVector a20 = FloatVector.fromArray(F, o, o2), a21 = FloatVector.fromArray(F, o, o2 + L);
                FloatVector a22 = FloatVector.fromArray(F, o, o2 + 2 * L), a23 = FloatVector.fromArray(F, o, o2 + 3 * L);
                FloatVector a30 = FloatVector.fromArray(F, o, o3), a31 = FloatVector.fromArray(F, o, o3 + L);
                FloatVector a32 = FloatVector.fromArray(F, o, o3 + 2 * L), a33 = FloatVector.fromArray(F, o, o3 + 3 * L);
                for (int j = 0, vb = c; j < bk; j++, vb += vs) {
                    FloatVector v0 = FloatVector.fromArray(F, v, vb);
                    FloatVector v1 = FloatVector.fromArray(F, v, vb + L);
                    FloatVector v2 = FloatVector.fromArray(F, v, vb + 2 * L);
                    FloatVector v3 = FloatVector.fromArray(F, v, vb + 3 * L);
                    FloatVector x = FloatVector.broadcast(F, p[p0 + j]);
                    a00 = v0.fma(x, a00); a01 = v1.fma(x, a01); a02 = v2.fma(x, a02); a03 = v3.fma(x, a03);
                    x = FloatVector.broadcast(F, p[p1 + j]);
                    a10 = v0.fma(x, a10); a11 = v1.fma(x, a11); a12 = v2.fma(x, a12); a13 = v3.fma(x, a13);
                    x = FloatVector.broadcast(F, p[p2 + j]);
                    a20 = v0.fma(x, a20); a21 = v1.fma(x, a21); a22 = v2.fma(x, a22); a23 = v3.fma(x, a23);
                    x = FloatVector.broadcast(F, p[p3 + j]);
                    a30 = v0.fma(x, a30); a31 = v1.fma(x, a31); a32 = v2.fma(x, a32); a33 = v3.fma(x, a33);
                }
                a00.intoArray(o, o0); a01.intoArray(o, o0 + L); a02.intoArray(o, o0 + 2 * L); a03.intoArray(o, o0 + 3 * L);
                a10.intoArray(o, o1); a11.intoArray(o, o1 + L); a12.intoArray(o, o1 + 2 * L); a13.intoArray(o, o1 + 3 * L);
                a20.intoArray(o, o2); a21.intoArray(o, o2 + L); a22.intoArray(o, o2 + 2 * L); a23.intoArray(o, o2 + 3 * L);
                a30.intoArray(o, o3); a31.intoArray(o, o3 + L); a32.intoArray(o, o3 + 2 * L); a33.intoArray(o, o3 + 3 * L);
            }
            for (; c < vs; c += L) {
                int o0 = r * vs + c, o1 = o0 + vs, o2 = o1 + vs, o3 = o2 + vs;
                FloatVector a0 = FloatVector.fromArray(F, o, o0), a1 = FloatVector.fromArray(F, o, o1);
                FloatVector a2 = FloatVector.fromArray(F, o, o2), a3 = FloatVector.fromArray(F, o, o3);
                for (int j = 0, vb = c; j < bk; j++, vb += vs) {
                    FloatVector v0 = FloatVector.fromArray(F, v, vb);
                    a0 = v0.fma(FloatVector.broadcast(F, p[p0 + j]), a0);
                    a1 = v0.fma(FloatVector.broadcast(F, p[p1 + j]), a1);
                    a2 = v0.fma(FloatVector.broadcast(F, p[p2 + j]), a2);
                    a3 = v0.fma(FloatVector.broadcast(F, p[p3 + j]), a3);
                }
                a0.intoArray(o, o0); a1.intoArray(o, o1); a2.intoArray(o, o2); a3.intoArray(o, o3);
            }
        }
    }

    /**
     * Online softmax over one tile row: raises the running max m[r], turns scores into
     * e^(s − m) in place, rescales the row's sum and output by e^(m_old − m_new). A row with
     * every score −∞ so far keeps m = −∞ and gets weights 0 (never e^(−∞ + ∞) = NaN).
     */
    public static void softmaxRow(float[] s, int off, int bk, float[] m, float[] l, int r, float[] o, int vs) {
        FloatVector max = FloatVector.fromArray(F, s, off);
        for (int j = L; j < bk; j += L) max = max.max(FloatVector.fromArray(F, s, off + j));
        float oldMax = m[r];
        float newMax = Math.max(oldMax, max.reduceLanes(VectorOperators.MAX));
        if (newMax == Float.NEGATIVE_INFINITY) {
            for (int j = 0; j < bk; j += L) FloatVector.zero(F).intoArray(s, off + j);
            return;
        }
        FloatVector shift = FloatVector.broadcast(F, newMax);
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < bk; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, off + j).sub(shift);
            FloatVector p = x.lanewise(VectorOperators.EXP);
            p.intoArray(s, off + j);
            sum = sum.add(p);
        }
        float alpha = oldMax == newMax ? 1f : (float) Math.exp(oldMax - newMax);
        m[r] = newMax;
        l[r] = l[r] * alpha + sum.reduceLanes(VectorOperators.ADD);
        if (alpha != 1f) {
            for (int c = r * vs, end = c + vs; c < end; c += L) FloatVector.fromArray(F, o, c).mul(alpha).intoArray(o, c);
        }
    }

    /** Sigmoid weights sigmoid(s + bias) in place; −∞ (masked) gives 0. */
    public static void sigmoidRow(float[] s, int off, int bk, float bias) {
        for (int j = 0; j < bk; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, off + j).add(bias);
            FloatVector.broadcast(F, 1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f)).intoArray(s, off + j);
        }
    }

    /** Unnormalised weights: the score itself, 0 where masked (−∞). */
    public static void identityRow(float[] s, int off, int bk) {
        for (int j = 0; j < bk; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, off + j);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(s, off + j);
        }
    }

    /** s += bias over n elements (whole vectors): applies a 0/−∞ mask. */
    public static void addBias(float[] s, float[] bias, int off, int n) {
        for (int j = off, end = off + n; j < end; j += L) {
            FloatVector.fromArray(F, s, j).add(FloatVector.fromArray(F, bias, j)).intoArray(s, j);
        }
    }
}
