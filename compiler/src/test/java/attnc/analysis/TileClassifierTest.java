package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The searches over a row of tiles (row, kvRange, blockList, GQA head groups) on masks whose
 * single tiles are classified exactly: there they must be exact too. SoundnessTest only checks
 * that they leave nothing visible out; a search that stops early, overshoots a run or reports a
 * wider KV range costs kernels work, and is caught here.
 */
class TileClassifierTest {
    /** Masks ExactnessTest shows exact, with rows of tiles that hold several runs, gaps and empty rows. */
    private static final List<String> MASKS = List.of(
            "mask: q >= kv",
            "param window: int = 50\nmask: q >= kv && q - kv < window",
            "param chunk: int = 40\nmask: q / chunk == kv / chunk",
            "param sinks: int = 4\nparam window: int = 30\nmask: kv < sinks || (q >= kv && q - kv < window)",
            "param stride: int = 48\nmask: kv % stride < 12 || q - kv < 8 && q >= kv",
            "mask: h % 2 == 0 ? q >= kv : abs(q - kv) < 20",
            "mask: b == 1 && q >= kv");
    private static final int[][] TILES = {{16, 16}, {13, 7}, {32, 9}, {5, 24}};

    @Test
    void rowsRangesAndBlockListsAreExactWhereTilesAre() throws Exception {
        for (String mask : MASKS) {
            Pattern pattern = Frontend.compile("mask", mask);
            Map<String, Expr> defaults = new HashMap<>();
            for (var p : pattern.params()) defaults.put(p.name(), p.defaultValue().orElseThrow());
            Binding binding = new Binding(Map.of("B", 2, "H", 3, "Hkv", 3, "Nq", 150, "Nkv", 130, "D", 8, "Dv", 8), 37, defaults);
            for (int[] tile : TILES) {
                TileClassifier tiles = ClassifyTiles.classifier(pattern, binding, tile[0], tile[1]);
                TileGrid grid = tiles.grid();
                BruteForce truth = new BruteForce(pattern, binding, Map.of(), grid);
                assertEquals(mask.contains(" b "), tiles.dependsOnBatch(), mask);
                assertEquals(mask.contains(" h "), tiles.dependsOnHead(), mask);
                for (int b = 0; b < grid.batch(); b++) {
                    TileClass[][][] heads = new TileClass[grid.heads()][][];
                    for (int h = 0; h < grid.heads(); h++) heads[h] = truth.tiles(b, h).classes();
                    for (int h = 0; h < grid.heads(); h++) {
                        TileClassifier.BlockList list = tiles.blockList(b, h);
                        assertEquals(list.rowStart()[grid.qTiles()], list.runs(), mask);
                        for (int qt = 0; qt < grid.qTiles(); qt++) {
                            String where = mask + ", tiles " + tile[0] + " x " + tile[1] + ", b " + b + ", h " + h + ", q tile " + qt;
                            TileClass[] actual = heads[h][qt];
                            for (int kt = 0; kt < actual.length; kt++) assertEquals(actual[kt], tiles.classify(b, h, qt, kt), where + ", kv tile " + kt);
                            TileClassifier.TileRow row = tiles.row(b, h, qt);
                            assertArrayEquals(actual, classes(row, actual.length), where);
                            assertRunsAreMaximal(row, where);
                            assertEquals(nonEmpty(actual), row.tiles(), where);
                            assertEquals(range(actual), tiles.kvRange(b, h, qt), where);
                            assertArrayEquals(actual, classes(list, qt, actual.length), "block list: " + where);
                            for (int kt = 0; kt < actual.length; kt++) {
                                TileClass group = tiles.classifyHeads(b, 0, grid.heads() - 1, qt, kt);
                                requireSoundForTheGroup(heads, qt, kt, group, where);
                                if (!tiles.dependsOnHead()) assertEquals(actual[kt], group, "one head stands for all: " + where);
                                assertEquals(tiles.classify(b, h, qt, kt), tiles.classifyHeads(b, h, h, qt, kt), "a group of one: " + where);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void aLaunchWithoutKeysHasEmptyRows() throws Exception {
        Binding binding = new Binding(Map.of("B", 1, "H", 1, "Hkv", 1, "Nq", 20, "Nkv", 0, "D", 8, "Dv", 8), 0, Map.of());
        TileClassifier tiles = ClassifyTiles.classifier(Frontend.compile("causal", "mask: q >= kv"), binding, 8, 8);
        assertTrue(tiles.kvRange(0, 0, 0).isEmpty());
        assertEquals(0, tiles.kvRange(0, 0, 0).count());
        assertEquals(0, tiles.row(0, 0, 1).runs());
    }

    @Test
    void kvRangeCounts() {
        assertEquals(3, new TileClassifier.KvRange(2, 4).count());
        assertFalse(new TileClassifier.KvRange(2, 2).isEmpty());
        assertEquals(0, new TileClassifier.KvRange(3, 2).count());
    }

    /** Adjacent runs of the same class are one run. */
    private static void assertRunsAreMaximal(TileClassifier.TileRow row, String where) {
        for (int r = 1; r < row.runs(); r++) {
            assertTrue(row.first()[r] > row.last()[r - 1] + 1 || row.full()[r] != row.full()[r - 1], "runs " + (r - 1) + " and " + r + " could be one: " + where);
        }
    }

    private static void requireSoundForTheGroup(TileClass[][][] heads, int qt, int kt, TileClass group, String where) {
        for (TileClass[][] head : heads) {
            if (group == TileClass.EMPTY && head[qt][kt] != TileClass.EMPTY) fail("group EMPTY, a head is not: " + where + ", kv tile " + kt);
            if (group == TileClass.FULL && head[qt][kt] != TileClass.FULL) fail("group FULL, a head is not: " + where + ", kv tile " + kt);
        }
        boolean allSame = true;
        for (TileClass[][] head : heads) allSame &= head[qt][kt] == heads[0][qt][kt];
        if (allSame && heads[0][qt][kt] != TileClass.PARTIAL) return;
        if (!allSame) assertEquals(TileClass.PARTIAL, group, "heads differ: " + where + ", kv tile " + kt);
    }

    private static TileClass[] classes(TileClassifier.TileRow row, int kvTiles) {
        TileClass[] out = empty(kvTiles);
        for (int r = 0; r < row.runs(); r++) {
            for (int kt = row.first()[r]; kt <= row.last()[r]; kt++) out[kt] = row.full()[r] ? TileClass.FULL : TileClass.PARTIAL;
        }
        return out;
    }

    private static TileClass[] classes(TileClassifier.BlockList list, int qt, int kvTiles) {
        TileClass[] out = empty(kvTiles);
        for (int r = list.rowStart()[qt]; r < list.rowStart()[qt + 1]; r++) {
            for (int kt = list.first()[r]; kt <= list.last()[r]; kt++) out[kt] = list.full()[r] == 1 ? TileClass.FULL : TileClass.PARTIAL;
        }
        return out;
    }

    private static TileClass[] empty(int n) {
        TileClass[] out = new TileClass[n];
        Arrays.fill(out, TileClass.EMPTY);
        return out;
    }

    private static int nonEmpty(TileClass[] row) {
        int n = 0;
        for (TileClass c : row) if (c != TileClass.EMPTY) n++;
        return n;
    }

    private static TileClassifier.KvRange range(TileClass[] row) {
        List<Integer> visible = new ArrayList<>();
        for (int kt = 0; kt < row.length; kt++) if (row[kt] != TileClass.EMPTY) visible.add(kt);
        return visible.isEmpty() ? new TileClassifier.KvRange(0, -1) : new TileClassifier.KvRange(visible.getFirst(), visible.getLast());
    }
}
