package attnc.analysis;

/** What a kernel does with a tile: skip it, compute it without evaluating the mask, or mask per element. */
public enum TileClass {
    EMPTY, FULL, PARTIAL;

    static TileClass of(BoolBound visible) {
        if (!visible.canTrue()) return EMPTY;
        if (!visible.canFalse()) return FULL;
        return PARTIAL;
    }
}
