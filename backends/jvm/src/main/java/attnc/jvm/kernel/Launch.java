package attnc.jvm.kernel;

/**
 * One forward call's data, shared by every thread working on it (read-only except the
 * tile rows' idempotent cache). {@code lse} is [B, H, Nq] or null when not wanted (or not defined:
 * sigmoid and unnormalised patterns). {@code preOutput}, when not null, receives o, the rows
 * before the output transform, which the backward pass of a pattern with one needs.
 */
public record Launch(
        Operand q, Operand k, Operand v, OutputSink out, float[] lse,
        Env env, TileRows tiles,
        int batch, int heads, int kvHeads, int nq, int nkv, int headDim, int valueDim, int queryOffset, OutputSink preOutput) {

    /** A launch that keeps no rows before the output transform. */
    public Launch(Operand q, Operand k, Operand v, OutputSink out, float[] lse, Env env, TileRows tiles,
                  int batch, int heads, int kvHeads, int nq, int nkv, int headDim, int valueDim, int queryOffset) {
        this(q, k, v, out, lse, env, tiles, batch, heads, kvHeads, nq, nkv, headDim, valueDim, queryOffset, null);
    }

    /** Query heads per key/value head (GQA group size). */
    public int group() { return heads / kvHeads; }

    /** Dv rounded up to whole vectors: the stride of output rows in scratch. */
    public int valueStride() { return roundUp(valueDim, Lanes.L); }

    static int roundUp(int x, int m) { return (x + m - 1) / m * m; }
}
