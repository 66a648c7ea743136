package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * One worker thread's decode buffers, grown on demand and reused. Rows are numbered
 * r = g·nq + i (head g of the group, query i) in {@link #q}, {@link #p} and {@link #o}; the
 * per-lane softmax state ({@link #m}, {@link #l}, {@link #alpha}, {@link #normValue}) and the
 * hooks' tiles {@link #s} use the hooks' layout, head g's query i at lane g·bq + i.
 */
public final class DecodeScratch {
    /** Queries times their scale, [rows][ks], zero past D. */
    public float[] q = new float[0];
    /** q·k, then the weights, [rows][bk]. */
    public float[] p = new float[0];
    /** One head's scores [bk][bq], as the hooks read and write them, and the mask's bias. */
    public float[] s = new float[0], bias = new float[0];
    public float[] m = new float[0], l = new float[0], alpha = new float[0], normValue = new float[0];
    /** Unnormalised output rows [rows][vs]. */
    public float[] o = new float[0];
    /** Copied K and V rows when they cannot be read in place; a finished output row. */
    public float[] k = new float[0], v = new float[0], row = new float[0];
    /** Where the tile's K and V rows are read: the cache itself or the copies, at kOff[j] and vOff[j]. */
    public float[] kRows, vRows;
    public int[] kOff = new int[0], vOff = new int[0];
    /** Per head of the group: the next run of its tile row, and the current tile's class. */
    public int[] run = new int[0], tileClass = new int[0];
    public final int[] laneBuffer = new int[Lanes.LANE_BUFFER];

    private static final ThreadLocal<DecodeScratch> MINE = ThreadLocal.withInitial(DecodeScratch::new);

    public static DecodeScratch mine() { return MINE.get(); }

    public DecodeScratch ensure(int group, int nq, int bq, int bk, int ks, int vs) {
        int rows = group * nq, lanes = group * bq;
        q = grow(q, rows * ks);
        p = grow(p, rows * bk);
        s = grow(s, bk * bq);
        bias = grow(bias, bk * bq);
        m = grow(m, lanes);
        l = grow(l, lanes);
        alpha = grow(alpha, lanes);
        normValue = grow(normValue, lanes);
        o = grow(o, rows * vs);
        k = grow(k, bk * ks);
        v = grow(v, bk * vs);
        row = grow(row, Math.max(ks, vs));
        if (kOff.length < bk) {
            kOff = new int[bk];
            vOff = new int[bk];
        }
        if (run.length < group) {
            run = new int[group];
            tileClass = new int[group];
        }
        return this;
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : Arrays.copyOf(a, n);
    }
}
