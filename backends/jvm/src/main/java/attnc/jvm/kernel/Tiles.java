package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.L;
import static attnc.jvm.kernel.Lanes.FLOATS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The pattern-independent arithmetic of a tile, with queries in vector lanes: scores are kept
 * transposed, {@code s[j·bq + i]} for key j and query i. That layout makes the online softmax
 * vertical (a running max, sum and rescale factor per lane, no lane reductions, no scalar exp
 * per row), lets the tile's queries be transposed once per work item instead of every key tile
 * being transposed, and leaves K and V in their natural row-major order.
 *
 * <p>The products are register-blocked 4 × 4 vectors: per step 4 vector loads and 4 broadcasts
 * feed 16 FMAs, and the 16 accumulators plus operands fit AVX-512's 32 registers; with AVX-512,
 * most of a tile goes through 6 × 4 blocks ({@link #SIX_ROWS}). Methods stay
 * small and take no vector arguments: C2 stops inlining in large methods (its node-count
 * cut-off), and a vector passed to a method it did not inline is boxed on the heap. A vector a
 * loop carries (an accumulator, a running max), or a vector parameter, is cast to its exact
 * class ({@link Lanes#FLOATS}) before a call on it, so that C2 inlines the call whatever the
 * profile recorded.
 */
public final class Tiles {
    private Tiles() {}

    /**
     * s[j·bq + i] = Σ_t k[kOff + j·d + t] · qt[t·bq + i] for keys [0, keys) (a multiple of 4)
     * and queries [0, bq) (whole vectors).
     */
    public static void qk(float[] k, int kOff, int d, float[] qt, int bq, float[] s, int keys) {
        qk(k, kOff, d, qt, 0, bq, s, keys);
    }

    /** {@link #qk} with the transposed queries at qt[qtOff + t·bq + i]. */
    public static void qk(float[] k, int kOff, int d, float[] qt, int qtOff, int bq, float[] s, int keys) {
        int blocked = bq - bq % (4 * L), j = 0;
        for (int sixes = inSixes(keys); j < sixes; j += 6) {
            for (int c = 0; c < blocked; c += 4 * L) qkBlock6(k, kOff + j * d, d, qt, bq, s, j * bq + c, qtOff + c);
        }
        for (; j < keys; j += 4) {
            for (int c = 0; c < blocked; c += 4 * L) qkBlock(k, kOff + j * d, d, qt, bq, s, j * bq + c, qtOff + c);
        }
        for (int c = blocked; c < bq; c += L) {
            for (j = 0; j < keys; j += 4) qkVector(k, kOff + j * d, d, qt, bq, s, j * bq + c, qtOff + c);
        }
    }

    /**
     * Six-row blocks (6 × 4 vectors: 24 accumulators, 4 operands and a broadcast) fill AVX-512's 32
     * vector registers and spread each step's loop, index and bounds-check arithmetic over 24 FMAs
     * instead of 16: on an Intel core that arithmetic competes for the two ports the 512-bit FMAs
     * run on (a 128 × 128 × 64 tile alone, one thread, GFLOP per CPU-second: QKᵀ 106 → 120, P·V
     * 98 → 109). With 16 registers (AVX2) they would spill, so only 4-row blocks are used there.
     */
    static final boolean SIX_ROWS = L >= 16;

    /**
     * Rows of [0, n) that six-row blocks take: an even number of blocks, so that the rest of a
     * multiple of 4 is too (0, 4 or 8 rows).
     */
    private static int inSixes(int n) { return SIX_ROWS ? n - n % 12 : 0; }

    /** Four keys × four query vectors. */
    private static void qkBlock(float[] k, int k0, int d, float[] qt, int bq, float[] s, int o, int c) {
        int k1 = k0 + d, k2 = k1 + d, k3 = k2 + d;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int t = 0, qb = c; t < d; t++, qb += bq) {
            FloatVector q0 = FloatVector.fromArray(F, qt, qb);
            FloatVector q1 = FloatVector.fromArray(F, qt, qb + L);
            FloatVector q2 = FloatVector.fromArray(F, qt, qb + 2 * L);
            FloatVector q3 = FloatVector.fromArray(F, qt, qb + 3 * L);
            FloatVector x = FloatVector.broadcast(F, k[k0 + t]);
            a00 = q0.fma(x, a00); a01 = q1.fma(x, a01); a02 = q2.fma(x, a02); a03 = q3.fma(x, a03);
            x = FloatVector.broadcast(F, k[k1 + t]);
            a10 = q0.fma(x, a10); a11 = q1.fma(x, a11); a12 = q2.fma(x, a12); a13 = q3.fma(x, a13);
            x = FloatVector.broadcast(F, k[k2 + t]);
            a20 = q0.fma(x, a20); a21 = q1.fma(x, a21); a22 = q2.fma(x, a22); a23 = q3.fma(x, a23);
            x = FloatVector.broadcast(F, k[k3 + t]);
            a30 = q0.fma(x, a30); a31 = q1.fma(x, a31); a32 = q2.fma(x, a32); a33 = q3.fma(x, a33);
        }
        FLOATS.cast(a00).intoArray(s, o); FLOATS.cast(a01).intoArray(s, o + L); FLOATS.cast(a02).intoArray(s, o + 2 * L); FLOATS.cast(a03).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a10).intoArray(s, o); FLOATS.cast(a11).intoArray(s, o + L); FLOATS.cast(a12).intoArray(s, o + 2 * L); FLOATS.cast(a13).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a20).intoArray(s, o); FLOATS.cast(a21).intoArray(s, o + L); FLOATS.cast(a22).intoArray(s, o + 2 * L); FLOATS.cast(a23).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a30).intoArray(s, o); FLOATS.cast(a31).intoArray(s, o + L); FLOATS.cast(a32).intoArray(s, o + 2 * L); FLOATS.cast(a33).intoArray(s, o + 3 * L);
    }

    /** Six keys × four query vectors ({@link #SIX_ROWS}). */
    private static void qkBlock6(float[] k, int k0, int d, float[] qt, int bq, float[] s, int o, int c) {
        int k1 = k0 + d, k2 = k1 + d, k3 = k2 + d, k4 = k3 + d, k5 = k4 + d;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00;
        FloatVector a50 = a00, a51 = a00, a52 = a00, a53 = a00;
        for (int t = 0, qb = c; t < d; t++, qb += bq) {
            FloatVector q0 = FloatVector.fromArray(F, qt, qb);
            FloatVector q1 = FloatVector.fromArray(F, qt, qb + L);
            FloatVector q2 = FloatVector.fromArray(F, qt, qb + 2 * L);
            FloatVector q3 = FloatVector.fromArray(F, qt, qb + 3 * L);
            FloatVector x = FloatVector.broadcast(F, k[k0 + t]);
            a00 = q0.fma(x, a00); a01 = q1.fma(x, a01); a02 = q2.fma(x, a02); a03 = q3.fma(x, a03);
            x = FloatVector.broadcast(F, k[k1 + t]);
            a10 = q0.fma(x, a10); a11 = q1.fma(x, a11); a12 = q2.fma(x, a12); a13 = q3.fma(x, a13);
            x = FloatVector.broadcast(F, k[k2 + t]);
            a20 = q0.fma(x, a20); a21 = q1.fma(x, a21); a22 = q2.fma(x, a22); a23 = q3.fma(x, a23);
            x = FloatVector.broadcast(F, k[k3 + t]);
            a30 = q0.fma(x, a30); a31 = q1.fma(x, a31); a32 = q2.fma(x, a32); a33 = q3.fma(x, a33);
            x = FloatVector.broadcast(F, k[k4 + t]);
            a40 = q0.fma(x, a40); a41 = q1.fma(x, a41); a42 = q2.fma(x, a42); a43 = q3.fma(x, a43);
            x = FloatVector.broadcast(F, k[k5 + t]);
            a50 = q0.fma(x, a50); a51 = q1.fma(x, a51); a52 = q2.fma(x, a52); a53 = q3.fma(x, a53);
        }
        FLOATS.cast(a00).intoArray(s, o); FLOATS.cast(a01).intoArray(s, o + L); FLOATS.cast(a02).intoArray(s, o + 2 * L); FLOATS.cast(a03).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a10).intoArray(s, o); FLOATS.cast(a11).intoArray(s, o + L); FLOATS.cast(a12).intoArray(s, o + 2 * L); FLOATS.cast(a13).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a20).intoArray(s, o); FLOATS.cast(a21).intoArray(s, o + L); FLOATS.cast(a22).intoArray(s, o + 2 * L); FLOATS.cast(a23).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a30).intoArray(s, o); FLOATS.cast(a31).intoArray(s, o + L); FLOATS.cast(a32).intoArray(s, o + 2 * L); FLOATS.cast(a33).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a40).intoArray(s, o); FLOATS.cast(a41).intoArray(s, o + L); FLOATS.cast(a42).intoArray(s, o + 2 * L); FLOATS.cast(a43).intoArray(s, o + 3 * L);
        o += bq;
        FLOATS.cast(a50).intoArray(s, o); FLOATS.cast(a51).intoArray(s, o + L); FLOATS.cast(a52).intoArray(s, o + 2 * L); FLOATS.cast(a53).intoArray(s, o + 3 * L);
    }

    /** Four keys × one query vector: the remainder, and all of a narrow (decode) tile. */
    private static void qkVector(float[] k, int k0, int d, float[] qt, int bq, float[] s, int o, int c) {
        int k1 = k0 + d, k2 = k1 + d, k3 = k2 + d;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0, qb = c; t < d; t++, qb += bq) {
            FloatVector q = FloatVector.fromArray(F, qt, qb);
            a0 = q.fma(FloatVector.broadcast(F, k[k0 + t]), a0);
            a1 = q.fma(FloatVector.broadcast(F, k[k1 + t]), a1);
            a2 = q.fma(FloatVector.broadcast(F, k[k2 + t]), a2);
            a3 = q.fma(FloatVector.broadcast(F, k[k3 + t]), a3);
        }
        FLOATS.cast(a0).intoArray(s, o); FLOATS.cast(a1).intoArray(s, o + bq); FLOATS.cast(a2).intoArray(s, o + 2 * bq); FLOATS.cast(a3).intoArray(s, o + 3 * bq);
    }

    /**
     * o[i·vs + c] += Σ_j p[j·bq + i] · v[vOff + j·vs + c] for queries [0, rows), keys [0, keys)
     * and columns [0, vs) (whole vectors): six rows at a time ({@link #SIX_ROWS}), then four, in
     * blocks of 4 vectors, then single vectors; leftover rows (a decode step has one) one at a time.
     */
    public static void pv(float[] p, int bq, float[] v, int vOff, int vs, float[] o, int rows, int keys) {
        int r = 0;
        for (int sixes = inSixes(rows); r < sixes; r += 6) pvRows6(p, bq, v, vOff, vs, o, r, keys);
        for (; r + 4 <= rows; r += 4) pvRows4(p, bq, v, vOff, vs, o, r, keys);
        for (; r < rows; r++) pvRow(p, bq, v, vOff, vs, o, r, keys);
    }

    private static void pvRow(float[] p, int bq, float[] v, int vOff, int vs, float[] o, int r, int keys) {
        for (int c = 0; c < vs; c += L) {
            FloatVector a = FloatVector.fromArray(F, o, r * vs + c);
            for (int j = 0, vb = vOff + c, pb = r; j < keys; j++, vb += vs, pb += bq) {
                a = FloatVector.fromArray(F, v, vb).fma(FloatVector.broadcast(F, p[pb]), a);
            }
            FLOATS.cast(a).intoArray(o, r * vs + c);
        }
    }

    private static void pvRows4(float[] p, int bq, float[] v, int vOff, int vs, float[] o, int r, int keys) {
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
            for (int j = 0, vb = vOff + c, pb = r; j < keys; j++, vb += vs, pb += bq) {
                FloatVector v0 = FloatVector.fromArray(F, v, vb);
                FloatVector v1 = FloatVector.fromArray(F, v, vb + L);
                FloatVector v2 = FloatVector.fromArray(F, v, vb + 2 * L);
                FloatVector v3 = FloatVector.fromArray(F, v, vb + 3 * L);
                FloatVector x = FloatVector.broadcast(F, p[pb]);
                a00 = v0.fma(x, a00); a01 = v1.fma(x, a01); a02 = v2.fma(x, a02); a03 = v3.fma(x, a03);
                x = FloatVector.broadcast(F, p[pb + 1]);
                a10 = v0.fma(x, a10); a11 = v1.fma(x, a11); a12 = v2.fma(x, a12); a13 = v3.fma(x, a13);
                x = FloatVector.broadcast(F, p[pb + 2]);
                a20 = v0.fma(x, a20); a21 = v1.fma(x, a21); a22 = v2.fma(x, a22); a23 = v3.fma(x, a23);
                x = FloatVector.broadcast(F, p[pb + 3]);
                a30 = v0.fma(x, a30); a31 = v1.fma(x, a31); a32 = v2.fma(x, a32); a33 = v3.fma(x, a33);
            }
            FLOATS.cast(a00).intoArray(o, o0); FLOATS.cast(a01).intoArray(o, o0 + L); FLOATS.cast(a02).intoArray(o, o0 + 2 * L); FLOATS.cast(a03).intoArray(o, o0 + 3 * L);
            FLOATS.cast(a10).intoArray(o, o1); FLOATS.cast(a11).intoArray(o, o1 + L); FLOATS.cast(a12).intoArray(o, o1 + 2 * L); FLOATS.cast(a13).intoArray(o, o1 + 3 * L);
            FLOATS.cast(a20).intoArray(o, o2); FLOATS.cast(a21).intoArray(o, o2 + L); FLOATS.cast(a22).intoArray(o, o2 + 2 * L); FLOATS.cast(a23).intoArray(o, o2 + 3 * L);
            FLOATS.cast(a30).intoArray(o, o3); FLOATS.cast(a31).intoArray(o, o3 + L); FLOATS.cast(a32).intoArray(o, o3 + 2 * L); FLOATS.cast(a33).intoArray(o, o3 + 3 * L);
        }
        for (; c < vs; c += L) {
            int o0 = r * vs + c, o1 = o0 + vs, o2 = o1 + vs, o3 = o2 + vs;
            FloatVector a0 = FloatVector.fromArray(F, o, o0), a1 = FloatVector.fromArray(F, o, o1);
            FloatVector a2 = FloatVector.fromArray(F, o, o2), a3 = FloatVector.fromArray(F, o, o3);
            for (int j = 0, vb = vOff + c, pb = r; j < keys; j++, vb += vs, pb += bq) {
                FloatVector v0 = FloatVector.fromArray(F, v, vb);
                a0 = v0.fma(FloatVector.broadcast(F, p[pb]), a0);
                a1 = v0.fma(FloatVector.broadcast(F, p[pb + 1]), a1);
                a2 = v0.fma(FloatVector.broadcast(F, p[pb + 2]), a2);
                a3 = v0.fma(FloatVector.broadcast(F, p[pb + 3]), a3);
            }
            FLOATS.cast(a0).intoArray(o, o0); FLOATS.cast(a1).intoArray(o, o1); FLOATS.cast(a2).intoArray(o, o2); FLOATS.cast(a3).intoArray(o, o3);
        }
    }

    /**
     * Six rows × four value vectors ({@link #SIX_ROWS}), then six rows × one vector. The blocks'
     * accumulators start at zero and are added to o after the key loop, rather than loaded from
     * o before it: the six output offsets then need no register during the loop, where C2 would
     * otherwise spill the loop's own indices to the stack (the dense kernel, N = 2048, D = 64, one
     * thread on an Intel core: P·V's share of the time 39% → 37%). The block is {@link
     * GradTiles#multiplyAdd}'s six-row one with its rows adjacent, and kept apart from it: there
     * the rows lie a run-time stride apart, six indices to advance and check a step, where here one
     * index and constant offsets serve (through that method, P·V ran 13–23% slower: 128 rows ×
     * 128 keys × 64 columns, one thread, three alternated runs).
     */
    private static void pvRows6(float[] p, int bq, float[] v, int vOff, int vs, float[] o, int r, int keys) {
        int c = 0;
        for (; c + 4 * L <= vs; c += 4 * L) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00, a50 = a00, a51 = a00, a52 = a00, a53 = a00;
            for (int j = 0, vb = vOff + c, pb = r; j < keys; j++, vb += vs, pb += bq) {
                FloatVector v0 = FloatVector.fromArray(F, v, vb);
                FloatVector v1 = FloatVector.fromArray(F, v, vb + L);
                FloatVector v2 = FloatVector.fromArray(F, v, vb + 2 * L);
                FloatVector v3 = FloatVector.fromArray(F, v, vb + 3 * L);
                FloatVector x = FloatVector.broadcast(F, p[pb]);
                a00 = v0.fma(x, a00); a01 = v1.fma(x, a01); a02 = v2.fma(x, a02); a03 = v3.fma(x, a03);
                x = FloatVector.broadcast(F, p[pb + 1]);
                a10 = v0.fma(x, a10); a11 = v1.fma(x, a11); a12 = v2.fma(x, a12); a13 = v3.fma(x, a13);
                x = FloatVector.broadcast(F, p[pb + 2]);
                a20 = v0.fma(x, a20); a21 = v1.fma(x, a21); a22 = v2.fma(x, a22); a23 = v3.fma(x, a23);
                x = FloatVector.broadcast(F, p[pb + 3]);
                a30 = v0.fma(x, a30); a31 = v1.fma(x, a31); a32 = v2.fma(x, a32); a33 = v3.fma(x, a33);
                x = FloatVector.broadcast(F, p[pb + 4]);
                a40 = v0.fma(x, a40); a41 = v1.fma(x, a41); a42 = v2.fma(x, a42); a43 = v3.fma(x, a43);
                x = FloatVector.broadcast(F, p[pb + 5]);
                a50 = v0.fma(x, a50); a51 = v1.fma(x, a51); a52 = v2.fma(x, a52); a53 = v3.fma(x, a53);
            }
            int o0 = r * vs + c;
            FLOATS.cast(a00).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a01).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a02).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a03).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
            o0 += vs;
            FLOATS.cast(a10).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a11).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a12).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a13).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
            o0 += vs;
            FLOATS.cast(a20).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a21).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a22).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a23).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
            o0 += vs;
            FLOATS.cast(a30).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a31).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a32).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a33).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
            o0 += vs;
            FLOATS.cast(a40).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a41).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a42).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a43).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
            o0 += vs;
            FLOATS.cast(a50).add(FloatVector.fromArray(F, o, o0)).intoArray(o, o0); FLOATS.cast(a51).add(FloatVector.fromArray(F, o, o0 + L)).intoArray(o, o0 + L);
            FLOATS.cast(a52).add(FloatVector.fromArray(F, o, o0 + 2 * L)).intoArray(o, o0 + 2 * L); FLOATS.cast(a53).add(FloatVector.fromArray(F, o, o0 + 3 * L)).intoArray(o, o0 + 3 * L);
        }
        for (; c < vs; c += L) {
            int o0 = r * vs + c, o1 = o0 + vs, o2 = o1 + vs, o3 = o2 + vs, o4 = o3 + vs, o5 = o4 + vs;
            FloatVector a0 = FloatVector.fromArray(F, o, o0), a1 = FloatVector.fromArray(F, o, o1), a2 = FloatVector.fromArray(F, o, o2);
            FloatVector a3 = FloatVector.fromArray(F, o, o3), a4 = FloatVector.fromArray(F, o, o4), a5 = FloatVector.fromArray(F, o, o5);
            for (int j = 0, vb = vOff + c, pb = r; j < keys; j++, vb += vs, pb += bq) {
                FloatVector v0 = FloatVector.fromArray(F, v, vb);
                a0 = v0.fma(FloatVector.broadcast(F, p[pb]), a0);
                a1 = v0.fma(FloatVector.broadcast(F, p[pb + 1]), a1);
                a2 = v0.fma(FloatVector.broadcast(F, p[pb + 2]), a2);
                a3 = v0.fma(FloatVector.broadcast(F, p[pb + 3]), a3);
                a4 = v0.fma(FloatVector.broadcast(F, p[pb + 4]), a4);
                a5 = v0.fma(FloatVector.broadcast(F, p[pb + 5]), a5);
            }
            FLOATS.cast(a0).intoArray(o, o0); FLOATS.cast(a1).intoArray(o, o1); FLOATS.cast(a2).intoArray(o, o2);
            FLOATS.cast(a3).intoArray(o, o3); FLOATS.cast(a4).intoArray(o, o4); FLOATS.cast(a5).intoArray(o, o5);
        }
    }

    /**
     * Online softmax for the queries in lanes [i0, i0 + L) over keys [0, keys) (a multiple of 4):
     * raises the running max m, turns scores into e^(s − m) in place, updates the sum l, and
     * leaves each query's rescale factor e^(m_old − m_new) in alpha (1 when the max did not
     * grow). A query with no visible key so far subtracts 0 instead of −∞: its scores are −∞ and
     * give weight 0, never e^(−∞ + ∞) = NaN.
     */
    public static void softmaxColumns(float[] s, int bq, int keys, float[] m, float[] l, float[] alpha, int i0) {
        FloatVector top = columnMax(s, bq, keys, i0);
        FloatVector old = FloatVector.fromArray(F, m, i0);
        top = top.max(old);
        FloatVector shift = top.blend(0f, top.eq(Float.NEGATIVE_INFINITY));
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0, at = i0; j < keys; j++, at += bq) {
            FloatVector p = expNonPositive(FloatVector.fromArray(F, s, at).sub(shift));
            p.intoArray(s, at);
            sum = FLOATS.cast(sum).add(p);
        }
        FloatVector rescale = expNonPositive(old.sub(shift)).blend(1f, old.eq(top));
        FloatVector.fromArray(F, l, i0).mul(rescale).add(sum).intoArray(l, i0);
        top.intoArray(m, i0);
        rescale.intoArray(alpha, i0);
    }

    /**
     * Lane-wise max over keys [0, keys) (a multiple of 4). Four independent chains of
     * compare-and-blend: FloatVector.max keeps Java's NaN and −0 rules with a longer instruction
     * sequence, and one chain of it is bound by its latency (measured 7× slower).
     */
    private static FloatVector columnMax(float[] s, int bq, int keys, int i0) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (int j = 0, at = i0; j < keys; j += 4, at += 4 * bq) {
            FloatVector x0 = FloatVector.fromArray(F, s, at), x1 = FloatVector.fromArray(F, s, at + bq);
            FloatVector x2 = FloatVector.fromArray(F, s, at + 2 * bq), x3 = FloatVector.fromArray(F, s, at + 3 * bq);
            FloatVector k0 = FLOATS.cast(m0), k1 = FLOATS.cast(m1), k2 = FLOATS.cast(m2), k3 = FLOATS.cast(m3);
            m0 = k0.blend(x0, k0.lt(x0));
            m1 = k1.blend(x1, k1.lt(x1));
            m2 = k2.blend(x2, k2.lt(x2));
            m3 = k3.blend(x3, k3.lt(x3));
        }
        return FLOATS.cast(m0).max(m1).max(FLOATS.cast(m2).max(m3));
    }

    private static final float LOG2E = (float) (1 / Math.log(2)), ROUND = 0x1.8p23f;
    /** Added to a rounded value's bits, then shifted into the exponent field: 2^n as a float's bits (0 for n = −127). */
    private static final int EXPONENT_BIAS = 127 - Float.floatToRawIntBits(ROUND);
    /** 2^f on [−0.5, 0.5], degree 5, fitted to the relative error on Chebyshev nodes: within 2.4e-7 (4 ulp). */
    private static final float P0 = 1.0000001192f, P1 = 0.6931469440f, P2 = 0.2402211875f, P3 = 0.05550707877f,
            P4 = 0.009675555862f, P5 = 0.001327816397f;

    /**
     * e^x for x ≤ 0 (scores minus their running max); −∞ and anything below −88 give exactly 0.
     * Inline FMAs instead of the Vector API's EXP, which C2 compiles to a call into the SVML stub
     * (registers live across the call are spilled). 2^(x·log2 e) splits into an integer n
     * (rounded by adding 1.5·2²³, which leaves n in the low mantissa bits) and f in [−0.5, 0.5];
     * 2^f is a polynomial, times 2^n built from n's bits. Clamping at −127 makes that factor's
     * exponent field 0, the float +0, so underflow and −∞ need no separate test.
     */
    static FloatVector expNonPositive(FloatVector x) {
        FloatVector t = atLeast(FLOATS.cast(x).mul(LOG2E), -127f);
        FloatVector shifted = t.add(ROUND);
        FloatVector f = t.sub(shifted.sub(ROUND));
        FloatVector p = f.fma(P5, P4).fma(f, FloatVector.broadcast(F, P3)).fma(f, FloatVector.broadcast(F, P2))
                .fma(f, FloatVector.broadcast(F, P1)).fma(f, FloatVector.broadcast(F, P0));
        FloatVector scale = shifted.reinterpretAsInts().add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    /**
     * max(x, floor) for a floor that is not NaN or −0: a compare and a blend, where
     * FloatVector.max spends six instructions on Java's NaN and −0 rules (read in C2's output).
     * NaN lanes stay NaN.
     */
    static FloatVector atLeast(FloatVector x, float floor) {
        FloatVector known = FLOATS.cast(x);
        return known.blend(floor, known.lt(floor));
    }

    /** min(x, ceiling), as {@link #atLeast}. */
    static FloatVector atMost(FloatVector x, float ceiling) {
        FloatVector known = FLOATS.cast(x);
        return known.blend(ceiling, known.compare(VectorOperators.GT, ceiling));
    }

    /** Multiplies output row i by alpha[i] for every row whose factor is not 1. */
    public static void rescaleRows(float[] o, int vs, float[] alpha, int rows) {
        for (int r = 0; r < rows; r++) {
            float a = alpha[r];
            if (a == 1f) continue;
            for (int c = r * vs, end = c + vs; c < end; c += L) FloatVector.fromArray(F, o, c).mul(a).intoArray(o, c);
        }
    }

    /** Sigmoid weights sigmoid(s + bias[i]) in place over keys [0, keys); −∞ (masked) gives 0. */
    public static void sigmoidColumns(float[] s, int bq, int keys, float[] bias) {
        for (int i0 = 0; i0 < bq; i0 += L) {
            FloatVector b = FloatVector.fromArray(F, bias, i0);
            for (int j = 0, at = i0; j < keys; j++, at += bq) {
                FloatVector x = FloatVector.fromArray(F, s, at).add(b);
                VectorMath.sigmoid(x).intoArray(s, at);
            }
        }
    }

    /** Unnormalised weights over n elements: the score itself, 0 where masked (−∞). */
    public static void identity(float[] s, int n) {
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, j);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(s, j);
        }
    }

    /** s += bias over n elements (whole vectors): applies a 0/−∞ mask. */
    public static void addBias(float[] s, float[] bias, int off, int n) {
        for (int j = off, end = off + n; j < end; j += L) {
            FloatVector.fromArray(F, s, j).add(FloatVector.fromArray(F, bias, j)).intoArray(s, j);
        }
    }
}
