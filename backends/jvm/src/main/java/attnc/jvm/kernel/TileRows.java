package attnc.jvm.kernel;

/**
 * Which key tiles a query tile must visit, and which of them need the mask: for each query tile,
 * runs of consecutive non-empty key tiles, each run all FULL (computed without evaluating the
 * mask) or all PARTIAL (mask evaluated per element). Tiles between runs are skipped. Must be
 * sound: no visible element in a skipped tile, no hidden one in a FULL run. Tiles follow the
 * launch's grid: query tile t starts at query offset + t·tileQ, key tile t at t·tileKv.
 */
public interface TileRows {
    KvRuns row(int b, int h, int qTile);

    /** Every key tile FULL: for patterns without a mask. */
    static TileRows allFull(int kvTiles) {
        KvRuns all = kvTiles == 0 ? new KvRuns(new int[0], new int[0], new boolean[0])
                : new KvRuns(new int[] {0}, new int[] {kvTiles - 1}, new boolean[] {true});
        return (b, h, qTile) -> all;
    }
}
