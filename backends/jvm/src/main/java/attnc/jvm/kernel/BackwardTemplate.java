package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * The backward pass, FlashAttention-2's schedule, written once as ordinary Java and never run as
 * it is: {@link attnc.jvm.emit.BackwardGenerator} copies this class's bytecode under a new name for
 * each pattern and replaces the static hooks below with bytecode rendered from the pattern's
 * lowered derivative programs ({@link attnc.lower.LoweredBackward}), as the forward's
 * {@link FlashTemplate} is copied.
 *
 * <p>Per row first ({@link #prepareRows}): dO = dOut · d output/d o, Δ = rowsum(dO ∘ o), q times
 * its scale, and the row's LSE. Then the key pass ({@link #keyTile}), one task per
 * (b, kv head, key tile): for each query head of the group and each query tile whose row of key
 * tiles holds this one (EMPTY pairs are never visited; FULL ones run no mask code), recompute
 * Sᵀ = K·(q·scale)ᵀ and the score, the weights P from the LSE (sigmoid and unnormalised weights
 * from the score), dPᵀ = V·dOᵀ, dS by the norm's rule, the score sites' gradients from dS, then
 * ds = dS · d score/d s, dV += Pᵀ·dO and dK += dsᵀ·(q·scale) in the task's own accumulators, and
 * the pair's ds·K added into the query tile's dq under the tile's turn ({@link GradLaunch}).
 * Last, per row ({@link #finishRows}): dq = scale · Σ ds·k and the scale's upstream gradient
 * q · Σ ds·k; then, on one thread, the input gradients kept per row, column or head are added
 * at the elements their loads read ({@link #addInputGradients}). Memory beyond the inputs and
 * gradients is O(rows): no buffer of N² elements.
 *
 * <p>No switch over an enum here: javac compiles one to a lookup class of the template's own,
 * which a copy under another name could not use.
 */
public class BackwardTemplate implements GradKernel {

    // ---- hooks: replaced in every generated class ----
    static int tileQSize() { return 4 * Lanes.L; }
    static int tileKvSize() { return 64; }
    static Normalisation norm() { return Normalisation.SOFTMAX; }
    static boolean hasScore() { return false; }
    static boolean hasMask() { return false; }
    static boolean hasNormValue() { return false; }
    static boolean hasOutput() { return false; }
    /** d score/d s is not the constant 1. */
    static boolean hasScoreByS() { return false; }
    static float rowScale(Env env, int b, int h, int q) { return 1f; }
    static float normValue(Env env, int b, int h, int q) { return 0f; }
    static void scoreTile(Env env, int b, int h, int kv0, int keys, int q0, float[] s, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {}
    static int maskTile(Env env, int b, int h, int kv0, int keys, int q0, float[] bias, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {
        return keys * vectors * Lanes.L;
    }
    /** Tile-sized float and int regions the tile hooks spill to when they are split into passes ({@code attnc.jvm.emit.PassPlanner}). */
    static int floatSpills() { return 0; }
    static int intSpills() { return 0; }
    static float outputByO(Env env, int b, int h, int q, int d, float o) { return 1f; }
    /** dS[j·bq + i] becomes ds: times d score/d s at the raw score s[j·bq + i]; 0 stays 0. */
    static void dsTile(Env env, int b, int h, int kv0, int keys, int q0, float[] s, float[] dS, int vectors, int[] lanes, float[] floatSpill, int[] intSpill) {}
    /** Every score site's dS · partial, into the scratch's row, column and head sums or the element sink. */
    static void scoreSites(Env env, int b, int h, int kv0, int keys, int q0, float[] s, float[] dS, int vectors, int[] lanes, float[] floatSpill,
                           int[] intSpill, GradScratch g) {}
    /** Site {@code site}'s partial derivative, one element at a time. */
    static float sitePartial(int site, Env env, int b, int h, int q, int kv, int d, float s, float o) { return 0f; }
    /** The element of its input site {@code site} reads. */
    static int siteOffset(int site, Env env, int b, int h, int q, int kv, int d, float s, float o) { return 0; }
    // ---- end of hooks ----

    public BackwardTemplate() {}

    @Override public int tileQ() { return tileQSize(); }
    @Override public int tileKv() { return tileKvSize(); }

    @Override
    public void prepareRows(GradLaunch l, int b, int h, int qTile) {
        int bq = tileQSize(), q0 = qTile * bq, rows = Math.min(bq, l.nq - q0);
        int d = l.headDim, hs = l.headStride, dv = l.valueDim, vs = l.valueStride;
        int head = b * l.heads + h, tile = head * l.qTiles + qTile, first = head * l.nq + q0;
        Env env = l.env;
        float[] row = new float[d];
        for (int r = 0; r < rows; r++) {
            int at = first + r, query = l.queryOffset + q0 + r;
            l.q.readRow(b, h, q0 + r, row, 0);
            float scale = rowScale(env, b, h, query);
            l.rowScale[at] = scale;
            for (int t = 0; t < d; t++) l.qs[at * hs + t] = row[t] * scale;
            Arrays.fill(l.qs, at * hs + d, (at + 1) * hs, 0f);
            float delta = 0f;
            for (int c = 0; c < dv; c++) {
                float o = l.o[at * dv + c], up = l.dOut[at * dv + c];
                if (hasOutput()) up *= outputByO(env, b, h, query, c, o);
                l.dO[at * vs + c] = up;
                delta += up * o;
            }
            Arrays.fill(l.dO, at * vs + dv, (at + 1) * vs, 0f);
            if (norm() == Normalisation.SOFTMAX) {
                float lse = l.lse[at];
                boolean empty = lse == Float.NEGATIVE_INFINITY;
                // A row with nothing visible has weights e^(S − ∞) = 0, never e^(−∞ + ∞).
                l.lanes[at] = empty ? Float.POSITIVE_INFINITY : lse;
                l.delta[at] = delta;
                // The sink takes e^(z − LSE) of the mass: its logit's gradient is −e^(z − LSE) · Δ.
                if (hasNormValue() && l.normUp != null) l.normUp[at] = empty ? 0f : -(float) Math.exp(normValue(env, b, h, query) - lse) * delta;
            } else if (norm() == Normalisation.SIGMOID) {
                l.lanes[at] = normValue(env, b, h, query);
            }
        }
        GradTiles.transpose(l.qs, first * hs, hs, rows, l.qt, tile * hs * bq, bq);
        GradTiles.transpose(l.dO, first * vs, vs, rows, l.dOt, tile * vs * bq, bq);
        Arrays.fill(l.dqSum, first * hs, (first + rows) * hs, 0f);
    }

    @Override
    public void keyTile(GradLaunch l, GradScratch g, int task, int b, int kvHead, int kvTile) {
        int bq = tileQSize(), bk = tileKvSize(), hs = l.headStride, vs = l.valueStride;
        int kv0 = kvTile * bk, keys = Math.min(bk, l.nkv - kv0), keys4 = (keys + 3) & ~3;
        g.bind(l, bq, bk).ensureSpills(floatSpills() * bq * bk, intSpills() * bq * bk);
        packRows(l.k, b, kvHead, kv0, keys, keys4, g.k, hs);
        packRows(l.v, b, kvHead, kv0, keys, keys4, g.v, vs);
        Arrays.fill(g.dk, 0, keys4 * hs, 0f);
        Arrays.fill(g.dv, 0, keys4 * vs, 0f);
        boolean sites = l.scoreSites;
        for (int h = kvHead * l.group(), end = h + l.group(); h < end; h++) {
            if (sites) {
                Arrays.fill(g.colSites, 0f);
                Arrays.fill(g.headSites, 0f);
            }
            for (int qTile = 0; qTile < l.qTiles; qTile++) {
                KvRuns runs = l.tiles.row(b, h, qTile);
                // rank: the visited key tiles before this one in the query tile's row, the order of its turns.
                int rank = 0, run = -1;
                for (int r = 0; r < runs.runs(); r++) {
                    if (runs.last()[r] < kvTile) {
                        rank += runs.last()[r] - runs.first()[r] + 1;
                        continue;
                    }
                    if (runs.first()[r] <= kvTile) {
                        run = r;
                        rank += kvTile - runs.first()[r];
                    }
                    break;
                }
                if (run < 0) continue;
                boolean computed = pair(l, g, b, h, qTile, kv0, keys, keys4, runs.full()[run] || !hasMask());
                accumulate(l, g, b, h, qTile, kv0, keys, sites, computed, rank);
            }
            if (sites) keepColumnsAndHeads(l, g, b, h, kvTile, kv0, keys);
        }
        int first = (b * l.kvHeads + kvHead) * l.nkv + kv0;
        for (int j = 0; j < keys; j++) {
            if (l.dk != null) System.arraycopy(g.dk, j * hs, l.dk, (first + j) * l.headDim, l.headDim);
            if (l.dv != null) System.arraycopy(g.dv, j * vs, l.dv, (first + j) * l.valueDim, l.valueDim);
        }
        l.commitElements(g, task);
    }

    /**
     * One (key tile, query tile) pair up to dS (in g.dp) and P (in g.p); false when the mask finds
     * nothing visible. Masked pairs and padding (queries past Nq, keys past the tile's end) get a
     * −∞ bias, so that their weights and gradients are exactly 0 under every norm. The pair's
     * sums are {@link #accumulate}'s: two methods, each C2's own compilation with its own node
     * budget for the hooks it inlines (as one, ALiBi's scoreSites passed NodeCountInliningCutoff
     * and called Lanes with boxed vectors, 15–18% of the backward's time in the Vector API's Java
     * fallbacks).
     */
    private static boolean pair(GradLaunch l, GradScratch g, int b, int h, int qTile, int kv0, int keys, int keys4, boolean full) {
        int bq = tileQSize(), vectors = bq / Lanes.L, hs = l.headStride, vs = l.valueStride;
        int q0 = qTile * bq, rows = Math.min(bq, l.nq - q0), firstQuery = l.queryOffset + q0;
        int rowBase = (b * l.heads + h) * l.nq + q0, tile = (b * l.heads + h) * l.qTiles + qTile, n = keys4 * bq;
        Env env = l.env;
        float[] bias = g.bias;
        boolean partial = !full || rows < bq || keys < keys4;
        if (!full) {
            if (maskTile(env, b, h, kv0, keys, firstQuery, bias, vectors, g.laneBuffer, g.floatSpill, g.intSpill) == 0) return false;
        } else if (partial) {
            Arrays.fill(bias, 0, keys * bq, 0f);
        }
        if (partial) {
            for (int j = 0; j < keys; j++) Arrays.fill(bias, j * bq + rows, (j + 1) * bq, Float.NEGATIVE_INFINITY);
            Arrays.fill(bias, keys * bq, n, Float.NEGATIVE_INFINITY);
        }

        // Sᵀ and the score; s itself stays in g.s for the derivative hooks.
        Tiles.qk(g.k, 0, hs, l.qt, tile * hs * bq, bq, g.s, keys4);
        float[] scores = g.s;
        if (hasScore()) {
            System.arraycopy(g.s, 0, g.scores, 0, n);
            scoreTile(env, b, h, kv0, keys, firstQuery, g.scores, vectors, g.laneBuffer, g.floatSpill, g.intSpill);
            scores = g.scores;
        }
        if (partial) Tiles.addBias(scores, bias, 0, n);

        // P, recomputed: from the LSE, the sigmoid's bias, or the score itself.
        for (int i = 0; i < rows; i++) {
            g.lane[i] = l.lanes[rowBase + i];
            g.delta[i] = l.delta[rowBase + i];
        }
        Arrays.fill(g.lane, rows, bq, norm() == Normalisation.SOFTMAX ? Float.POSITIVE_INFINITY : 0f);
        Arrays.fill(g.delta, rows, bq, 0f);
        if (norm() == Normalisation.SOFTMAX) GradTiles.softmaxWeights(scores, g.p, bq, keys4, g.lane);
        else if (norm() == Normalisation.SIGMOID) GradTiles.sigmoidWeights(scores, g.p, bq, keys4, g.lane);
        else GradTiles.identityWeights(scores, g.p, n);

        // dPᵀ = V·dOᵀ, then dS by the norm's rule (none: dS = dP).
        Tiles.qk(g.v, 0, vs, l.dOt, tile * vs * bq, bq, g.dp, keys4);
        if (norm() == Normalisation.SOFTMAX) GradTiles.softmaxGradient(g.p, g.dp, bq, keys4, g.delta);
        else if (norm() == Normalisation.SIGMOID) GradTiles.sigmoidGradient(g.p, g.dp, n);
        if (partial) GradTiles.zeroMasked(g.dp, bias, n);
        if (l.sigmoidBias) {
            Arrays.fill(g.dBias, 0, bq, 0f);
            GradTiles.addColumnSums(g.dp, bq, keys4, g.dBias);
        }
        return true;
    }

    /**
     * A pair's sums when it was {@code computed}: the score sites' from dS, then ds, and ds and P
     * into dK, dV and the pair's dq; then what it adds into its query tile's rows, under the tile's
     * turn (taken even with nothing to add, so that the tile's later pairs get theirs). Kept larger
     * than the largest hot method C2 inlines (FreqInlineSize, 325 bytes; {@code HookSizeTest} checks):
     * inlined into {@link #keyTile}, the hooks it calls shared that method's node budget, which ran
     * out before their Lanes calls (softcap's backward: 12–14% of its samples in the Vector API's
     * Java fallbacks, none with this method compiled on its own).
     */
    private static void accumulate(GradLaunch l, GradScratch g, int b, int h, int qTile, int kv0, int keys, boolean sites, boolean computed, int rank) {
        int tile = (b * l.heads + h) * l.qTiles + qTile;
        if (!computed) {
            l.enterRowTile(tile, rank);
            l.leaveRowTile(tile, rank);
            return;
        }
        int bq = tileQSize(), vectors = bq / Lanes.L, hs = l.headStride, vs = l.valueStride;
        int q0 = qTile * bq, rows = Math.min(bq, l.nq - q0), firstQuery = l.queryOffset + q0;
        int rowBase = (b * l.heads + h) * l.nq + q0;
        Env env = l.env;
        if (sites) {
            Arrays.fill(g.rowSites, 0f);
            scoreSites(env, b, h, kv0, keys, firstQuery, g.s, g.dp, vectors, g.laneBuffer, g.floatSpill, g.intSpill, g);
        }
        if (hasScoreByS()) dsTile(env, b, h, kv0, keys, firstQuery, g.s, g.dp, vectors, g.laneBuffer, g.floatSpill, g.intSpill);

        // dV += Pᵀ·dO, dK += dsᵀ·(q·scale), and this pair's Σ ds·k for the query tile's rows.
        if (l.dv != null) GradTiles.multiplyAdd(g.p, 0, bq, 1, keys, rows, l.dO, rowBase * vs, vs, vs, g.dv, 0, vs);
        if (l.dk != null) GradTiles.multiplyAdd(g.dp, 0, bq, 1, keys, rows, l.qs, rowBase * hs, hs, hs, g.dk, 0, hs);
        if (l.needsDq()) {
            Arrays.fill(g.dq, 0, rows * hs, 0f);
            GradTiles.multiplyAdd(g.dp, 0, 1, bq, rows, keys, g.k, 0, hs, hs, g.dq, 0, hs);
        }
        l.enterRowTile(tile, rank);
        try {
            addRows(l, g, b, h, qTile);
        } finally {
            l.leaveRowTile(tile, rank);
        }
    }

    /** What a pair adds into its query tile's rows, under the tile's turn. */
    private static void addRows(GradLaunch l, GradScratch g, int b, int h, int qTile) {
        int bq = tileQSize(), q0 = qTile * bq, rows = Math.min(bq, l.nq - q0), rowBase = (b * l.heads + h) * l.nq + q0;
        if (l.needsDq()) GradTiles.add(g.dq, l.dqSum, rowBase * l.headStride, rows * l.headStride);
        if (l.sigmoidBias) for (int i = 0; i < rows; i++) l.normUp[rowBase + i] += g.dBias[i];
        for (int site = 0; site < l.sites.length; site++) {
            float[] slot = l.rowSlots[site];
            if (slot != null) for (int i = 0; i < rows; i++) slot[rowBase + i] += g.rowSites[site * bq + i];
        }
    }

    /** The task's column and head sums for one query head: its own, so stored, not added. */
    private static void keepColumnsAndHeads(GradLaunch l, GradScratch g, int b, int h, int kvTile, int kv0, int keys) {
        int head = b * l.heads + h, bk = tileKvSize();
        for (int site = 0; site < l.sites.length; site++) {
            if (l.colSlots[site] != null) System.arraycopy(g.colSites, site * bk, l.colSlots[site], head * l.nkv + kv0, keys);
            if (l.headSlots[site] != null) l.headSlots[site][head * l.kvTiles + kvTile] = g.headSites[site];
        }
    }

    /** Rows [n0, n0 + keys) of K or V into {@code into} at {@code stride}, zero beyond the width and up to keys4 rows. */
    private static void packRows(Operand operand, int b, int head, int n0, int keys, int keys4, float[] into, int stride) {
        int width = operand.width();
        for (int j = 0; j < keys; j++) {
            operand.readRow(b, head, n0 + j, into, j * stride);
            Arrays.fill(into, j * stride + width, (j + 1) * stride, 0f);
        }
        Arrays.fill(into, keys * stride, keys4 * stride, 0f);
    }

    @Override
    public void finishRows(GradLaunch l, int b, int h, int qTile) {
        int bq = tileQSize(), q0 = qTile * bq, rows = Math.min(bq, l.nq - q0), d = l.headDim, hs = l.headStride;
        float[] row = new float[d];
        for (int r = 0; r < rows; r++) {
            int at = (b * l.heads + h) * l.nq + q0 + r;
            if (l.scaleUp != null) {
                // Σ ds · (q·k) over the row's keys, which is q · Σ ds·k: no reduction of its own.
                l.q.readRow(b, h, q0 + r, row, 0);
                float sum = 0f;
                for (int t = 0; t < d; t++) sum += row[t] * l.dqSum[at * hs + t];
                l.scaleUp[at] = sum;
            }
            if (l.dq != null) {
                float scale = l.rowScale[at];
                for (int t = 0; t < d; t++) l.dq[at * d + t] = l.dqSum[at * hs + t] * scale;
            }
        }
    }

    @Override
    public void addInputGradients(GradLaunch l) {
        for (int site = 0; site < l.sites.length; site++) {
            float[] grad = l.siteGradients[site];
            if (grad == null) continue;
            GradSite kind = l.sites[site];
            for (int head = 0; head < l.batch * l.heads; head++) {
                int b = head / l.heads, h = head % l.heads;
                if (kind == GradSite.SCORE_ROW) addRowSums(l, site, grad, b, h);
                else if (kind == GradSite.SCORE_COLUMN) addColumns(l, site, grad, b, h);
                else if (kind == GradSite.SCORE_HEAD) addHead(l, site, grad, b, h);
                else if (kind == GradSite.SCALE) addRowProducts(l, site, grad, l.scaleUp, b, h);
                else if (kind == GradSite.NORM) addRowProducts(l, site, grad, l.normUp, b, h);
                else if (kind == GradSite.OUTPUT) addOutputs(l, site, grad, b, h);
            }
        }
    }

    /** A score site summed per row: each row's sum at the element the row reads. */
    private static void addRowSums(GradLaunch l, int site, float[] grad, int b, int h) {
        float[] sums = l.rowSlots[site];
        for (int i = 0, row = (b * l.heads + h) * l.nq; i < l.nq; i++, row++) {
            grad[siteOffset(site, l.env, b, h, l.queryOffset + i, 0, 0, 0f, 0f)] += sums[row];
        }
    }

    private static void addColumns(GradLaunch l, int site, float[] grad, int b, int h) {
        float[] sums = l.colSlots[site];
        for (int kv = 0, at = (b * l.heads + h) * l.nkv; kv < l.nkv; kv++, at++) {
            grad[siteOffset(site, l.env, b, h, l.queryOffset, kv, 0, 0f, 0f)] += sums[at];
        }
    }

    private static void addHead(GradLaunch l, int site, float[] grad, int b, int h) {
        float[] sums = l.headSlots[site];
        int at = siteOffset(site, l.env, b, h, l.queryOffset, 0, 0, 0f, 0f);
        for (int t = 0, from = (b * l.heads + h) * l.kvTiles; t < l.kvTiles; t++) grad[at] += sums[from + t];
    }

    /** A scale or norm site: the row's upstream gradient times the site's partial at the row. */
    private static void addRowProducts(GradLaunch l, int site, float[] grad, float[] upstream, int b, int h) {
        for (int i = 0, row = (b * l.heads + h) * l.nq; i < l.nq; i++, row++) {
            int q = l.queryOffset + i;
            grad[siteOffset(site, l.env, b, h, q, 0, 0, 0f, 0f)] += upstream[row] * sitePartial(site, l.env, b, h, q, 0, 0, 0f, 0f);
        }
    }

    /** An output site: dOut times the partial at each (row, channel), with o bound. */
    private static void addOutputs(GradLaunch l, int site, float[] grad, int b, int h) {
        int dv = l.valueDim;
        for (int i = 0, row = (b * l.heads + h) * l.nq; i < l.nq; i++, row++) {
            int q = l.queryOffset + i;
            for (int c = 0; c < dv; c++) {
                float o = l.o[row * dv + c];
                grad[siteOffset(site, l.env, b, h, q, 0, c, 0f, o)] += l.dOut[row * dv + c] * sitePartial(site, l.env, b, h, q, 0, c, 0f, o);
            }
        }
    }
}
