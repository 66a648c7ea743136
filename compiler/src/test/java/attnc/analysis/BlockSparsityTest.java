package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The summary behind explain and plot, the CSR block list, and the block-map cache. */
class BlockSparsityTest {

    private static Binding square(int n) {
        return new Binding(Map.of("B", 1, "H", 1, "Hkv", 1, "Nq", n, "Nkv", n, "D", 8, "Dv", 8), 0, Map.of());
    }

    @Test
    void causalCountsAreTheTriangle() throws Exception {
        Pattern causal = Frontend.compile("causal", "mask: q >= kv");
        BlockSparsity.Summary s = BlockSparsity.summarize(causal, square(256), Map.of(), 64, 64, BlockSparsity.DEFAULT_LIMIT);
        // 4 x 4 tiles: 6 above the diagonal, 4 on it, 6 below; 256·257/2 of 256² elements visible.
        assertEquals(new BlockSparsity.Counts(6, 6, 4), s.derived());
        assertEquals(s.derived(), s.truth());
        assertEquals(256.0 * 257 / 2 / (256 * 256), s.visibleFraction(), 1e-12);
        assertTrue(s.exact());
        assertEquals("+...\n#+..\n##+.\n###+\n", s.plot());
        assertTrue(s.text().contains("classification exact"), s.text());
    }

    @Test
    void largeLaunchesSkipTheBruteForce() throws Exception {
        Pattern causal = Frontend.compile("causal", "mask: q >= kv");
        BlockSparsity.Summary s = BlockSparsity.summarize(causal, square(4096), Map.of(), 64, 64, 1000);
        assertNull(s.truth());
        assertEquals(64L * 63 / 2, s.derived().empty());
        assertTrue(s.text().contains("skipped"), s.text());
    }

    @Test
    void blockListHoldsTheNonEmptyTilesOfEveryRow() throws Exception {
        Pattern sinks = Frontend.compile("sinks", "mask: kv < 4 || (q >= kv && q - kv < 100)");
        TileClassifier tiles = ClassifyTiles.classifier(sinks, square(512), 64, 64);
        TileClassifier.BlockList list = tiles.blockList(0, 0);
        for (int qt = 0; qt < tiles.grid().qTiles(); qt++) {
            TileClass[] listed = new TileClass[tiles.grid().kvTiles()];
            java.util.Arrays.fill(listed, TileClass.EMPTY);
            for (int r = list.rowStart()[qt]; r < list.rowStart()[qt + 1]; r++) {
                for (int kt = list.first()[r]; kt <= list.last()[r]; kt++) listed[kt] = list.full()[r] == 1 ? TileClass.FULL : TileClass.PARTIAL;
            }
            for (int kt = 0; kt < listed.length; kt++) assertEquals(tiles.classify(0, 0, qt, kt), listed[kt], "tile " + qt + ", " + kt);
        }
        // Row 7 (q 448..511): the sink tile 0, then the band tiles 5 (partial), 6 and 7.
        TileClassifier.TileRow row = tiles.row(0, 0, 7);
        assertEquals(0, row.first()[0]);
        assertEquals(0, row.last()[0]);
        assertEquals(3, row.tiles() - 1);
    }

    @Test
    void aGroupOfHeadsIsAsDecidedAsItsLeastDecidedHead() throws Exception {
        Pattern perHead = Frontend.compile("per-head", "mask: h % 2 == 0 ? q >= kv : abs(q - kv) < 64");
        Binding binding = new Binding(Map.of("B", 1, "H", 4, "Hkv", 2, "Nq", 256, "Nkv", 256, "D", 8, "Dv", 8), 0, Map.of());
        TileClassifier tiles = ClassifyTiles.classifier(perHead, binding, 64, 64);
        // Tile (q 3, kv 0): FULL for the causal heads, EMPTY for the local ones.
        assertEquals(TileClass.FULL, tiles.classify(0, 0, 3, 0));
        assertEquals(TileClass.EMPTY, tiles.classify(0, 1, 3, 0));
        assertEquals(TileClass.PARTIAL, tiles.classifyHeads(0, 0, 1, 3, 0));
        assertEquals(TileClass.EMPTY, tiles.classifyHeads(0, 0, 1, 0, 3));
    }

    @Test
    void cachedBlockMapsAreReusedUntilTheDataChanges() throws Exception {
        Pattern document = Frontend.compile("document", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]");
        int[] ids = new int[256];
        for (int i = 0; i < ids.length; i++) ids[i] = i / 100;
        Tensor doc = Tensor.ofInts(DType.INT32, new int[] {1, 256}, ids);
        TileGrid grid = TileGrid.of(square(256), 64, 64);
        BlockMap.Cache cache = new BlockMap.Cache(4);
        BlockMap first = cache.get(document, grid, Map.of("doc", doc));
        assertSame(first, cache.get(document, grid, Map.of("doc", doc)));
        doc.ints()[0] = 7;
        assertNotSame(first, cache.get(document, grid, Map.of("doc", doc)));
        assertNotSame(first, cache.get(document, TileGrid.of(square(256), 32, 64), Map.of("doc", doc)));
    }
}
