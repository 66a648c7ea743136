package attnc.jvm.kernel;

import java.util.List;

/**
 * One call of the decode kernel: sequences of at most {@link #MAX_QUERIES} queries each against
 * keys and values read through {@link KvPages}. Every (sequence, KV head) is one piece of work
 * computing the whole GQA group's queries, so each K and V row is read once per call.
 *
 * @param bare when set, rows are left as {@link attnc.launch.Partial}s want them: no sink logit and
 *             no output transform (they join once, after a merge)
 */
public record DecodeLaunch(KvPages k, KvPages v, List<Sequence> sequences, int heads, int kvHeads, int headDim, int valueDim, boolean bare) {
    /** The most queries a sequence of a decode launch may have. */
    public static final int MAX_QUERIES = 16;

    /**
     * One sequence: batch index {@code b} (as the pattern sees it), its queries (read as row
     * (b, h, i) of {@code q}), keys [kvFrom, kvTo) of its {@code nkv}, the absolute position of its
     * first query, its pattern environment and tile rows (query tile 0 of a grid of
     * {@link DecodeLaunch#queryTile} × the kernel's key tile), and where its rows go: output row
     * (b, h, i) of {@code out} (and {@code preOutput} unless null), LSE at
     * {@code lseBase + h·lseStrideH + i·lseStrideQ} of {@code lse} unless null.
     */
    public record Sequence(int b, int nq, int nkv, int kvFrom, int kvTo, int queryOffset, Env env, TileRows tiles, Operand q,
                           OutputSink out, OutputSink preOutput, float[] lse, int lseBase, int lseStrideH, int lseStrideQ) {}

    public DecodeLaunch {
        sequences = List.copyOf(sequences);
    }

    /** Query heads per KV head. */
    public int group() { return heads / kvHeads; }

    /** Dv rounded up to whole vectors: the stride of output rows in scratch. */
    public int valueStride() { return Launch.roundUp(valueDim, Lanes.L); }

    /** D rounded up to whole vectors: the stride of query rows (and of copied key rows) in scratch. */
    public int keyStride() { return Launch.roundUp(headDim, Lanes.L); }

    /**
     * Rows a block of the scores' layout holds ({@link DecodeTiles}): a vector's L when the group's heads × queries
     * fill more than half of one (q·k then runs with rows in lanes, no lane sums), else 4.
     */
    public static int blockRows(int group, int nq) { return 2 * group * nq > Lanes.L ? Lanes.L : 4; }

    /** Scratch rows one KV head takes: its group's heads × queries, rounded up to whole blocks ({@link #blockRows}). */
    public static int rowSpan(int group, int nq) { return Launch.roundUp(group * nq, blockRows(group, nq)); }

    /** The query tile the tile classification and the hooks see for {@code nq} queries: whole vectors. */
    public static int queryTile(int nq) { return Launch.roundUp(Math.max(1, nq), Lanes.L); }
}
