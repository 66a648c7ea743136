package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * The tiled online-softmax ("flash") kernel, written once as ordinary Java. It is never run as
 * it is: {@link attnc.jvm.KernelGenerator} copies this class's bytecode under a new name for
 * each pattern and replaces the static hook methods below (everything under "hooks") with
 * bytecode rendered from the pattern's lowered programs. Each pattern thus gets its own class in
 * which every hook call is a monomorphic static call that C2 inlines, and the flags
 * ({@link #hasMask()} ...) are constants that fold away the code a pattern does not need.
 *
 * <p>Per query tile: pack the tile's queries (scaled), then for each key tile: classify it
 * (skip EMPTY tiles; UNKNOWN tiles evaluate the mask into a 0/−∞ bias first, which may still
 * prove them empty or full), pack K transposed and V, compute S = QKᵀ, apply the score hook and
 * the bias, turn S into weights (online softmax, sigmoid or identity) and add P·V.
 */
public class FlashTemplate implements TileKernel {

    // ---- hooks: replaced in every generated class ----
    static int tileQSize() { return 64; }
    static int tileKvSize() { return 4 * Lanes.L; }
    static int norm() { return 0; }
    static boolean hasScore() { return false; }
    static boolean hasMask() { return false; }
    static boolean hasNormValue() { return false; }
    static boolean hasOutput() { return false; }
    static float rowScale(Env env, int b, int h, int q) { return 1f; }
    static float normValue(Env env, int b, int h, int q) { return 0f; }
    static void scoreRow(Env env, int b, int h, int q, int kv0, float[] s, int off, int vectors) {}
    static int maskRow(Env env, int b, int h, int q, int kv0, float[] bias, int off, int vectors) { return vectors * Lanes.L; }
    static float output(Env env, int b, int h, int q, int d, float o) { return o; }
    // ---- end of hooks ----

    public FlashTemplate() {}

    @Override public int tileQ() { return tileQSize(); }
    @Override public int tileKv() { return tileKvSize(); }
    @Override public int normKind() { return norm(); }

    @Override
    public void accumulate(Launch launch, Scratch scratch, int b, int h, int q0, int kvFrom, int kvTo) {
        int bq = tileQSize(), bk = tileKvSize(), d = launch.headDim(), vs = launch.valueStride();
        int rows = Math.min(bq, launch.nq() - q0), rows4 = (rows + 3) & ~3;
        int firstQuery = launch.queryOffset() + q0, lastQuery = firstQuery + rows - 1;
        int kvHead = h / launch.group();
        Env env = launch.env();
        scratch.ensure(bq, bk, d, vs);
        float[] qs = scratch.q, s = scratch.s, bias = scratch.bias, o = scratch.o, m = scratch.m, l = scratch.l;
        packQueries(launch, scratch, b, h, q0, rows, rows4);
        Arrays.fill(m, 0, rows4, norm() == 0 ? Float.NEGATIVE_INFINITY : 0f);
        Arrays.fill(l, 0, rows4, 0f);
        Arrays.fill(o, 0, rows4 * vs, 0f);
        if (norm() == 1) for (int r = 0; r < rows; r++) scratch.normValue[r] = normValue(env, b, h, firstQuery + r);
        for (int kv0 = kvFrom; kv0 < kvTo; kv0 += bk) {
            int keys = Math.min(bk, launch.nkv() - kv0);
            int kind = launch.classifier().classify(b, h, firstQuery, lastQuery, kv0, kv0 + keys - 1);
            if (kind == TileClassifier.EMPTY) continue;
            boolean partial = false;
            if (kind == TileClassifier.UNKNOWN && hasMask()) {
                int visible = 0;
                for (int r = 0; r < rows; r++) visible += maskRow(env, b, h, firstQuery + r, kv0, bias, r * bk, bk / Lanes.L);
                if (visible == 0) continue;
                partial = visible != rows * bk;
            }
            packKeys(launch, scratch, b, kvHead, kv0, keys, bk);
            Tiles.qk(qs, d, scratch.kt, bk, s, rows4);
            for (int r = 0; r < rows; r++) {
                int off = r * bk;
                if (hasScore()) scoreRow(env, b, h, firstQuery + r, kv0, s, off, bk / Lanes.L);
                if (partial) Tiles.addBias(s, bias, off, bk);
                if (keys < bk) Arrays.fill(s, off + keys, off + bk, Float.NEGATIVE_INFINITY);
            }
            Arrays.fill(s, rows * bk, rows4 * bk, 0f);
            switch (norm()) {
                case 0 -> { for (int r = 0; r < rows; r++) Tiles.softmaxRow(s, r * bk, bk, m, l, r, o, vs); }
                case 1 -> { for (int r = 0; r < rows; r++) Tiles.sigmoidRow(s, r * bk, bk, scratch.normValue[r]); }
                default -> { for (int r = 0; r < rows; r++) Tiles.identityRow(s, r * bk, bk); }
            }
            Tiles.pv(s, bk, scratch.v, vs, o, rows4);
        }
    }

    /** Queries times their row's scale, d contiguous; rows past Nq are zero. */
    private static void packQueries(Launch launch, Scratch scratch, int b, int h, int q0, int rows, int rows4) {
        int d = launch.headDim();
        float[] qs = scratch.q;
        for (int r = 0; r < rows; r++) {
            launch.q().readRow(b, h, q0 + r, qs, r * d);
            float scale = rowScale(launch.env(), b, h, launch.queryOffset() + q0 + r);
            for (int i = r * d, end = i + d; i < end; i++) qs[i] *= scale;
        }
        Arrays.fill(qs, rows * d, rows4 * d, 0f);
    }

    /** K transposed to kt[i·bk + j] and V to v[j·vs + c]; keys past Nkv are zero. */
    private static void packKeys(Launch launch, Scratch scratch, int b, int kvHead, int kv0, int keys, int bk) {
        int d = launch.headDim(), vs = launch.valueStride();
        float[] kt = scratch.kt, row = scratch.row, v = scratch.v;
        for (int j = 0; j < keys; j++) {
            launch.k().readRow(b, kvHead, kv0 + j, row, 0);
            for (int i = 0, at = j; i < d; i++, at += bk) kt[at] = row[i];
            launch.v().readRow(b, kvHead, kv0 + j, v, j * vs);
        }
        for (int j = keys; j < bk; j++) {
            for (int i = 0, at = j; i < d; i++, at += bk) kt[at] = 0f;
            Arrays.fill(v, j * vs, (j + 1) * vs, 0f);
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
            if (norm() == 0) {
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
            for (int c = 0; c < dv; c++) {
                float value = o[r * vs + c] * factor;
                row[c] = hasOutput() ? output(env, b, h, query, c, value) : value;
            }
            launch.out().writeRow(b, h, q0 + r, row, 0, dv);
        }
    }
}
