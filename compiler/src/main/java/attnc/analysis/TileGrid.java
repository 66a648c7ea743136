package attnc.analysis;

import attnc.launch.Binding;

/**
 * How a launch's (q, kv) plane is cut into tiles. Query tile t covers absolute positions
 * {@code offset + t·tileQ ..} (the query offset included), KV tile t covers {@code t·tileKv ..};
 * the last tile of each axis may be short when the size is not a multiple of the tile.
 */
public record TileGrid(int batch, int heads, int nq, int nkv, int queryOffset, int tileQ, int tileKv) {

    public TileGrid {
        if (tileQ <= 0 || tileKv <= 0) throw new IllegalArgumentException("tile sizes must be positive, got " + tileQ + " x " + tileKv);
    }

    public static TileGrid of(Binding binding, int tileQ, int tileKv) {
        return new TileGrid(binding.size("B"), binding.size("H"), binding.size("Nq"), binding.size("Nkv"),
                binding.queryOffset(), tileQ, tileKv);
    }

    public int qTiles() { return (nq + tileQ - 1) / tileQ; }
    public int kvTiles() { return (nkv + tileKv - 1) / tileKv; }

    /** First absolute query position of query tile t. */
    public int qStart(int t) { return queryOffset + t * tileQ; }
    /** Last absolute query position of query tile t. */
    public int qEnd(int t) { return queryOffset + Math.min((t + 1) * tileQ, nq) - 1; }

    public int kvStart(int t) { return t * tileKv; }
    public int kvEnd(int t) { return Math.min((t + 1) * tileKv, nkv) - 1; }
}
