package attnc.analysis;

/**
 * Blocks along one dimension of an input tensor that line up with the tiles: the KV tiles
 * (size tileKv from position 0), or the query tiles (size tileQ from the query offset, so the
 * first block may be short). A load indexed by q or kv then covers whole blocks over a tile.
 */
record BlockGrid(int size, int shift) {

    static BlockGrid kv(int tileKv) {
        return new BlockGrid(tileKv, 0);
    }

    static BlockGrid q(int tileQ, int queryOffset) {
        return new BlockGrid(tileQ, (tileQ - Math.floorMod(queryOffset, tileQ)) % tileQ);
    }

    int blockOf(int position) { return (position + shift) / size; }

    int blockStart(int block) { return Math.max(0, block * size - shift); }

    int blocks(int length) { return length == 0 ? 0 : blockOf(length - 1) + 1; }

    /**
     * Elements outside [lo, hi] that the enclosing blocks would include in a row of {@code length}:
     * the last block ends with the row, so a span of whole tiles ending there has none.
     */
    long slack(int lo, int hi, int length) {
        return (lo - blockStart(blockOf(lo))) + (Math.min(blockStart(blockOf(hi) + 1), length) - 1 - hi);
    }
}
