package attnc.jvm.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One backward call's data, shared by every thread working on it, and the two rules by which
 * threads add into what they share.
 *
 * <p>Each key-pass task (b, kv head, key tile) owns its dK and dV rows and its column sums; what
 * it adds into a query tile's rows (partial dQ, row sums) is added under that tile's turn
 * ({@link #enterRowTile}). In deterministic mode the turn goes to the key tiles in ascending order,
 * so every row's sum has one order whatever the threads; otherwise to whoever comes first. Element
 * sites are added atomically, or, in deterministic mode, kept by the task and added in task
 * order ({@link #commitElements}). A task only ever waits for tasks handed out before it, which
 * are running or done, so no wait can close a cycle.
 *
 * <p>Rows are (b, h, q) in [B, H, Nq] order; padded widths ({@code headStride}, {@code valueStride})
 * are D and Dv rounded up to whole vectors, zero beyond D and Dv.
 */
public final class GradLaunch {
    public final Operand q, k, v;
    public final Env env;
    public final TileRows tiles;
    public final int batch, heads, kvHeads, nq, nkv, headDim, valueDim, queryOffset, headStride, valueStride, tileQ, tileKv, qTiles, kvTiles;
    /** o [B, H, Nq, Dv] before any output transform, dOut, and the forward's LSE (null unless softmax). */
    public final float[] o, dOut, lse;
    /** The gradients asked for, dense; null when not asked for. */
    public final float[] dq, dk, dv;
    /** Per load site: its kind, and the gradient of the input it reads (null when not asked for). */
    public final GradSite[] sites;
    public final float[][] siteGradients;
    public final boolean deterministic;

    /** Per row: q · scale [rows × headStride], and the same transposed per query tile [tile][t][i]. */
    public final float[] qs, qt;
    /** Per row: dO = dOut · d output/d o [rows × valueStride], and transposed per query tile. */
    public final float[] dO, dOt;
    /** Per row: the LSE (+∞ where nothing is visible) or the sigmoid's bias; Δ = rowsum(dO ∘ o); the scale. */
    public final float[] lanes, delta, rowScale;
    /** Σ over keys of ds · k per row [rows × headStride]: dq / scale. */
    public final float[] dqSum;
    /** Upstream gradients per row of the scale and norm sites (null when no such site is asked for). */
    public final float[] scaleUp, normUp;
    /** Score sites' sums, per site (null for other kinds or unasked inputs): per row, per (b, h, key), per (b, h, key tile). */
    public final float[][] rowSlots, colSlots, headSlots;
    /** Whether the key pass adds Σ dS per row into {@link #normUp} (a sigmoid bias with a gradient asked for). */
    public final boolean sigmoidBias;
    /** Whether any score site's gradient is asked for. */
    public final boolean scoreSites;

    private final AtomicIntegerArray rowTiles;
    private final AtomicInteger elementTurn = new AtomicInteger();
    private final boolean orderedElements;
    private volatile boolean failed;

    public GradLaunch(Operand q, Operand k, Operand v, Env env, TileRows tiles, int[] sizes, int tileQ, int tileKv,
                      float[] o, float[] dOut, float[] lse, float[] dq, float[] dk, float[] dv,
                      GradSite[] sites, float[][] siteGradients, boolean sigmoidBias, boolean deterministic) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.env = env;
        this.tiles = tiles;
        batch = sizes[0];
        heads = sizes[1];
        kvHeads = sizes[2];
        nq = sizes[3];
        nkv = sizes[4];
        headDim = sizes[5];
        valueDim = sizes[6];
        queryOffset = sizes[7];
        headStride = Launch.roundUp(headDim, Lanes.L);
        valueStride = Launch.roundUp(valueDim, Lanes.L);
        this.tileQ = tileQ;
        this.tileKv = tileKv;
        qTiles = (nq + tileQ - 1) / tileQ;
        kvTiles = (nkv + tileKv - 1) / tileKv;
        this.o = o;
        this.dOut = dOut;
        this.lse = lse;
        this.dq = dq;
        this.dk = dk;
        this.dv = dv;
        this.sites = sites;
        this.siteGradients = siteGradients;
        this.deterministic = deterministic;
        int rows = batch * heads * nq, tiledRows = batch * heads * qTiles * tileQ;
        qs = new float[rows * headStride];
        qt = new float[tiledRows * headStride];
        dO = new float[rows * valueStride];
        dOt = new float[tiledRows * valueStride];
        lanes = new float[rows];
        delta = new float[rows];
        rowScale = new float[rows];
        dqSum = new float[rows * headStride];
        rowSlots = new float[sites.length][];
        colSlots = new float[sites.length][];
        headSlots = new float[sites.length][];
        boolean scale = false, norm = false, elements = false, score = false;
        for (int i = 0; i < sites.length; i++) {
            if (siteGradients[i] == null) continue;
            score |= sites[i].inScore();
            switch (sites[i]) {
                case SCORE_ROW -> rowSlots[i] = new float[rows];
                case SCORE_COLUMN -> colSlots[i] = new float[batch * heads * nkv];
                case SCORE_HEAD -> headSlots[i] = new float[batch * heads * kvTiles];
                case SCORE_ELEMENT -> elements = true;
                case SCALE -> scale = true;
                case NORM -> norm = true;
                case OUTPUT -> { }
            }
        }
        scaleUp = scale ? new float[rows] : null;
        // The sigmoid's bias gets Σ dS per row from the key pass; a sink's gradient is known per row beforehand.
        normUp = norm ? new float[rows] : null;
        this.sigmoidBias = norm && sigmoidBias;
        scoreSites = score;
        orderedElements = deterministic && elements;
        rowTiles = new AtomicIntegerArray(batch * heads * qTiles);
    }

    /** Query heads per key/value head. */
    public int group() { return heads / kvHeads; }

    /** Whether dq is needed: asked for, or for the scale's gradient. */
    public boolean needsDq() { return dq != null || scaleUp != null; }

    /** Whether the key pass has anything to compute. */
    public boolean needsKeyPass() { return needsDq() || dk != null || dv != null || sigmoidBias || scoreSites; }

    /**
     * Waits for the query tile's turn: in deterministic mode until the key tiles ranked before
     * this one ({@code rank}: visited tiles of lower index in the tile's row) have added; else
     * until no other task is adding. Every visited pair calls it, even one found empty.
     */
    void enterRowTile(int tile, int rank) {
        if (deterministic) {
            for (int spins = 0; rowTiles.get(tile) != rank; spins++) pause(spins);
        } else {
            for (int spins = 0; !rowTiles.compareAndSet(tile, 0, 1); spins++) pause(spins);
        }
    }

    void leaveRowTile(int tile, int rank) {
        rowTiles.set(tile, deterministic ? rank + 1 : 0);
    }

    /** Deterministic mode with element sites: adds the task's kept contributions after every earlier task's. */
    void commitElements(GradScratch scratch, int task) {
        if (!orderedElements) return;
        for (int spins = 0; elementTurn.get() != task; spins++) pause(spins);
        scratch.addElements();
        elementTurn.set(task + 1);
    }

    /** Stops every waiting task once one has failed, so that the failure surfaces instead of a hang. */
    void fail() { failed = true; }

    private void pause(int spins) {
        if (failed) throw new IllegalStateException("another task of this backward launch failed");
        if (spins < 256) Thread.onSpinWait(); else Thread.yield();
    }
}
