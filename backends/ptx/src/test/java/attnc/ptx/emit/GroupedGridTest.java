package attnc.ptx.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The grouped grid order ({@link GroupedGrid}), its emitted arithmetic run for every block of
 * random grids ({@link IntegerPtx}): each (tile rank, row) is computed by exactly one block; in
 * launch order the groups of rows come one after another, each as large as the rows whose bytes
 * fit {@link GroupedGrid#L2_SHARE} (at least 1, at most the rows left), and within a group every
 * row's rank r starts before any row's rank r + 1.
 */
class GroupedGridTest {

    @Property(tries = 200)
    void everyTileOnceEachGroupsRanksInOrder(@ForAll @IntRange(min = 1, max = 70) int tiles, @ForAll @IntRange(min = 1, max = 70) int rows,
            @ForAll @LongRange(min = 1, max = 1L << 28) long rowBytes) {
        PtxWriter out = new PtxWriter();
        GroupedGrid.assign(out, out.s32("%rank"), out.s32("%row"), out.u64("%row_bytes"));
        String text = out.render();
        long size = Math.max(1, Math.min(rows, (GroupedGrid.L2_SHARE >> 10) / Math.max(1, Math.min(rowBytes >> 10, GroupedGrid.L2_SHARE >> 10))));
        boolean[] seen = new boolean[tiles * rows];
        long lastGroup = 0, lastRank = 0;
        for (int y = 0; y < rows; y++) {
            for (int x = 0; x < tiles; x++) {
                Map<String, Long> registers = IntegerPtx.registers("%ctaid.x", x, "%ctaid.y", y, "%nctaid.x", tiles, "%nctaid.y", rows, "%row_bytes", rowBytes);
                IntegerPtx.run(text, registers, instruction -> {});
                long rank = registers.get("%rank"), row = registers.get("%row");
                assertTrue(rank >= 0 && rank < tiles && row >= 0 && row < rows, "block (" + x + ", " + y + ") -> rank " + rank + ", row " + row);
                assertTrue(!seen[(int) (row * tiles + rank)], "rank " + rank + " of row " + row + " computed twice");
                seen[(int) (row * tiles + rank)] = true;
                long group = row / size;
                assertTrue(group > lastGroup || group == lastGroup && rank >= lastRank, "block (" + x + ", " + y + "): group " + group + ", rank " + rank
                        + " after group " + lastGroup + ", rank " + lastRank + " (groups of " + size + ")");
                if (group > lastGroup) assertEquals(0, rank, "a group starts with rank 0");
                lastGroup = group;
                lastRank = rank;
            }
        }
    }
}
