package attnc.jvm.kernel;

import java.util.Arrays;

/**
 * One worker thread's buffers, O(tile) in size and reused across tiles and calls: the query
 * tile transposed (d-major, so a vector holds one d of several queries), the key and value
 * tiles, transposed scores/weights, the mask bias, and the running softmax state of every query.
 * Grown on demand, never shrunk; a thread owns its scratch, so no call shares one.
 */
public final class Scratch {
    public float[] qt = new float[0], k = new float[0], v = new float[0], s = new float[0], bias = new float[0];
    public float[] o = new float[0], m = new float[0], l = new float[0], alpha = new float[0], normValue = new float[0];
    public float[] row = new float[0];
    /** Gathers' index maps and lane loops' lanes, for the hooks ({@link Lanes#LANE_BUFFER}). */
    public final int[] laneBuffer = new int[Lanes.LANE_BUFFER];
    /** Where the tile hooks' passes hand values on ({@code attnc.jvm.emit.PassPlanner}): empty unless a hook is split. */
    public float[] floatSpill = new float[0];
    public int[] intSpill = new int[0];
    /** Where the current key tile's K and V rows are read from: the packed buffers, or the input itself. */
    public float[] kRows, vRows;
    public int kOffset, vOffset;

    private static final ThreadLocal<Scratch> MINE = ThreadLocal.withInitial(Scratch::new);

    public static Scratch mine() { return MINE.get(); }

    /** Makes every buffer big enough for the given tile and head sizes. */
    public Scratch ensure(int tileQ, int tileKv, int headDim, int valueStride) {
        qt = grow(qt, tileQ * headDim);
        k = grow(k, tileKv * headDim);
        v = grow(v, tileKv * valueStride);
        s = grow(s, tileQ * tileKv);
        bias = grow(bias, tileQ * tileKv);
        o = grow(o, tileQ * valueStride);
        m = grow(m, tileQ);
        l = grow(l, tileQ);
        alpha = grow(alpha, tileQ);
        normValue = grow(normValue, tileQ);
        row = grow(row, Math.max(headDim, valueStride));
        return this;
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
