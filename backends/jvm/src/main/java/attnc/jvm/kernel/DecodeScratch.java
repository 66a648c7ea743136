package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * One worker thread's decode buffers, grown on demand and reused. A work item holds one or more
 * KV heads (slots); slot s's rows are s·span + g·nq + i (head g of the group, query i), span the
 * group's rows rounded up to whole blocks of 4 or L ({@link DecodeLaunch#rowSpan}), in {@link #q},
 * {@link #o} and the per-row softmax state {@link #m}, {@link #l}, {@link #alpha},
 * {@link #normValue}. A tile's scores {@link #p} are one slot's, in {@link DecodeTiles}' block
 * layout; the hooks' tiles {@link #s} and the lane copies of one head's state use the hooks'
 * layout, query i at lane i.
 */
public final class DecodeScratch {
    /** Queries times their scale, [slots·span][ks], zero past D and in padding rows. */
    public float[] q = new float[0];
    /** The same rows in blocks of L in lanes, [slots·span / L][ks][L], where the layout's blocks are L rows ({@link DecodeLaunch#blockRows}). */
    public float[] qt = new float[0];
    /** One slot's q·k, then its weights, in blocks [span / 4][bk][4]. */
    public float[] p = new float[0];
    /** One head's scores [bk][bq], as the hooks read and write them, and the mask's bias. */
    public float[] s = new float[0], bias = new float[0];
    /** Per row: running max and sum, the last tile's rescale factor, the sigmoid's bias. */
    public float[] m = new float[0], l = new float[0], alpha = new float[0], normValue = new float[0];
    /** One head's m, l, alpha and sigmoid bias in lanes [0, bq), for the hooks' layout. */
    public float[] laneM = new float[0], laneL = new float[0], laneAlpha = new float[0], laneBias = new float[0];
    /** Unnormalised output rows [slots·span][vs]. */
    public float[] o = new float[0];
    /** Copied K and V rows when they cannot be read in place; a finished output row. */
    public float[] k = new float[0], v = new float[0], row = new float[0];
    /** Where the tile's K and V rows are read: the cache itself or the copies, at kOff[j] and vOff[j]. */
    public float[] kRows, vRows;
    public int[] kOff = new int[0], vOff = new int[0];
    /** Per head of the item (slot·group + g): the next run of its tile row, and the current tile's class. */
    public int[] run = new int[0], tileClass = new int[0];
    /** What the decode kernel's touch reads add up to ({@link KvPages#touch}), kept so that the JIT keeps the reads. */
    public float touched;
    public final int[] laneBuffer = new int[Lanes.LANE_BUFFER];
    /** Where the tile hooks' passes hand values on ({@code attnc.jvm.emit.PassPlanner}): empty unless a hook is split. */
    public float[] floatSpill = new float[0];
    public int[] intSpill = new int[0];
    /** A vector's lanes, where {@link DecodeTiles#softmaxBlock} hands row values between its vector and scalar steps. */
    public final float[] blockLanes = new float[Lanes.L];

    /** The partial rows of the launches this thread starts ({@link DecodeDriver}). */
    private final DecodeDriver.Partials partials = new DecodeDriver.Partials();

    private static final ThreadLocal<DecodeScratch> MINE = ThreadLocal.withInitial(DecodeScratch::new);

    public static DecodeScratch mine() { return MINE.get(); }

    /** Room for {@code slots} KV heads of {@code group} heads × {@code nq} queries, tiles of bk keys. */
    public DecodeScratch ensure(int slots, int group, int nq, int bq, int bk, int ks, int vs) {
        int span = DecodeLaunch.rowSpan(group, nq), rows = slots * span;
        q = grow(q, rows * ks);
        if (DecodeLaunch.blockRows(group, nq) == Lanes.L) qt = grow(qt, rows * ks);
        p = grow(p, span * bk);
        s = grow(s, bk * bq);
        bias = grow(bias, bk * bq);
        m = grow(m, rows);
        l = grow(l, rows);
        alpha = grow(alpha, rows);
        normValue = grow(normValue, rows);
        laneM = grow(laneM, bq);
        laneL = grow(laneL, bq);
        laneAlpha = grow(laneAlpha, bq);
        laneBias = grow(laneBias, bq);
        o = grow(o, rows * vs);
        k = grow(k, bk * ks);
        v = grow(v, bk * vs);
        row = grow(row, Math.max(ks, vs));
        if (kOff.length < bk) {
            kOff = new int[bk];
            vOff = new int[bk];
        }
        if (run.length < slots * group) {
            run = new int[slots * group];
            tileClass = new int[slots * group];
        }
        return this;
    }

    /** This thread's partial rows, with room for {@code rows} rows of {@code vs} values. */
    DecodeDriver.Partials partials(int rows, int vs) {
        return partials.ensure(rows, vs);
    }

    /** Makes the spill arrays hold {@code floats} and {@code ints} values. */
    public void ensureSpills(int floats, int ints) {
        if (floatSpill.length < floats) floatSpill = new float[floats];
        if (intSpill.length < ints) intSpill = new int[ints];
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : Arrays.copyOf(a, n);
    }
}
