package attnc.ptx.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
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
 * producer threads (a small interpreter of the operations it uses; the block-table lookup, a
 * memory load, is left unknown), and the copies must cover every (key row, 16-byte chunk) of the
 * tile exactly once, chunk u of row r at 64-column block u / 8, byte r · 128 + ((u mod 8) xor
 * (r mod 8)) · 16 — for every head dim the wgmma kernel takes (multiples of 16 up to 256) and every
 * tile height (multiples of 16 up to 256, passes of up to 64 rows dividing them or not).
 */
class SwizzledCopiesTest {
    private static final Pattern LINE = Pattern.compile("^\\t(@(%\\w+) )?([\\w.:]+) (.*);$");
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
    private static Iterable<long[]> run(String text, int thread, int rows) {
        Map<String, Long> registers = new HashMap<>(Map.of("%tid_x", (long) thread, "%base", 0L, "%kv0", 0L, "%Nkv", (long) rows));
        java.util.List<long[]> copies = new java.util.ArrayList<>();
        long key = -1;
        for (String line : text.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) continue;
            String guard = m.group(2), op = m.group(3);
            String[] args = m.group(4).split(", ");
            if (op.startsWith("cp.async")) {
                if (guard != null && registers.get(guard) == 0) continue;
                Matcher d = DESTINATION.matcher(args[0]);
                assertTrue(d.matches(), args[0]);
                copies.add(new long[] {key, registers.get("%k_cbytes") / 16, registers.get(d.group(1)) + Long.parseLong(d.group(2))});
                continue;
            }
            if (op.equals("setp.lt.s32") && args[1].equals("%copy_kv")) key = registers.get("%copy_kv");
            Long value = evaluate(op, args, registers);
            if (value == null) registers.remove(args[0]);
            else registers.put(args[0], value);
        }
        return copies;
    }

    /** The operations the copies' address arithmetic uses, on known operands; null otherwise. */
    private static Long evaluate(String op, String[] args, Map<String, Long> registers) {
        long[] in = new long[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            Long known = args[i].startsWith("%") ? registers.get(args[i]) : args[i].matches("-?\\d+") ? Long.valueOf(args[i]) : null;
            if (known == null) return null;
            in[i - 1] = known;
        }
        return switch (op) {
            case "add.s32", "add.u32" -> in[0] + in[1];
            case "sub.s32" -> in[0] - in[1];
            case "mul.lo.s32" -> in[0] * in[1];
            case "mad.lo.s32" -> in[0] * in[1] + in[2];
            case "div.s32" -> in[0] / in[1];
            case "rem.s32" -> in[0] % in[1];
            case "and.b32" -> in[0] & in[1];
            case "xor.b32" -> in[0] ^ in[1];
            case "shl.b32" -> in[0] << in[1];
            case "shr.s32" -> in[0] >> in[1];
            case "min.s32" -> Math.min(in[0], in[1]);
            case "setp.lt.s32" -> in[0] < in[1] ? 1L : 0L;
            default -> null;
        };
    }
}
