package attnc.cli;

/**
 * The block-sparsity classification of one (b, h) plane, drawn under the mask by {@code attnc
 * plot}: each tile of {@code tileQ × tileKv} elements is skipped, computed without a mask, or
 * masked per element. The command draws whatever classification it is given; producing one is
 * the tile analysis's job.
 */
interface TileClasses {
    enum TileClass { EMPTY, FULL, PARTIAL }

    int tileQ();

    int tileKv();

    TileClass classOf(int queryTile, int keyTile);
}
