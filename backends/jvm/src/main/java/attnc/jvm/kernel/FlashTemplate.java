package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * The tiled online-softmax ("flash") kernel, written once as ordinary Java. It is never run as
 * it is: {@link attnc.jvm.emit.KernelGenerator} copies this class's bytecode under a new name for
 * each pattern and replaces the static hook methods below (everything under "hooks") with
 * bytecode rendered from the pattern's lowered programs. Each pattern thus gets its own class in
 * which every hook call is a monomorphic static call that C2 inlines, and the flags
 * ({@link #hasMask()} ...) are constants that fold away the code a pattern does not need.
 *
 * <p>Per query tile: transpose the tile's queries (scaled) once; ask the launch's
 * {@link TileRows} for the row's runs of non-empty key tiles (EMPTY tiles are never
 * visited); then for each key tile of a run: in a PARTIAL run evaluate the mask into a 0/−∞ bias
 * (which may still find the tile empty or full), locate or copy K and V, compute Sᵀ = K·Qᵀ
 * (queries in lanes, see {@link Tiles}), apply the score hook and the bias, turn Sᵀ into weights
 * (online softmax, sigmoid or identity) and add P·V to the tile's output rows. FULL runs never
 * touch the mask.
 */
public class FlashTemplate implements TileKernel {

    // ---- hooks: replaced in every generated class ----
    static int tileQSize() { return 4 * Lanes.L; }
    static int tileKvSize() { return 64; }
    static Normalisation norm() { return Normalisation.SOFTMAX; }
    static boolean hasScore() { return false; }
    static boolean hasMask() { return false; }
    static boolean hasNormValue() { return false; }
    static boolean hasOutput() { return false; }
    static float rowScale(Env env, int b, int h, int q) { return 1f; }
    static float normValue(Env env, int b, int h, int q) { return 0f; }
    /**
     * Rewrites s[j·bq + i] (key kv0 + j, query q0 + i; bq = vectors·L) with the score expression;
     * lanes is the thread's buffer for gathers and lane loops ({@link Lanes#LANE_BUFFER} ints), the
     * spill arrays its buffers for values one pass of a split hook hands to the next.
     */
    static void scoreTile(Env env, int b, int h, int kv0, int keys, int q0, float[] s, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {}
    /** Writes 0 (visible) or −∞ to bias[j·bq + i]; returns the visible count. */
    static int maskTile(Env env, int b, int h, int kv0, int keys, int q0, float[] bias, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {
        return keys * vectors * Lanes.L;
    }
    /** Tile-sized float and int regions the tile hooks spill to when they are split into passes ({@code attnc.jvm.emit.PassPlanner}). */
    static int floatSpills() { return 0; }
    static int intSpills() { return 0; }
    static float output(Env env, int b, int h, int q, int d, float o) { return o; }
    // ---- end of hooks ----

    public FlashTemplate() {}

    @Override public int tileQ() { return tileQSize(); }
    @Override public int tileKv() { return tileKvSize(); }
    @Override public Normalisation normalisation() { return norm(); }

    @Override
    public void accumulate(Launch launch, Scratch scratch, int b, int h, int q0, int kvFrom, int kvTo) {
        int bq = tileQSize(), bk = tileKvSize(), d = launch.headDim(), vs = launch.valueStride();
        int rows = Math.min(bq, launch.nq() - q0), vectors = bq / Lanes.L;
        int firstQuery = launch.queryOffset() + q0, kvHead = h / launch.group();
        Env env = launch.env();
        scratch.ensure(bq, bk, d, vs).ensureSpills(floatSpills() * bq * bk, intSpills() * bq * bk);
        float[] bias = scratch.bias, o = scratch.o, m = scratch.m, l = scratch.l;
        packQueries(launch, scratch, b, h, q0, rows, bq);
        Arrays.fill(m, 0, bq, norm() == Normalisation.SOFTMAX ? Float.NEGATIVE_INFINITY : 0f);
        Arrays.fill(l, 0, bq, 0f);
        Arrays.fill(o, 0, bq * vs, 0f);
        if (norm() == Normalisation.SIGMOID) for (int r = 0; r < bq; r++) scratch.normValue[r] = normValue(env, b, h, firstQuery + r);
        KvRuns row = launch.tiles().row(b, h, q0 / bq);
        int tileFrom = kvFrom / bk, tileTo = (kvTo + bk - 1) / bk;
        for (int run = 0; run < row.runs(); run++) {
            boolean full = row.full()[run] || !hasMask();
            for (int tile = Math.max(tileFrom, row.first()[run]), last = Math.min(tileTo - 1, row.last()[run]); tile <= last; tile++) {
                int kv0 = tile * bk, keys = Math.min(bk, launch.nkv() - kv0);
                boolean partial = false;
                if (!full) {
                    // The analysis may call a tile PARTIAL that is not (a loose bound on a data-dependent
                    // mask); the mask's visible count still skips it or drops the bias.
                    int visible = maskTile(env, b, h, kv0, keys, firstQuery, bias, vectors, scratch.laneBuffer, scratch.floatSpill, scratch.intSpill);
                    if (visible == 0) continue;
                    partial = visible != keys * bq;
                }
                tile(launch, scratch, b, h, kvHead, kv0, keys, firstQuery, rows, partial);
            }
        }
    }

    /** One key tile: Sᵀ = K·Qᵀ, score hook, the mask's bias when partial, weights, then O += P·V. */
    private static void tile(Launch launch, Scratch scratch, int b, int h, int kvHead, int kv0, int keys, int firstQuery, int rows, boolean partial) {
        int bq = tileQSize(), vs = launch.valueStride(), keys4 = (keys + 3) & ~3;
        float[] s = scratch.s;
        packKeys(launch, scratch, b, kvHead, kv0, keys, keys4);
        Tiles.qk(scratch.kRows, scratch.kOffset, launch.headDim(), scratch.qt, bq, s, keys4);
        if (hasScore()) scoreTile(launch.env(), b, h, kv0, keys, firstQuery, s, bq / Lanes.L, scratch.laneBuffer, scratch.floatSpill, scratch.intSpill);
        if (partial) Tiles.addBias(s, scratch.bias, 0, keys * bq);
        Arrays.fill(s, keys * bq, keys4 * bq, Float.NEGATIVE_INFINITY);
        if (norm() == Normalisation.SOFTMAX) {
            for (int i0 = 0; i0 < bq; i0 += Lanes.L) Tiles.softmaxColumns(s, bq, keys4, scratch.m, scratch.l, scratch.alpha, i0);
            Tiles.rescaleRows(scratch.o, vs, scratch.alpha, (rows + 3) & ~3);
        } else if (norm() == Normalisation.SIGMOID) {
            Tiles.sigmoidColumns(s, bq, keys4, scratch.normValue);
        } else {
            Tiles.identity(s, keys4 * bq);
        }
        Tiles.pv(s, bq, scratch.vRows, scratch.vOffset, vs, scratch.o, rows, keys4);
    }

    /** Queries times their row's scale, transposed to qt[t·bq + i]; queries past Nq are zero. */
    private static void packQueries(Launch launch, Scratch scratch, int b, int h, int q0, int rows, int bq) {
        int d = launch.headDim();
        float[] qt = scratch.qt, row = scratch.row;
        for (int i = 0; i < rows; i++) {
            launch.q().readRow(b, h, q0 + i, row, 0);
            float scale = rowScale(launch.env(), b, h, launch.queryOffset() + q0 + i);
            for (int t = 0, at = i; t < d; t++, at += bq) qt[at] = row[t] * scale;
        }
        for (int i = rows; i < bq; i++) for (int t = 0, at = i; t < d; t++, at += bq) qt[at] = 0f;
    }

    /**
     * Points the scratch at the tile's K and V rows: read in place when the input is an fp32
     * heap array whose rows are consecutive (and, for V, whole vectors wide) and the tile has no
     * padding rows; else copied (converted) to k[j·d + t] and v[j·vs + c], padding rows zero.
     */
    private static void packKeys(Launch launch, Scratch scratch, int b, int kvHead, int kv0, int keys, int keys4) {
        int d = launch.headDim(), vs = launch.valueStride();
        boolean whole = keys == keys4;
        if (whole && launch.k() instanceof Operand.Heap k && k.strideN() == d) {
            scratch.kRows = k.data();
            scratch.kOffset = Math.toIntExact(k.base() + b * k.strideB() + kvHead * k.strideH() + kv0 * k.strideN());
        } else {
            float[] rows = scratch.k;
            for (int j = 0; j < keys; j++) launch.k().readRow(b, kvHead, kv0 + j, rows, j * d);
            Arrays.fill(rows, keys * d, keys4 * d, 0f);
            scratch.kRows = rows;
            scratch.kOffset = 0;
        }
        if (whole && launch.v() instanceof Operand.Heap v && v.strideN() == vs && v.width() == vs) {
            scratch.vRows = v.data();
            scratch.vOffset = Math.toIntExact(v.base() + b * v.strideB() + kvHead * v.strideH() + kv0 * v.strideN());
        } else {
            float[] rows = scratch.v;
            for (int j = 0; j < keys; j++) launch.v().readRow(b, kvHead, kv0 + j, rows, j * vs);
            Arrays.fill(rows, keys * vs, keys4 * vs, 0f);
            scratch.vRows = rows;
            scratch.vOffset = 0;
        }
    }

    @Override
    public void finish(Launch launch, Scratch scratch, int b, int h, int q0) {
        int bq = tileQSize(), dv = launch.valueDim(), vs = launch.valueStride();
        int rows = Math.min(bq, launch.nq() - q0);
        float[] o = scratch.o, m = scratch.m, l = scratch.l, row = scratch.row;
        Env env = launch.env();
        for (int r = 0; r < rows; r++) {
            int query = launch.queryOffset() + q0 + r;
            float factor = 1f;
            if (norm() == Normalisation.SOFTMAX) {
                float max = m[r], sum = l[r];
                if (hasNormValue()) {
                    float sink = normValue(env, b, h, query);
                    float top = Math.max(max, sink);
                    float keep = top == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(max - top);
                    sum = sum * keep + (top == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(sink - top));
                    factor = sum == 0f ? 0f : keep / sum;
                    max = top;
                } else {
                    factor = sum == 0f ? 0f : 1f / sum;
                }
                if (launch.lse() != null) {
                    launch.lse()[(b * launch.heads() + h) * launch.nq() + q0 + r] =
                            sum == 0f ? Float.NEGATIVE_INFINITY : max + (float) Math.log(sum);
                }
            }
            for (int c = 0; c < dv; c++) row[c] = o[r * vs + c] * factor;
            if (launch.preOutput() != null) launch.preOutput().writeRow(b, h, q0 + r, row, 0, dv);
            if (hasOutput()) for (int c = 0; c < dv; c++) row[c] = output(env, b, h, query, c, row[c]);
            launch.out().writeRow(b, h, q0 + r, row, 0, dv);
        }
    }
}
