package attnc.jvm.kernel;

import java.lang.ref.SoftReference;
import java.util.concurrent.ConcurrentLinkedQueue;
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

    /**
     * Per row: q · scale [rows × headStride], and the same transposed per query tile [tile][t][i],
     * padding columns and rows zero. Arrays of an earlier launch, possibly longer: every element
     * read is written first ({@link GradKernel#prepareRows}).
     */
    public final float[] qs, qt;
    /** Per row: dO = dOut · d output/d o [rows × valueStride], and transposed per query tile, as {@link #qs}. */
    public final float[] dO, dOt;
    /** Per row: the LSE (+∞ where nothing is visible) or the sigmoid's bias; Δ = rowsum(dO ∘ o); the scale. */
    public final float[] lanes, delta, rowScale;
    /** Σ over keys of ds · k per row [rows × headStride]: dq / scale; zeroed per query tile by {@link GradKernel#prepareRows}. */
    public final float[] dqSum;
    /** Upstream gradients per row of the scale and norm sites (null when no such site is asked for). */
    public final float[] scaleUp, normUp;
    /** Score sites' sums, per site (null for other kinds or unasked inputs): per row, per (b, h, key), per (b, h, key tile). */
    public final float[][] rowSlots, colSlots, headSlots;
    /** Whether the key pass adds Σ dS per row into {@link #normUp} (a sigmoid bias with a gradient asked for). */
    public final boolean sigmoidBias;
    /** Whether any score site's gradient is asked for. */
    public final boolean scoreSites;

    /**
     * The per-row arrays of finished launches, for the next: fresh ones cost their zeroing and, while
     * the heap grows, the system's page faults, up to a fifth of a short backward's time (document
     * masks, one thread). Softly held, so that they never keep memory the heap needs.
     */
    private static final ConcurrentLinkedQueue<SoftReference<Buffers>> SPARE = new ConcurrentLinkedQueue<>();
    private static final int MAX_SPARE = 4;

    private record Buffers(float[] qs, float[] qt, float[] dO, float[] dOt, float[] dqSum) {
        boolean holds(int rows, int tiledRows, int hs, int vs) {
            return qs.length >= rows * hs && qt.length >= tiledRows * hs && dO.length >= rows * vs && dOt.length >= tiledRows * vs
                    && dqSum.length >= rows * hs;
        }

        static Buffers take(int rows, int tiledRows, int hs, int vs) {
            for (SoftReference<Buffers> spare; (spare = SPARE.poll()) != null; ) {
                Buffers buffers = spare.get();
                if (buffers != null && buffers.holds(rows, tiledRows, hs, vs)) return buffers;
            }
            return new Buffers(new float[rows * hs], new float[tiledRows * hs], new float[rows * vs], new float[tiledRows * vs], new float[rows * hs]);
        }
    }

    private final Buffers buffers;
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
        buffers = Buffers.take(rows, tiledRows, headStride, valueStride);
        qs = buffers.qs();
        qt = buffers.qt();
        dO = buffers.dO();
        dOt = buffers.dOt();
        lanes = new float[rows];
        delta = new float[rows];
        rowScale = new float[rows];
        dqSum = buffers.dqSum();
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

    /** Hands the per-row arrays to a later launch: only once no task of this one is left to read them. */
    void release() {
        if (SPARE.size() < MAX_SPARE) SPARE.offer(new SoftReference<>(buffers));
    }

    /** Stops every waiting task once one has failed, so that the failure surfaces instead of a hang. */
    void fail() { failed = true; }

    private void pause(int spins) {
        if (failed) throw new IllegalStateException("another task of this backward launch failed");
        if (spins < 256) Thread.onSpinWait(); else Thread.yield();
    }
}
