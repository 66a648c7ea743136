package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.L;
import static attnc.jvm.kernel.Lanes.FLOATS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The arithmetic of a decode tile, vectorised over d: a handful of query rows (a GQA group's
 * heads × a few queries) against a tile of key rows read where they are (one offset per row,
 * so pages need no gathering). Products are blocked 4 rows × 2 keys for q·k (one load of each key
 * vector feeds four FMAs) and 4 rows × 4 vectors for P·V (sixteen accumulators kept over the
 * tile's keys). As in {@link Tiles}, methods take arrays, never vectors, and stay small enough
 * for C2 to inline their vector code; a vector a loop carries is cast to its exact class
 * ({@link Lanes#FLOATS}) before a call on it.
 */
public final class DecodeTiles {
    private DecodeTiles() {}

    /**
     * p[r·bk + j] = Σ_t q[r·ks + t]·k[kOff[j] + t] for rows [0, rows) and keys [0, keys); rows of q
     * and k are ks wide (whole vectors, zero past D).
     */
    public static void dots(float[] q, int rows, int ks, float[] k, int[] kOff, int keys, float[] p, int bk) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            int j = 0;
            for (; j + 2 <= keys; j += 2) dot4x2(q, r * ks, ks, k, kOff[j], kOff[j + 1], p, r * bk + j, bk);
            for (; j < keys; j++) dot4(q, r * ks, ks, k, kOff[j], p, r * bk + j, bk);
        }
        for (; r < rows; r++) for (int j = 0; j < keys; j++) p[r * bk + j] = dot(q, r * ks, ks, k, kOff[j]);
    }

    private static void dot4x2(float[] q, int q0, int ks, float[] k, int k0, int k1, float[] p, int at, int bk) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int t = 0; t < ks; t += L) {
            FloatVector x = FloatVector.fromArray(F, k, k0 + t), y = FloatVector.fromArray(F, k, k1 + t);
            FloatVector q0v = FloatVector.fromArray(F, q, q0 + t), q1v = FloatVector.fromArray(F, q, q0 + ks + t);
            FloatVector q2v = FloatVector.fromArray(F, q, q0 + 2 * ks + t), q3v = FloatVector.fromArray(F, q, q0 + 3 * ks + t);
            a0 = q0v.fma(x, a0); a1 = q1v.fma(x, a1); a2 = q2v.fma(x, a2); a3 = q3v.fma(x, a3);
            b0 = q0v.fma(y, b0); b1 = q1v.fma(y, b1); b2 = q2v.fma(y, b2); b3 = q3v.fma(y, b3);
        }
        p[at] = FLOATS.cast(a0).reduceLanes(VectorOperators.ADD); p[at + 1] = FLOATS.cast(b0).reduceLanes(VectorOperators.ADD);
        p[at + bk] = FLOATS.cast(a1).reduceLanes(VectorOperators.ADD); p[at + bk + 1] = FLOATS.cast(b1).reduceLanes(VectorOperators.ADD);
        p[at + 2 * bk] = FLOATS.cast(a2).reduceLanes(VectorOperators.ADD); p[at + 2 * bk + 1] = FLOATS.cast(b2).reduceLanes(VectorOperators.ADD);
        p[at + 3 * bk] = FLOATS.cast(a3).reduceLanes(VectorOperators.ADD); p[at + 3 * bk + 1] = FLOATS.cast(b3).reduceLanes(VectorOperators.ADD);
    }

    private static void dot4(float[] q, int q0, int ks, float[] k, int k0, float[] p, int at, int bk) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < ks; t += L) {
            FloatVector x = FloatVector.fromArray(F, k, k0 + t);
            a0 = FloatVector.fromArray(F, q, q0 + t).fma(x, a0);
            a1 = FloatVector.fromArray(F, q, q0 + ks + t).fma(x, a1);
            a2 = FloatVector.fromArray(F, q, q0 + 2 * ks + t).fma(x, a2);
            a3 = FloatVector.fromArray(F, q, q0 + 3 * ks + t).fma(x, a3);
        }
        p[at] = FLOATS.cast(a0).reduceLanes(VectorOperators.ADD);
        p[at + bk] = FLOATS.cast(a1).reduceLanes(VectorOperators.ADD);
        p[at + 2 * bk] = FLOATS.cast(a2).reduceLanes(VectorOperators.ADD);
        p[at + 3 * bk] = FLOATS.cast(a3).reduceLanes(VectorOperators.ADD);
    }

    private static float dot(float[] q, int q0, int ks, float[] k, int k0) {
        FloatVector a = FloatVector.zero(F), b = a;
        int t = 0;
        for (; t + 2 * L <= ks; t += 2 * L) {
            a = FloatVector.fromArray(F, q, q0 + t).fma(FloatVector.fromArray(F, k, k0 + t), a);
            b = FloatVector.fromArray(F, q, q0 + t + L).fma(FloatVector.fromArray(F, k, k0 + t + L), b);
        }
        if (t < ks) a = FloatVector.fromArray(F, q, q0 + t).fma(FloatVector.fromArray(F, k, k0 + t), a);
        return FLOATS.cast(a).add(b).reduceLanes(VectorOperators.ADD);
    }

    /**
     * o[r·vs + c] += Σ_j p[r·bk + j]·v[vOff[j] + c] for rows [0, rows), keys [0, keys) and columns
     * [0, vs) (whole vectors).
     */
    public static void pv(float[] p, int bk, float[] v, int[] vOff, int vs, float[] o, int rows, int keys) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            int c = 0;
            for (; c + 4 * L <= vs; c += 4 * L) pv4x4(p, r * bk, bk, v, vOff, o, r * vs + c, vs, c, keys);
            for (; c < vs; c += L) pv4x1(p, r * bk, bk, v, vOff, o, r * vs + c, vs, c, keys);
        }
        for (; r < rows; r++) for (int c = 0; c < vs; c += L) pv1x1(p, r * bk, v, vOff, o, r * vs + c, c, keys);
    }

    private static void pv4x4(float[] p, int p0, int bk, float[] v, int[] vOff, float[] o, int o0, int vs, int c, int keys) {
        int o1 = o0 + vs, o2 = o1 + vs, o3 = o2 + vs;
        FloatVector a00 = FloatVector.fromArray(F, o, o0), a01 = FloatVector.fromArray(F, o, o0 + L);
        FloatVector a02 = FloatVector.fromArray(F, o, o0 + 2 * L), a03 = FloatVector.fromArray(F, o, o0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, o, o1), a11 = FloatVector.fromArray(F, o, o1 + L);
        FloatVector a12 = FloatVector.fromArray(F, o, o1 + 2 * L), a13 = FloatVector.fromArray(F, o, o1 + 3 * L);
        FloatVector a20 = FloatVector.fromArray(F, o, o2), a21 = FloatVector.fromArray(F, o, o2 + L);
        FloatVector a22 = FloatVector.fromArray(F, o, o2 + 2 * L), a23 = FloatVector.fromArray(F, o, o2 + 3 * L);
        FloatVector a30 = FloatVector.fromArray(F, o, o3), a31 = FloatVector.fromArray(F, o, o3 + L);
        FloatVector a32 = FloatVector.fromArray(F, o, o3 + 2 * L), a33 = FloatVector.fromArray(F, o, o3 + 3 * L);
        for (int j = 0; j < keys; j++) {
            int vb = vOff[j] + c, pb = p0 + j;
            FloatVector v0 = FloatVector.fromArray(F, v, vb), v1 = FloatVector.fromArray(F, v, vb + L);
            FloatVector v2 = FloatVector.fromArray(F, v, vb + 2 * L), v3 = FloatVector.fromArray(F, v, vb + 3 * L);
            FloatVector x = FloatVector.broadcast(F, p[pb]);
            a00 = v0.fma(x, a00); a01 = v1.fma(x, a01); a02 = v2.fma(x, a02); a03 = v3.fma(x, a03);
            x = FloatVector.broadcast(F, p[pb + bk]);
            a10 = v0.fma(x, a10); a11 = v1.fma(x, a11); a12 = v2.fma(x, a12); a13 = v3.fma(x, a13);
            x = FloatVector.broadcast(F, p[pb + 2 * bk]);
            a20 = v0.fma(x, a20); a21 = v1.fma(x, a21); a22 = v2.fma(x, a22); a23 = v3.fma(x, a23);
            x = FloatVector.broadcast(F, p[pb + 3 * bk]);
            a30 = v0.fma(x, a30); a31 = v1.fma(x, a31); a32 = v2.fma(x, a32); a33 = v3.fma(x, a33);
        }
        FLOATS.cast(a00).intoArray(o, o0); FLOATS.cast(a01).intoArray(o, o0 + L); FLOATS.cast(a02).intoArray(o, o0 + 2 * L); FLOATS.cast(a03).intoArray(o, o0 + 3 * L);
        FLOATS.cast(a10).intoArray(o, o1); FLOATS.cast(a11).intoArray(o, o1 + L); FLOATS.cast(a12).intoArray(o, o1 + 2 * L); FLOATS.cast(a13).intoArray(o, o1 + 3 * L);
        FLOATS.cast(a20).intoArray(o, o2); FLOATS.cast(a21).intoArray(o, o2 + L); FLOATS.cast(a22).intoArray(o, o2 + 2 * L); FLOATS.cast(a23).intoArray(o, o2 + 3 * L);
        FLOATS.cast(a30).intoArray(o, o3); FLOATS.cast(a31).intoArray(o, o3 + L); FLOATS.cast(a32).intoArray(o, o3 + 2 * L); FLOATS.cast(a33).intoArray(o, o3 + 3 * L);
    }

    private static void pv4x1(float[] p, int p0, int bk, float[] v, int[] vOff, float[] o, int o0, int vs, int c, int keys) {
        FloatVector a0 = FloatVector.fromArray(F, o, o0), a1 = FloatVector.fromArray(F, o, o0 + vs);
        FloatVector a2 = FloatVector.fromArray(F, o, o0 + 2 * vs), a3 = FloatVector.fromArray(F, o, o0 + 3 * vs);
        for (int j = 0; j < keys; j++) {
            FloatVector x = FloatVector.fromArray(F, v, vOff[j] + c);
            int pb = p0 + j;
            a0 = x.fma(FloatVector.broadcast(F, p[pb]), a0);
            a1 = x.fma(FloatVector.broadcast(F, p[pb + bk]), a1);
            a2 = x.fma(FloatVector.broadcast(F, p[pb + 2 * bk]), a2);
            a3 = x.fma(FloatVector.broadcast(F, p[pb + 3 * bk]), a3);
        }
        FLOATS.cast(a0).intoArray(o, o0); FLOATS.cast(a1).intoArray(o, o0 + vs); FLOATS.cast(a2).intoArray(o, o0 + 2 * vs); FLOATS.cast(a3).intoArray(o, o0 + 3 * vs);
    }

    private static void pv1x1(float[] p, int p0, float[] v, int[] vOff, float[] o, int o0, int c, int keys) {
        FloatVector a = FloatVector.fromArray(F, o, o0);
        for (int j = 0; j < keys; j++) a = FloatVector.fromArray(F, v, vOff[j] + c).fma(FloatVector.broadcast(F, p[p0 + j]), a);
        FLOATS.cast(a).intoArray(o, o0);
    }

    /**
     * Online softmax of one head's lanes [i0, i0 + L) over keys [0, keys) of s[j·bq + i], with the
     * running max, sum and rescale factor at {@code state + i}: as {@link Tiles#softmaxColumns},
     * for any key count and state kept apart from the tile.
     */
    public static void softmax(float[] s, int bq, int keys, float[] m, float[] l, float[] alpha, int state, int i0) {
        FloatVector top = columnMax(s, bq, keys, i0);
        FloatVector old = FloatVector.fromArray(F, m, state + i0);
        top = top.max(old);
        FloatVector shift = top.blend(0f, top.eq(Float.NEGATIVE_INFINITY));
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0, at = i0; j < keys; j++, at += bq) {
            FloatVector e = Tiles.expNonPositive(FloatVector.fromArray(F, s, at).sub(shift));
            e.intoArray(s, at);
            sum = FLOATS.cast(sum).add(e);
        }
        FloatVector rescale = Tiles.expNonPositive(old.sub(shift)).blend(1f, old.eq(top));
        FloatVector.fromArray(F, l, state + i0).mul(rescale).add(sum).intoArray(l, state + i0);
        top.intoArray(m, state + i0);
        rescale.intoArray(alpha, state + i0);
    }

    private static FloatVector columnMax(float[] s, int bq, int keys, int i0) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0;
        int j = 0, at = i0;
        for (; j + 2 <= keys; j += 2, at += 2 * bq) {
            FloatVector x0 = FloatVector.fromArray(F, s, at), x1 = FloatVector.fromArray(F, s, at + bq);
            FloatVector k0 = FLOATS.cast(m0), k1 = FLOATS.cast(m1);
            m0 = k0.blend(x0, k0.lt(x0));
            m1 = k1.blend(x1, k1.lt(x1));
        }
        if (j < keys) {
            FloatVector x0 = FloatVector.fromArray(F, s, at), k0 = FLOATS.cast(m0);
            m0 = k0.blend(x0, k0.lt(x0));
        }
        return FLOATS.cast(m0).max(m1);
    }

    /** Sigmoid weights sigmoid(s + bias[state + i]) in place for one head's lanes [i0, i0 + L); −∞ gives 0. */
    public static void sigmoid(float[] s, int bq, int keys, float[] bias, int state, int i0) {
        FloatVector b = FloatVector.fromArray(F, bias, state + i0);
        for (int j = 0, at = i0; j < keys; j++, at += bq) VectorMath.sigmoid(FloatVector.fromArray(F, s, at).add(b)).intoArray(s, at);
    }

    /** The score as its weight, 0 where masked (−∞), for one head's lanes [i0, i0 + L). */
    public static void identity(float[] s, int bq, int keys, int i0) {
        for (int j = 0, at = i0; j < keys; j++, at += bq) {
            FloatVector x = FloatVector.fromArray(F, s, at);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(s, at);
        }
    }
}
