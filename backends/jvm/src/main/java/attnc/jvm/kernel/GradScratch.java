package attnc.jvm.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * One worker thread's buffers for the backward key pass, O(tile) in size and reused: the key
 * tile's K and V rows and its dK and dV accumulators; per (key tile, query tile) pair the
 * transposed scores, weights P, dP (which becomes dS, then ds) and mask bias; the pair's
 * partial dQ; the query tile's LSE (or sigmoid bias) and Δ lanes; the score sites' row, column
 * and head sums; and, in deterministic mode, the element sites' contributions of the current
 * task, added in task order once the task is done.
 */
public final class GradScratch {
    private static final VarHandle FLOATS = MethodHandles.arrayElementVarHandle(float[].class);
    private static final ThreadLocal<GradScratch> MINE = ThreadLocal.withInitial(GradScratch::new);

    public float[] k = new float[0], v = new float[0], dk = new float[0], dv = new float[0];
    public float[] s = new float[0], scores = new float[0], p = new float[0], dp = new float[0], bias = new float[0];
    public float[] dq = new float[0], lane = new float[0], delta = new float[0], dBias = new float[0];
    public float[] rowSites = new float[0], colSites = new float[0], headSites = new float[0];
    /** Gathers' index maps and lane loops' lanes, for the hooks ({@link Lanes#LANE_BUFFER}). */
    public final int[] laneBuffer = new int[Lanes.LANE_BUFFER];
    /** Where the tile hooks' passes hand values on ({@code attnc.jvm.emit.PassPlanner}): empty unless a hook is split. */
    public float[] floatSpill = new float[0];
    public int[] intSpill = new int[0];
    int tileQ, tileKv;

    private GradLaunch launch;
    private int[] elementSite = new int[0], elementOffset = new int[0];
    private float[] elementValue = new float[0];
    private int elements;
    private final int[] laneOffsets = new int[Lanes.L];
    private final float[] laneValues = new float[Lanes.L];

    public static GradScratch mine() { return MINE.get(); }

    /** Sizes the buffers for the launch's tiles and widths, and forgets any earlier task's element contributions. */
    public GradScratch bind(GradLaunch launch, int tileQ, int tileKv) {
        this.launch = launch;
        this.tileQ = tileQ;
        this.tileKv = tileKv;
        int hs = launch.headStride, vs = launch.valueStride, sites = launch.sites.length, tile = tileKv * tileQ;
        k = grow(k, tileKv * hs);
        v = grow(v, tileKv * vs);
        dk = grow(dk, tileKv * hs);
        dv = grow(dv, tileKv * vs);
        s = grow(s, tile);
        scores = grow(scores, tile);
        p = grow(p, tile);
        dp = grow(dp, tile);
        bias = grow(bias, tile);
        dq = grow(dq, tileQ * hs);
        lane = grow(lane, tileQ);
        delta = grow(delta, tileQ);
        dBias = grow(dBias, tileQ);
        rowSites = grow(rowSites, sites * tileQ);
        colSites = grow(colSites, sites * tileKv);
        headSites = grow(headSites, sites);
        elements = 0;
        return this;
    }

    /** Adds an element site's contributions (atomically), or keeps them for the task's ordered commit. */
    void element(int site, IntVector offsets, FloatVector values) {
        float[] into = launch.siteGradients[site];
        if (into == null) return;
        if (launch.deterministic) {
            if (elements + Lanes.L > elementValue.length) {
                int size = Math.max(1024, 2 * elementValue.length);
                elementSite = Arrays.copyOf(elementSite, size);
                elementOffset = Arrays.copyOf(elementOffset, size);
                elementValue = Arrays.copyOf(elementValue, size);
            }
            Lanes.INTS.cast(offsets).intoArray(elementOffset, elements);
            Lanes.FLOATS.cast(values).intoArray(elementValue, elements);
            Arrays.fill(elementSite, elements, elements + Lanes.L, site);
            elements += Lanes.L;
            return;
        }
        Lanes.INTS.cast(offsets).intoArray(laneOffsets, 0);
        Lanes.FLOATS.cast(values).intoArray(laneValues, 0);
        for (int i = 0; i < Lanes.L; i++) if (laneValues[i] != 0f) FLOATS.getAndAdd(into, laneOffsets[i], laneValues[i]);
    }

    /**
     * The lanes' sum, first to last. Not {@code reduceLanes(ADD)}: its order is unspecified, and
     * C2's differs from the interpreter's, so deterministic mode could not be.
     */
    float laneSum(FloatVector v) {
        Lanes.FLOATS.cast(v).intoArray(laneValues, 0);
        float sum = 0f;
        for (int i = 0; i < Lanes.L; i++) sum += laneValues[i];
        return sum;
    }

    /** Adds the kept element contributions in the order they were made (deterministic mode). */
    void addElements() {
        for (int i = 0; i < elements; i++) {
            if (elementValue[i] != 0f) launch.siteGradients[elementSite[i]][elementOffset[i]] += elementValue[i];
        }
        elements = 0;
    }

    /** Makes the spill arrays hold {@code floats} and {@code ints} values. */
    public void ensureSpills(int floats, int ints) {
        if (floatSpill.length < floats) floatSpill = new float[floats];
        if (intSpill.length < ints) intSpill = new int[ints];
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : new float[n];
    }
}
