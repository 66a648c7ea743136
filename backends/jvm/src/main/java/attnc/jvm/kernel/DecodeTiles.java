package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.L;
import static attnc.jvm.kernel.Lanes.FLOATS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The arithmetic of a decode tile: a KV head's query rows (its GQA group's heads × a few queries,
 * padded with zero rows to whole blocks of 4, or of L where they fill more than half a vector,
 * {@link DecodeLaunch#blockRows}) against a tile of key rows read where they are (one offset per
 * row, so pages need no gathering). A tile's scores, then weights, sit block by block, a block's
 * rows side by side for each key: {@code p[((r / w)·bk + j)·w + r % w]} for blocks of w rows
 * ({@link #at}), so one vector holds L/4 keys × 4 rows, or one key × L rows.
 *
 * <p>Blocks of 4 rows (few rows, e.g. one query of a group of 4 heads): q·k is vectorised over d
 * and blocked 4 rows × 4 keys: per step 4 key and 4 query vectors feed 16 FMAs (against 6 loads
 * for 8 in blocks of 4 × 2), then each sum is one lane reduction. Folding the 16 sums into one
 * vector by two-vector permutes instead measured slower: C2 inlines only a few of them within its
 * node budget, and through memory they cost more than the reductions they save. Blocks of L rows
 * (e.g. 4 queries of a group of 4 heads): q·k has the rows in lanes ({@link #dotsLanes}), a key
 * element broadcast to each multiply-add, and no lane sum; the weights are then the hooks'
 * lane-wise softmax with one key a vector ({@link #softmaxLanes}).
 * P·V is blocked 4 rows × 4 vectors in either layout, the four weights of a key one broadcast each.
 * Where a tile is FULL and the pattern has no score hook, the weights are made in the block
 * layout ({@link #softmaxBlock}: L/4 keys × 4 rows per exponential, against one row's lane of
 * 16 in the hooks' layout). As in {@link Tiles}, methods take arrays, not vectors (except tiny
 * helpers that are always inlined), and stay small enough for C2 to inline their vector code; a
 * vector a loop carries is cast to its exact class ({@link Lanes#FLOATS}) before a call on it.
 */
public final class DecodeTiles {
    private DecodeTiles() {}

    /** Lane i reads element i % 4: a block's four row values repeated across the vector. */
    private static final int[] REPEAT4 = new int[L];
    static {
        for (int i = 0; i < L; i++) REPEAT4[i] = i % 4;
    }

    /** Where row r's score for key j sits in a tile of bk keys, blocks of {@code width} rows (4 or L). */
    public static int at(int r, int j, int bk, int width) {
        return ((r / width) * bk + j) * width + r % width;
    }

    /**
     * p[at(r, j, bk, 4)] = Σ_t q[q0 + r·ks + t]·k[kOff[j] + t] for rows [0, 4·blocks) and keys [0, keys);
     * rows of q and k are ks wide (whole vectors, zero past D).
     */
    public static void dots(float[] q, int q0, int blocks, int ks, float[] k, int[] kOff, int keys, float[] p, int bk) {
        for (int rb = 0; rb < blocks; rb++) {
            int qb = q0 + 4 * rb * ks, j = 0;
            for (; j + 4 <= keys; j += 4) dot4x4(q, qb, ks, k, kOff[j], kOff[j + 1], kOff[j + 2], kOff[j + 3], p, (rb * bk + j) * 4);
            for (; j < keys; j++) dot4x1(q, qb, ks, k, kOff[j], p, (rb * bk + j) * 4);
        }
    }

    /**
     * q·k in blocks of L rows: p[at(r, j, bk, L)] = Σ_t qt[qt0 + (r / L·ks + t)·L + r % L]·k[kOff[j] + t] for rows
     * [0, L·laneBlocks) and keys [0, keys): qt holds each block's rows in lanes, one vector per element of d, so
     * every multiply-add takes a key element broadcast and leaves no lane sum. Eight keys a step keep eight sums in
     * flight, enough to hide the multiply-add's latency (in cache 4.3–4.6 vector FMAs/ns against 2.4–3.5 for
     * {@link #dots}' blocks of 4 rows, this machine's peak about 5.2).
     */
    public static void dotsLanes(float[] qt, int qt0, int laneBlocks, int ks, float[] k, int[] kOff, int keys, float[] p, int bk) {
        for (int lb = 0; lb < laneBlocks; lb++) {
            int qb = qt0 + lb * ks * L, j = 0;
            for (; j + 8 <= keys; j += 8) {
                dotLanes8(qt, qb, ks, k, kOff[j], kOff[j + 1], kOff[j + 2], kOff[j + 3], kOff[j + 4], kOff[j + 5], kOff[j + 6], kOff[j + 7], p, (lb * bk + j) * L);
            }
            for (; j < keys; j++) dotLanes1(qt, qb, ks, k, kOff[j], p, (lb * bk + j) * L);
        }
    }

    private static void dotLanes8(float[] qt, int q0, int ks, float[] k, int k0, int k1, int k2, int k3, int k4, int k5, int k6, int k7, float[] p, int at) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int t = 0; t < ks; t++) {
            FloatVector y = FloatVector.fromArray(F, qt, q0 + t * L);
            a0 = y.fma(FloatVector.broadcast(F, k[k0 + t]), a0);
            a1 = y.fma(FloatVector.broadcast(F, k[k1 + t]), a1);
            a2 = y.fma(FloatVector.broadcast(F, k[k2 + t]), a2);
            a3 = y.fma(FloatVector.broadcast(F, k[k3 + t]), a3);
            a4 = y.fma(FloatVector.broadcast(F, k[k4 + t]), a4);
            a5 = y.fma(FloatVector.broadcast(F, k[k5 + t]), a5);
            a6 = y.fma(FloatVector.broadcast(F, k[k6 + t]), a6);
            a7 = y.fma(FloatVector.broadcast(F, k[k7 + t]), a7);
        }
        FLOATS.cast(a0).intoArray(p, at); FLOATS.cast(a1).intoArray(p, at + L); FLOATS.cast(a2).intoArray(p, at + 2 * L); FLOATS.cast(a3).intoArray(p, at + 3 * L);
        FLOATS.cast(a4).intoArray(p, at + 4 * L); FLOATS.cast(a5).intoArray(p, at + 5 * L); FLOATS.cast(a6).intoArray(p, at + 6 * L); FLOATS.cast(a7).intoArray(p, at + 7 * L);
    }

    private static void dotLanes1(float[] qt, int q0, int ks, float[] k, int k0, float[] p, int at) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int t = 0;
        for (; t + 2 <= ks; t += 2) {
            a0 = FloatVector.fromArray(F, qt, q0 + t * L).fma(FloatVector.broadcast(F, k[k0 + t]), a0);
            a1 = FloatVector.fromArray(F, qt, q0 + (t + 1) * L).fma(FloatVector.broadcast(F, k[k0 + t + 1]), a1);
        }
        if (t < ks) a0 = FloatVector.fromArray(F, qt, q0 + t * L).fma(FloatVector.broadcast(F, k[k0 + t]), a0);
        FLOATS.cast(a0).add(a1).intoArray(p, at);
    }

    private static void dot4x4(float[] q, int q0, int ks, float[] k, int k0, int k1, int k2, int k3, float[] p, int at) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int t = 0; t < ks; t += L) {
            FloatVector x0 = FloatVector.fromArray(F, k, k0 + t), x1 = FloatVector.fromArray(F, k, k1 + t);
            FloatVector x2 = FloatVector.fromArray(F, k, k2 + t), x3 = FloatVector.fromArray(F, k, k3 + t);
            FloatVector y = FloatVector.fromArray(F, q, q0 + t);
            a00 = y.fma(x0, a00); a01 = y.fma(x1, a01); a02 = y.fma(x2, a02); a03 = y.fma(x3, a03);
            y = FloatVector.fromArray(F, q, q0 + ks + t);
            a10 = y.fma(x0, a10); a11 = y.fma(x1, a11); a12 = y.fma(x2, a12); a13 = y.fma(x3, a13);
            y = FloatVector.fromArray(F, q, q0 + 2 * ks + t);
            a20 = y.fma(x0, a20); a21 = y.fma(x1, a21); a22 = y.fma(x2, a22); a23 = y.fma(x3, a23);
            y = FloatVector.fromArray(F, q, q0 + 3 * ks + t);
            a30 = y.fma(x0, a30); a31 = y.fma(x1, a31); a32 = y.fma(x2, a32); a33 = y.fma(x3, a33);
        }
        p[at] = sum(a00); p[at + 1] = sum(a10); p[at + 2] = sum(a20); p[at + 3] = sum(a30);
        p[at + 4] = sum(a01); p[at + 5] = sum(a11); p[at + 6] = sum(a21); p[at + 7] = sum(a31);
        p[at + 8] = sum(a02); p[at + 9] = sum(a12); p[at + 10] = sum(a22); p[at + 11] = sum(a32);
        p[at + 12] = sum(a03); p[at + 13] = sum(a13); p[at + 14] = sum(a23); p[at + 15] = sum(a33);
    }

    /** A block's four rows against one key: the tile's last keys when they are not a multiple of 4. */
    private static void dot4x1(float[] q, int q0, int ks, float[] k, int k0, float[] p, int at) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < ks; t += L) {
            FloatVector x = FloatVector.fromArray(F, k, k0 + t);
            a0 = FloatVector.fromArray(F, q, q0 + t).fma(x, a0);
            a1 = FloatVector.fromArray(F, q, q0 + ks + t).fma(x, a1);
            a2 = FloatVector.fromArray(F, q, q0 + 2 * ks + t).fma(x, a2);
            a3 = FloatVector.fromArray(F, q, q0 + 3 * ks + t).fma(x, a3);
        }
        p[at] = sum(a0);
        p[at + 1] = sum(a1);
        p[at + 2] = sum(a2);
        p[at + 3] = sum(a3);
    }

    private static float sum(FloatVector a) { return FLOATS.cast(a).reduceLanes(VectorOperators.ADD); }

    /**
     * o[o0 + r·vs + c] += Σ_j p[at(r, j, bk, width)]·v[vOff[j] + c] for rows [0, 4·blocks), keys
     * [0, keys) and columns [0, vs) (whole vectors): four rows at a time whatever the layout's block width.
     */
    public static void pv(float[] p, int bk, int width, float[] v, int[] vOff, int vs, float[] o, int o0, int blocks, int keys) {
        for (int rb = 0; rb < blocks; rb++) {
            int ob = o0 + 4 * rb * vs, pb = at(4 * rb, 0, bk, width), c = 0;
            for (; c + 4 * L <= vs; c += 4 * L) pv4x4(p, pb, width, v, vOff, o, ob + c, vs, c, keys);
            for (; c < vs; c += L) pv4x1(p, pb, width, v, vOff, o, ob + c, vs, c, keys);
        }
    }

    private static void pv4x4(float[] p, int p0, int width, float[] v, int[] vOff, float[] o, int o0, int vs, int c, int keys) {
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
            int vb = vOff[j] + c, pb = p0 + width * j;
            FloatVector v0 = FloatVector.fromArray(F, v, vb), v1 = FloatVector.fromArray(F, v, vb + L);
            FloatVector v2 = FloatVector.fromArray(F, v, vb + 2 * L), v3 = FloatVector.fromArray(F, v, vb + 3 * L);
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

    private static void pv4x1(float[] p, int p0, int width, float[] v, int[] vOff, float[] o, int o0, int vs, int c, int keys) {
        FloatVector a0 = FloatVector.fromArray(F, o, o0), a1 = FloatVector.fromArray(F, o, o0 + vs);
        FloatVector a2 = FloatVector.fromArray(F, o, o0 + 2 * vs), a3 = FloatVector.fromArray(F, o, o0 + 3 * vs);
        for (int j = 0; j < keys; j++) {
            FloatVector x = FloatVector.fromArray(F, v, vOff[j] + c);
            int pb = p0 + width * j;
            a0 = x.fma(FloatVector.broadcast(F, p[pb]), a0);
            a1 = x.fma(FloatVector.broadcast(F, p[pb + 1]), a1);
            a2 = x.fma(FloatVector.broadcast(F, p[pb + 2]), a2);
            a3 = x.fma(FloatVector.broadcast(F, p[pb + 3]), a3);
        }
        FLOATS.cast(a0).intoArray(o, o0); FLOATS.cast(a1).intoArray(o, o0 + vs); FLOATS.cast(a2).intoArray(o, o0 + 2 * vs); FLOATS.cast(a3).intoArray(o, o0 + 3 * vs);
    }

    /** o[from .. from + n) *= a, n whole vectors; nothing when a is 1 (the softmax's max did not move). */
    public static void scale(float[] o, int from, int n, float a) {
        if (a == 1f) return;
        for (int c = 0; c < n; c += L) FloatVector.fromArray(F, o, from + c).mul(a).intoArray(o, from + c);
    }

    // ---- weights of a FULL tile in the block layout ----

    /**
     * Online softmax of one block's scores p[at .. at + 4·keys) in place (keys [0, keys) × 4 rows),
     * the rows' running max and sum at m[row0 + r] and l[row0 + r] and the tile's rescale factor
     * written to alpha[row0 + r]: {@link #softmax}'s arithmetic, each vector L/4 keys of 4 rows.
     * {@code lanes} (L floats) carries the rows' values between the vector and the scalar steps,
     * which keeps each vector method small enough for C2 to inline its vector code whole.
     */
    public static void softmaxBlock(float[] p, int at, int keys, float[] m, float[] l, float[] alpha, int row0, float[] lanes) {
        int n = 4 * keys;
        blockMax(p, at, n, lanes);
        for (int r = 0; r < 4; r++) {
            float old = m[row0 + r], top = old;
            // A NaN score is passed over here, as columnMax does, and makes its exponential, so the row's sum, NaN.
            for (int i = r; i < L; i += 4) if (top < lanes[i]) top = lanes[i];
            float shift = top == Float.NEGATIVE_INFINITY ? 0f : top;
            alpha[row0 + r] = old == top ? 1f : (float) Math.exp(old - shift);
            m[row0 + r] = top;
            lanes[r] = shift;
        }
        expAndSum(p, at, n, lanes);
        for (int r = 0; r < 4; r++) {
            float sum = 0f;
            for (int i = r; i < L; i += 4) sum += lanes[i];
            l[row0 + r] = l[row0 + r] * alpha[row0 + r] + sum;
        }
    }

    /** lanes[0 .. L) = the lane-wise max of a block's 4·keys = n scores, lanes past the end counting as −∞. */
    private static void blockMax(float[] p, int at, int n, float[] lanes) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            m0 = atLeastLanes(m0, FloatVector.fromArray(F, p, at + i));
            m1 = atLeastLanes(m1, FloatVector.fromArray(F, p, at + i + L));
        }
        for (; i < n; i += L) {
            VectorMask<Float> valid = F.indexInRange(i, n);
            m0 = atLeastLanes(m0, FloatVector.fromArray(F, p, at + i, valid).blend(Float.NEGATIVE_INFINITY, valid.not()));
        }
        atLeastLanes(m0, m1).intoArray(lanes, 0);
    }

    /**
     * p = e^(p − shift of its row) in place over a block's n scores, row r's shift at lanes[r];
     * then lanes[0 .. L) = the lane-wise sums of the exponentials.
     */
    private static void expAndSum(float[] p, int at, int n, float[] lanes) {
        FloatVector shift = FloatVector.fromArray(F, lanes, 0, REPEAT4, 0), sum = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = Tiles.expNonPositive(FloatVector.fromArray(F, p, at + i).sub(shift));
            e.intoArray(p, at + i);
            sum = FLOATS.cast(sum).add(e);
        }
        if (i < n) {
            VectorMask<Float> valid = F.indexInRange(i, n);
            FloatVector e = Tiles.expNonPositive(FloatVector.fromArray(F, p, at + i, valid).sub(shift)).blend(0f, valid.not());
            e.intoArray(p, at + i, valid);
            sum = FLOATS.cast(sum).add(e);
        }
        FLOATS.cast(sum).intoArray(lanes, 0);
    }

    /**
     * Lane-wise max(a, b) as a compare and a blend, as {@link #columnMax} takes it ({@link Tiles#atLeast} says why
     * not FloatVector.max): a NaN in b is passed over.
     */
    private static FloatVector atLeastLanes(FloatVector a, FloatVector b) {
        FloatVector x = FLOATS.cast(a);
        return x.blend(b, x.lt(b));
    }

    /** Sigmoid weights sigmoid(s + bias[row0 + r]) of one block's scores in place; −∞ gives 0. */
    public static void sigmoidBlock(float[] p, int at, int keys, float[] bias, int row0) {
        FloatVector b = FloatVector.fromArray(F, bias, row0, REPEAT4, 0);
        int n = 4 * keys, i = 0;
        for (; i + L <= n; i += L) VectorMath.sigmoid(FloatVector.fromArray(F, p, at + i).add(b)).intoArray(p, at + i);
        if (i < n) {
            VectorMask<Float> valid = F.indexInRange(i, n);
            VectorMath.sigmoid(FloatVector.fromArray(F, p, at + i, valid).add(b)).intoArray(p, at + i, valid);
        }
    }

    /** The score as its weight, 0 where −∞, for one block's scores in place. */
    public static void identityBlock(float[] p, int at, int keys) {
        int n = 4 * keys, i = 0;
        for (; i + L <= n; i += L) {
            FloatVector x = FloatVector.fromArray(F, p, at + i);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(p, at + i);
        }
        if (i < n) {
            VectorMask<Float> valid = F.indexInRange(i, n);
            FloatVector x = FloatVector.fromArray(F, p, at + i, valid);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(p, at + i, valid);
        }
    }

    // ---- weights in the hooks' layout (queries in lanes), for tiles with a score hook or a mask ----

    /**
     * Online softmax of one head's lanes [i0, i0 + L) over keys [0, keys) of s[j·bq + i], with the
     * running max, sum and rescale factor at {@code state + i}: as {@link Tiles#softmaxColumns},
     * for any key count and state kept apart from the tile.
     */
    public static void softmax(float[] s, int bq, int keys, float[] m, float[] l, float[] alpha, int state, int i0) {
        softmaxLanes(s, i0, bq, keys, m, l, alpha, state + i0);
    }

    /**
     * Online softmax over keys [0, keys) of the L lanes at s[from + j·stride], lane i's running max, sum and rescale
     * factor at {@code row + i}: the hooks' layout ({@link #softmax}) and a block of L rows of the scores' layout
     * (stride L) alike, one exponential for L scores.
     */
    public static void softmaxLanes(float[] s, int from, int stride, int keys, float[] m, float[] l, float[] alpha, int row) {
        FloatVector top = columnMax(s, stride, keys, from);
        FloatVector old = FloatVector.fromArray(F, m, row);
        top = top.max(old);
        FloatVector shift = top.blend(0f, top.eq(Float.NEGATIVE_INFINITY));
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0, at = from; j < keys; j++, at += stride) {
            FloatVector e = Tiles.expNonPositive(FloatVector.fromArray(F, s, at).sub(shift));
            e.intoArray(s, at);
            sum = FLOATS.cast(sum).add(e);
        }
        FloatVector rescale = Tiles.expNonPositive(old.sub(shift)).blend(1f, old.eq(top));
        FloatVector.fromArray(F, l, row).mul(rescale).add(sum).intoArray(l, row);
        top.intoArray(m, row);
        rescale.intoArray(alpha, row);
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
        sigmoidLanes(s, i0, bq, keys, bias, state + i0);
    }

    /** Sigmoid weights sigmoid(s + bias[row + i]) in place for the L lanes at s[from + j·stride], keys [0, keys); −∞ gives 0. */
    public static void sigmoidLanes(float[] s, int from, int stride, int keys, float[] bias, int row) {
        FloatVector b = FloatVector.fromArray(F, bias, row);
        for (int j = 0, at = from; j < keys; j++, at += stride) VectorMath.sigmoid(FloatVector.fromArray(F, s, at).add(b)).intoArray(s, at);
    }

    /** The score as its weight, 0 where masked (−∞), for one head's lanes [i0, i0 + L). */
    public static void identity(float[] s, int bq, int keys, int i0) {
        identityLanes(s, i0, bq, keys);
    }

    /** The score as its weight, 0 where masked (−∞), for the L lanes at s[from + j·stride], keys [0, keys). */
    public static void identityLanes(float[] s, int from, int stride, int keys) {
        for (int j = 0, at = from; j < keys; j++, at += stride) {
            FloatVector x = FloatVector.fromArray(F, s, at);
            x.blend(0f, x.eq(Float.NEGATIVE_INFINITY)).intoArray(s, at);
        }
    }
}
