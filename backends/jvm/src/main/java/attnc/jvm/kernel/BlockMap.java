package attnc.jvm.kernel;

/**
 * What a launch learned about tiles the classifier could not decide (data-dependent masks such
 * as document ids): EMPTY, FULL or PARTIAL per (b, h, query tile, key tile), found by the first
 * work item that evaluates the tile's mask and reused by every other head (and batch) the mask
 * does not depend on. O(N²/tile²) bytes, built lazily; concurrent writers store the same value,
 * so a racing reader at worst sees "not known yet" and evaluates the mask itself.
 */
public final class BlockMap {
    public static final byte UNSEEN = 0, EMPTY = 1, FULL = 2, PARTIAL = 3;
    private final byte[] kinds;
    private final int heads, qTiles, kvTiles;
    private final boolean perBatch, perHead;

    /** perBatch/perHead: whether the mask depends on b/h (else one map serves them all). */
    public BlockMap(int batch, int heads, int qTiles, int kvTiles, boolean perBatch, boolean perHead) {
        this.heads = perHead ? heads : 1;
        this.qTiles = qTiles;
        this.kvTiles = kvTiles;
        this.perBatch = perBatch;
        this.perHead = perHead;
        kinds = new byte[Math.multiplyExact(Math.multiplyExact(perBatch ? batch : 1, this.heads), qTiles * kvTiles)];
    }

    private int index(int b, int h, int qTile, int kvTile) {
        return (((perBatch ? b : 0) * heads + (perHead ? h : 0)) * qTiles + qTile) * kvTiles + kvTile;
    }

    public byte get(int b, int h, int qTile, int kvTile) { return kinds[index(b, h, qTile, kvTile)]; }

    public void put(int b, int h, int qTile, int kvTile, byte kind) { kinds[index(b, h, qTile, kvTile)] = kind; }
}
