package attnc.ptx;

import attnc.ptx.emit.PtxModule;
import attnc.reference.Visibility;

/**
 * One kv tile as one consumer warpgroup's rows see it, element by element: whether any element is
 * visible, and whether every one is and the tile lies inside Nkv. What a list entry's bits for
 * that warpgroup ({@link PtxModule#groupHidden}, {@link PtxModule#groupFull}) may say.
 */
record GroupTile(boolean any, boolean all) {
    /** Tile {@code tile} for rows {@code firstRow} to {@code firstRow + rows - 1} (those below Nq) of (b, h). */
    static GroupTile of(Visibility visibility, int b, int h, int firstRow, int rows, int nq, int queryOffset, int tile, int blockN, int nkv) {
        boolean any = false, all = (tile + 1) * blockN <= nkv;
        for (int q = firstRow; q < Math.min(nq, firstRow + rows); q++) {
            for (int kv = tile * blockN; kv < Math.min(nkv, (tile + 1) * blockN); kv++) {
                boolean v = visibility.visible(b, h, q + queryOffset, kv);
                any |= v;
                all &= v;
            }
        }
        return new GroupTile(any, all);
    }

    /** Why warpgroup {@code w}'s bits in {@code entry} are unsound for this tile, or null when they are sound. */
    String unsound(int entry, int w) {
        if ((entry & PtxModule.groupHidden(w)) != 0 && any) return "hidden from the warpgroup, but one of its elements is visible";
        if ((entry & PtxModule.groupFull(w)) != 0 && !(any && all)) return "full for the warpgroup, but an element is hidden or past Nkv";
        return null;
    }

    /** Whether the bits say exactly this class: hidden when nothing is visible, full when everything is. */
    boolean exact(int entry, int w) {
        return ((entry & PtxModule.groupHidden(w)) != 0) == !any && ((entry & PtxModule.groupFull(w)) != 0) == (any && all);
    }
}
