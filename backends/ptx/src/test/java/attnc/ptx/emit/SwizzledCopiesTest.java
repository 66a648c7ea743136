package attnc.ptx.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The ragged wgmma producer's cp.async copies land where TMA's 128-byte swizzle puts them: the
 * integer arithmetic {@link SwizzledCopies} emits for a key tile is run for each of the 128
 * producer threads ({@link IntegerPtx}; the block-table lookup, a memory load, stays unknown),
 * and the copies must cover every (key row, 16-byte chunk) of the tile exactly once, chunk u of
 * row r at 64-column block u / 8, byte r · 128 + ((u mod 8) xor (r mod 8)) · 16 — for every head
 * dim the wgmma kernel takes (multiples of 16 up to 256) and every tile height (multiples of 16
 * up to 256, passes of up to 64 rows dividing them or not).
 */
class SwizzledCopiesTest {
    private static final Pattern DESTINATION = Pattern.compile("\\[(%\\w+)\\+(\\d+)]");

    @Property(tries = 60)
    void everyChunkLandsOnceWhereTheSwizzlePutsIt(@ForAll @IntRange(min = 1, max = 16) int sixteens, @ForAll @IntRange(min = 1, max = 16) int rowGroups) {
        int width = 16 * sixteens, rows = 16 * rowGroups, chunks = width / 8;
        PtxWriter out = new PtxWriter();
        new SwizzledCopies(out, "k", width, rows).pagedRows("%base", "%kv0");
        Set<Long> seen = new HashSet<>();
        for (int thread = 0; thread < KernelConfig.PRODUCER_THREADS; thread++) {
            for (long[] copy : run(out.render(), thread, rows)) {
                long row = copy[0], chunk = copy[1], destination = copy[2];
                assertTrue(row >= 0 && row < rows && chunk >= 0 && chunk < chunks, "row " + row + ", chunk " + chunk + " outside the tile");
                long expected = (chunk / 8) * rows * 128 + row * 128 + ((chunk % 8) ^ (row % 8)) * 16;
                assertEquals(expected, destination, "width " + width + ", rows " + rows + ": row " + row + ", chunk " + chunk);
                assertTrue(seen.add(row * chunks + chunk), "row " + row + ", chunk " + chunk + " copied twice");
            }
        }
        assertEquals((long) rows * chunks, seen.size(), "every chunk of the tile copied");
    }

    /** The copies one thread issues: {key row, chunk, shared byte} each. */
    private static List<long[]> run(String text, int thread, int rows) {
        Map<String, Long> registers = IntegerPtx.registers("%tid_x", thread, "%base", 0, "%kv0", 0, "%Nkv", rows);
        List<long[]> copies = new ArrayList<>();
        long[] key = {-1};
        IntegerPtx.run(text, registers, instruction -> {
            String[] operands = instruction.operands();
            if (instruction.op().equals("setp.lt.s32") && operands[1].equals("%copy_kv")) key[0] = registers.get("%copy_kv");
            if (!instruction.op().startsWith("cp.async") || instruction.guard() != null && registers.get(instruction.guard()) == 0) return;
            Matcher d = DESTINATION.matcher(operands[0]);
            assertTrue(d.matches(), operands[0]);
            copies.add(new long[] {key[0], registers.get("%k_cbytes") / 16, registers.get(d.group(1)) + Long.parseLong(d.group(2))});
        });
        return copies;
    }
}
