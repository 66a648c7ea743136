package attnc.jvm.kernel;

/**
 * One forward call's data, shared by every thread working on it (read-only except the
 * tile rows' idempotent cache). {@code lse} is [B, H, Nq] or null when not wanted (or not defined:
 * sigmoid and unnormalised patterns).
 */
public record Launch(
        Operand q, Operand k, Operand v, OutputSink out, float[] lse,
        Env env, TileRows tiles,
        int batch, int heads, int kvHeads, int nq, int nkv, int headDim, int valueDim, int queryOffset) {

    /** Query heads per key/value head (GQA group size). */
    public int group() { return heads / kvHeads; }

    /** Dv rounded up to whole vectors: the stride of output rows in scratch. */
    public int valueStride() { return roundUp(valueDim, Lanes.L); }

    static int roundUp(int x, int m) { return (x + m - 1) / m * m; }
}
