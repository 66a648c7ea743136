package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * The decode kernel (at most {@link DecodeLaunch#MAX_QUERIES} queries a sequence), written once as
 * ordinary Java and copied per pattern with its hooks re-emitted, exactly as
 * {@link FlashTemplate} is (same hooks, same generator). One call of {@link #accumulate} owns a
 * sequence's KV heads (one, or all of them where the cache keeps a key's heads side by side) and
 * a range of its keys: every query head of each GQA group and every query is computed against
 * each key tile, so K and V are read once, in place (through the page table when paged), and the
 * products run over d ({@link DecodeTiles}) rather than over one head's queries in lanes, which a
 * decode step could fill one of; where the group's heads × queries fill more than half a vector
 * (4 heads × 4 queries), q·k puts those rows in the lanes instead.
 *
 * <p>Per key tile: ask each head's tile row whether the tile is EMPTY, FULL or PARTIAL for it;
 * skip the tile when every head finds it EMPTY; else read one value a cache line of its K and V
 * rows ahead ({@link KvPages#touch}; for one KV head, its V rows just before the first P·V),
 * then per KV head locate the tile's rows and compute q·k for all rows at once. Where every head
 * of the group finds the tile FULL and the pattern has no score, the scores become weights in
 * {@link DecodeTiles}' block layout; else per head they are scattered into the hooks' layout
 * ({@code s[j·bq + i]}), the score hook and (PARTIAL) the mask's bias applied, turned into
 * weights (online softmax per lane, sigmoid or identity) and gathered back. Finally O += P·V
 * for all rows.
 */
public class DecodeTemplate implements DecodeKernel {
    private static final int EMPTY = 0, PARTIAL = 1, FULL = 2;

    // ---- hooks: replaced in every generated class (the same as FlashTemplate's) ----
    static int tileQSize() { return Lanes.L; }
    static int tileKvSize() { return 64; }
    static Normalisation norm() { return Normalisation.SOFTMAX; }
    static boolean hasScore() { return false; }
    static boolean hasMask() { return false; }
    static boolean hasNormValue() { return false; }
    static boolean hasOutput() { return false; }
    static float rowScale(Env env, int b, int h, int q) { return 1f; }
    static float normValue(Env env, int b, int h, int q) { return 0f; }
    static void scoreTile(Env env, int b, int h, int kv0, int keys, int q0, float[] s, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {}
    static int maskTile(Env env, int b, int h, int kv0, int keys, int q0, float[] bias, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {
        return keys * vectors * Lanes.L;
    }
    /** Tile-sized float and int regions the tile hooks spill to when they are split into passes ({@code attnc.jvm.emit.PassPlanner}). */
    static int floatSpills() { return 0; }
    static int intSpills() { return 0; }
    static float output(Env env, int b, int h, int q, int d, float o) { return o; }
    // ---- end of hooks ----

    public DecodeTemplate() {}

    @Override public int tileKv() { return tileKvSize(); }
    @Override public Normalisation normalisation() { return norm(); }

    @Override
    public void accumulate(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int heads, int kvFrom, int kvTo) {
        int group = launch.group(), nq = seq.nq(), bq = DecodeLaunch.queryTile(nq), bk = tileKvSize(), span = DecodeLaunch.rowSpan(group, nq);
        int ks = launch.keyStride(), vs = launch.valueStride(), width = DecodeLaunch.blockRows(group, nq), b = seq.b();
        int blocks = (group * nq + 3) / 4; // P·V's blocks of 4 rows: the rows that hold queries
        boolean lanes = width == Lanes.L;
        Env env = seq.env();
        scratch.ensure(heads, group, nq, bq, bk, ks, vs).ensureSpills(floatSpills() * bq * bk, intSpills() * bq * bk);
        for (int slot = 0; slot < heads; slot++) packQueries(launch, seq, scratch, kvHead + slot, slot * span, ks);
        Arrays.fill(scratch.m, 0, heads * span, norm() == Normalisation.SOFTMAX ? Float.NEGATIVE_INFINITY : 0f);
        Arrays.fill(scratch.l, 0, heads * span, 0f);
        Arrays.fill(scratch.o, 0, heads * span * vs, 0f);
        Arrays.fill(scratch.run, 0, heads * group, 0);
        int[] cls = scratch.tileClass;
        for (int tile = kvFrom / bk; tile * bk < kvTo; tile++) {
            int kv0 = Math.max(kvFrom, tile * bk), keys = Math.min(kvTo, (tile + 1) * bk) - kv0;
            boolean anyHead = false;
            for (int c = 0; c < heads * group; c++) {
                cls[c] = hasMask() ? classOf(seq.tiles().row(b, kvHead * group + c, 0), scratch.run, c, tile) : FULL;
                anyHead |= cls[c] != EMPTY;
            }
            if (!anyHead) continue;
            // One read a cache line of the tile's K and V rows, in address order, before their products: loads with
            // nothing to wait on keep many misses in flight, so the products read from cache. For one KV head, V's
            // rows are read just before the first P·V, so that the tile q·k reads (32 KiB at D = 128) fits a 48 KiB
            // L1, which K and V together do not (Zen 5, Nq = 1, 32K keys, 2 threads: a median of 67.6 against 74.9 ms
            // a step over 10 runs each). A call that reads every KV head of a page (a paged cache of several KV
            // heads) touches all their rows, beyond L1 either way at 8 heads, and reads K and V together as before.
            boolean valuesApart = heads == 1;
            scratch.touched += launch.k().touch(b, kvHead, heads, kv0, keys) + (valuesApart ? 0f : launch.v().touch(b, kvHead, heads, kv0, keys));
            for (int slot = 0; slot < heads; slot++) {
                int h0 = (kvHead + slot) * group, first = slot * span, c0 = slot * group;
                boolean any = false, full = true;
                for (int g = 0; g < group; g++) {
                    any |= cls[c0 + g] != EMPTY;
                    full &= cls[c0 + g] == FULL;
                }
                if (!any) continue;
                locate(launch, scratch, b, kvHead + slot, kv0, keys, ks, vs);
                if (lanes) DecodeTiles.dotsLanes(scratch.qt, first * ks, span / width, ks, scratch.kRows, scratch.kOff, keys, scratch.p, bk);
                else DecodeTiles.dots(scratch.q, first * ks, span / width, ks, scratch.kRows, scratch.kOff, keys, scratch.p, bk);
                if (full && !hasScore()) {
                    blockWeights(scratch, first, span, width, keys, vs);
                } else {
                    for (int g = 0; g < group; g++) {
                        if (cls[c0 + g] == EMPTY || !weights(env, seq, scratch, b, h0 + g, g, first, kv0, keys, bq, width, cls[c0 + g] == PARTIAL, vs)) {
                            for (int i = 0; i < nq; i++) for (int j = 0; j < keys; j++) scratch.p[DecodeTiles.at(g * nq + i, j, bk, width)] = 0f;
                        }
                    }
                }
                // One head: its one slot gets here once a tile (the tile is not skipped, so that slot sees it).
                if (valuesApart) scratch.touched += launch.v().touch(b, kvHead, heads, kv0, keys);
                DecodeTiles.pv(scratch.p, bk, width, scratch.vRows, scratch.vOff, vs, scratch.o, first * vs, blocks, keys);
            }
        }
    }

    /**
     * A FULL tile's scores of every block of the slot at row {@code first} ({@code span} rows in blocks of
     * {@code width}) become weights in place, the output rows rescaled.
     */
    private static void blockWeights(DecodeScratch scratch, int first, int span, int width, int keys, int vs) {
        int bk = tileKvSize();
        if (width == Lanes.L) {
            // A block's rows are a vector's lanes: the hooks' lane-wise arithmetic, one key a vector.
            for (int lb = 0; lb < span / width; lb++) {
                int at = lb * bk * width, row0 = first + lb * width;
                if (norm() == Normalisation.SOFTMAX) {
                    DecodeTiles.softmaxLanes(scratch.p, at, width, keys, scratch.m, scratch.l, scratch.alpha, row0);
                    for (int r = row0; r < row0 + width; r++) DecodeTiles.scale(scratch.o, r * vs, vs, scratch.alpha[r]);
                } else if (norm() == Normalisation.SIGMOID) {
                    DecodeTiles.sigmoidLanes(scratch.p, at, width, keys, scratch.normValue, row0);
                } else {
                    DecodeTiles.identityLanes(scratch.p, at, width, keys);
                }
            }
            return;
        }
        for (int rb = 0; rb < span / 4; rb++) {
            int at = rb * bk * 4, row0 = first + 4 * rb;
            if (norm() == Normalisation.SOFTMAX) {
                DecodeTiles.softmaxBlock(scratch.p, at, keys, scratch.m, scratch.l, scratch.alpha, row0, scratch.blockLanes);
                for (int r = row0; r < row0 + 4; r++) DecodeTiles.scale(scratch.o, r * vs, vs, scratch.alpha[r]);
            } else if (norm() == Normalisation.SIGMOID) {
                DecodeTiles.sigmoidBlock(scratch.p, at, keys, scratch.normValue, row0);
            } else {
                DecodeTiles.identityBlock(scratch.p, at, keys);
            }
        }
    }

    /**
     * Head g's rows of p (its q·k) become weights: scores in the hooks' layout, the score hook,
     * the mask (PARTIAL tiles), the normalisation (its state copied to lanes and back), and back
     * to rows, rescaling the head's output rows by the softmax's factor. False when the mask
     * leaves nothing of the tile visible.
     */
    private static boolean weights(Env env, DecodeLaunch.Sequence seq, DecodeScratch scratch, int b, int h, int g, int first, int kv0, int keys,
                                   int bq, int width, boolean partial, int vs) {
        int nq = seq.nq(), bk = tileKvSize(), vectors = bq / Lanes.L, row0 = first + g * nq, firstQuery = seq.queryOffset();
        float[] s = scratch.s, p = scratch.p;
        for (int i = 0; i < nq; i++) for (int j = 0; j < keys; j++) s[j * bq + i] = p[DecodeTiles.at(g * nq + i, j, bk, width)];
        if (hasScore()) scoreTile(env, b, h, kv0, keys, firstQuery, s, vectors, scratch.laneBuffer, scratch.floatSpill, scratch.intSpill);
        if (partial) {
            int visible = maskTile(env, b, h, kv0, keys, firstQuery, scratch.bias, vectors, scratch.laneBuffer, scratch.floatSpill, scratch.intSpill);
            if (visible == 0) return false;
            if (visible != keys * bq) Tiles.addBias(s, scratch.bias, 0, keys * bq);
        }
        if (norm() == Normalisation.SOFTMAX) {
            System.arraycopy(scratch.m, row0, scratch.laneM, 0, nq);
            System.arraycopy(scratch.l, row0, scratch.laneL, 0, nq);
        } else if (norm() == Normalisation.SIGMOID) {
            System.arraycopy(scratch.normValue, row0, scratch.laneBias, 0, nq);
        }
        for (int i0 = 0; i0 < bq; i0 += Lanes.L) {
            if (norm() == Normalisation.SOFTMAX) DecodeTiles.softmax(s, bq, keys, scratch.laneM, scratch.laneL, scratch.laneAlpha, 0, i0);
            else if (norm() == Normalisation.SIGMOID) DecodeTiles.sigmoid(s, bq, keys, scratch.laneBias, 0, i0);
            else DecodeTiles.identity(s, bq, keys, i0);
        }
        for (int i = 0; i < nq; i++) {
            int row = row0 + i;
            if (norm() == Normalisation.SOFTMAX) {
                scratch.m[row] = scratch.laneM[i];
                scratch.l[row] = scratch.laneL[i];
                DecodeTiles.scale(scratch.o, row * vs, vs, scratch.laneAlpha[i]);
            }
            for (int j = 0; j < keys; j++) p[DecodeTiles.at(g * nq + i, j, bk, width)] = s[j * bq + i];
        }
        return true;
    }

    /** Whether {@code tile} is EMPTY, PARTIAL or FULL in {@code row}, advancing head g's run cursor (tiles come in order). */
    private static int classOf(KvRuns row, int[] run, int g, int tile) {
        int r = run[g];
        while (r < row.runs() && row.last()[r] < tile) r++;
        run[g] = r;
        if (r == row.runs() || row.first()[r] > tile) return EMPTY;
        return row.full()[r] ? FULL : PARTIAL;
    }

    /**
     * KV head {@code kvHead}'s group of queries times their row scale at rows first + g·nq + i,
     * ks wide (zero past D), zero rows up to the span; the sigmoid's bias per row; in blocks of L
     * rows in lanes too where the layout's blocks are L rows ({@link DecodeLaunch#blockRows}).
     */
    private static void packQueries(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int first, int ks) {
        int group = launch.group(), nq = seq.nq(), d = launch.headDim(), b = seq.b();
        float[] q = scratch.q;
        for (int g = 0; g < group; g++) {
            int h = kvHead * group + g;
            for (int i = 0; i < nq; i++) {
                int row = first + g * nq + i, at = row * ks;
                seq.q().readRow(b, h, i, q, at);
                float scale = rowScale(seq.env(), b, h, seq.queryOffset() + i);
                for (int t = 0; t < d; t++) q[at + t] *= scale;
                Arrays.fill(q, at + d, at + ks, 0f);
                if (norm() == Normalisation.SIGMOID) scratch.normValue[row] = normValue(seq.env(), b, h, seq.queryOffset() + i);
            }
        }
        int used = first + group * nq, span = DecodeLaunch.rowSpan(group, nq), width = DecodeLaunch.blockRows(group, nq);
        Arrays.fill(q, used * ks, (first + span) * ks, 0f);
        if (width != Lanes.L) return;
        // The rows again, each block of L rows in lanes (DecodeTiles.dotsLanes): element t of row first + r at (r / L·ks + t)·L + r % L.
        float[] qt = scratch.qt;
        for (int r = 0; r < span; r++) {
            int from = (first + r) * ks, to = first * ks + ((r / width) * ks) * width + r % width;
            for (int t = 0; t < ks; t++) qt[to + t * width] = q[from + t];
        }
    }

    /** Offsets of the tile's K and V rows: in the cache itself when it is float32 on the heap, else in the scratch's copies. */
    private static void locate(DecodeLaunch launch, DecodeScratch scratch, int b, int kvHead, int kv0, int keys, int ks, int vs) {
        scratch.kRows = launch.k().locate(b, kvHead, kv0, keys, scratch.k, ks, scratch.kOff);
        scratch.vRows = launch.v().locate(b, kvHead, kv0, keys, scratch.v, vs, scratch.vOff);
    }

    @Override
    public void finish(DecodeLaunch launch, DecodeLaunch.Sequence seq, DecodeScratch scratch, int kvHead, int slot) {
        int group = launch.group(), nq = seq.nq(), dv = launch.valueDim(), vs = launch.valueStride();
        int b = seq.b(), first = slot * DecodeLaunch.rowSpan(group, nq);
        boolean bare = launch.bare();
        float[] row = scratch.row;
        Env env = seq.env();
        for (int g = 0; g < group; g++) {
            int h = kvHead * group + g;
            for (int i = 0; i < nq; i++) {
                int r = first + g * nq + i, query = seq.queryOffset() + i;
                float factor = 1f;
                if (norm() == Normalisation.SOFTMAX) {
                    float max = scratch.m[r], sum = scratch.l[r];
                    if (hasNormValue() && !bare) {
                        // The sink joins the row once, after every split of its keys has been merged.
                        float sink = normValue(env, b, h, query);
                        float top = Math.max(max, sink);
                        float keep = top == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(max - top);
                        sum = sum * keep + (top == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(sink - top));
                        factor = sum == 0f ? 0f : keep / sum;
                        max = top;
                    } else {
                        factor = sum == 0f ? 0f : 1f / sum;
                    }
                    if (seq.lse() != null) {
                        seq.lse()[seq.lseBase() + h * seq.lseStrideH() + i * seq.lseStrideQ()] =
                                sum == 0f ? Float.NEGATIVE_INFINITY : max + (float) Math.log(sum);
                    }
                }
                for (int c = 0; c < dv; c++) row[c] = scratch.o[r * vs + c] * factor;
                if (seq.preOutput() != null) seq.preOutput().writeRow(b, h, i, row, 0, dv);
                if (hasOutput() && !bare) for (int c = 0; c < dv; c++) row[c] = output(env, b, h, query, c, row[c]);
                seq.out().writeRow(b, h, i, row, 0, dv);
            }
        }
    }
}
