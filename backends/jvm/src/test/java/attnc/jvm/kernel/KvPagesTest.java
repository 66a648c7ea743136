package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Rows through a block table, from the heap and from a segment in each storage dtype, alike. */
class KvPagesTest {
    // A pool [P = 5, page = 4, Hkv = 2, width = 6]; two sequences of three pages, shuffled and one shared.
    private static final int P = 5, PAGE = 4, HKV = 2, WIDTH = 6;
    private static final int[] TABLE = {3, 0, 4, 1, 0, 2};

    @Test
    void segmentRowsEqualHeapRowsInEveryDtype() {
        Random random = new Random(4);
        float[] values = new float[P * PAGE * HKV * WIDTH];
        for (int i = 0; i < values.length; i++) values[i] = random.nextFloat() * 8 - 4;
        for (DType dtype : new DType[] {DType.FLOAT32, DType.BFLOAT16, DType.FLOAT16}) {
            float[] rounded = new float[values.length];
            for (int i = 0; i < values.length; i++) rounded[i] = Tensor.round(dtype, values[i]);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment segment = arena.allocate((long) values.length * dtype.bytes());
                for (int i = 0; i < values.length; i++) {
                    switch (dtype) {
                        case FLOAT32 -> segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, values[i]);
                        case BFLOAT16 -> segment.setAtIndex(ValueLayout.JAVA_SHORT, i, Tensor.bfloat16Bits(values[i]));
                        default -> segment.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(values[i]));
                    }
                }
                KvPages heap = pages(rounded, null, DType.FLOAT32), off = pages(null, segment, dtype);
                assertFalse(off.inPlace());
                float[] want = new float[WIDTH], got = new float[WIDTH + 3];
                for (int b = 0; b < 2; b++) {
                    for (int h = 0; h < HKV; h++) {
                        for (int kv = 0; kv < 3 * PAGE; kv++) {
                            heap.readRow(b, h, kv, want, 0);
                            off.readRow(b, h, kv, got, 3);
                            int page = TABLE[b * 3 + kv / PAGE], first = ((page * PAGE + kv % PAGE) * HKV + h) * WIDTH;
                            for (int i = 0; i < WIDTH; i++) {
                                assertEquals(rounded[first + i], want[i], dtype + " heap b=" + b + " h=" + h + " kv=" + kv);
                                assertEquals(want[i], got[3 + i], dtype + " segment b=" + b + " h=" + h + " kv=" + kv);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Copied rows sit at j · stride, zero past the width; float32 rows on the heap a whole number of vectors wide are read in place. */
    @Test
    void locateCopiesWithZeroPaddingOrReadsInPlace() {
        float[] values = new float[P * PAGE * HKV * WIDTH];
        for (int i = 0; i < values.length; i++) values[i] = i + 1;
        KvPages narrow = pages(values, null, DType.FLOAT32);
        int stride = WIDTH + 2;
        float[] copy = new float[3 * stride];
        java.util.Arrays.fill(copy, -1f);
        int[] offsets = new int[3];
        assertSame(copy, narrow.locate(1, 1, 3, 3, copy, stride, offsets), "6 floats are not a whole number of vectors: copied");
        for (int j = 0; j < 3; j++) {
            assertEquals(j * stride, offsets[j]);
            float[] row = new float[WIDTH];
            narrow.readRow(1, 1, 3 + j, row, 0);
            for (int i = 0; i < stride; i++) assertEquals(i < WIDTH ? row[i] : 0f, copy[j * stride + i], "row " + j + " column " + i);
        }
        int wide = Lanes.L;
        float[] vectors = new float[P * PAGE * HKV * wide];
        KvPages inPlace = new KvPages(vectors, null, DType.FLOAT32, 0, (long) PAGE * HKV * wide, (long) HKV * wide, wide, wide, TABLE, 3, 2);
        assertTrue(inPlace.inPlace());
        assertSame(vectors, inPlace.locate(0, 1, 5, 2, new float[2 * wide], wide, offsets));
        assertArrayEquals(new int[] {(int) inPlace.rowAt(0, 1, 5), (int) inPlace.rowAt(0, 1, 6), offsets[2]}, offsets);
        assertEquals(((0 * PAGE + 1) * HKV + 1) * wide, inPlace.rowAt(0, 1, 5), "kv 5 is slot 1 of the sequence's second page, page 0");
    }

    /**
     * In-place offsets, located a page at a time, are {@link KvPages#rowAt}'s for every key: page
     * sizes 1 to 256 (shift 0 to 8) or one page a sequence (shift 31), tables shuffled with shared
     * pages, 1 to 3 heads side by side, and key ranges that start and end inside pages.
     */
    @Property(tries = 200)
    void locateAPageAtATimeIsRowAtForEveryKey(@ForAll @IntRange(min = 0, max = 9) int shiftCase, @ForAll long seed) {
        Random random = new Random(seed);
        boolean whole = shiftCase == 9;
        int shift = whole ? 31 : shiftCase, heads = 1 + random.nextInt(3), width = Lanes.L * (1 + random.nextInt(2));
        int batch = 1 + random.nextInt(3), maxPages = whole ? 1 : 1 + random.nextInt(5), keysPerSequence = whole ? 1 + random.nextInt(300) : maxPages << shift;
        int page = whole ? keysPerSequence : 1 << shift, pool = whole ? batch : batch * maxPages + random.nextInt(3), base = random.nextInt(3) * width;
        int[] table = new int[batch * maxPages];
        for (int i = 0; i < table.length; i++) table[i] = whole ? i : random.nextInt(pool);
        long strideSlot = (long) heads * width, strideP = page * strideSlot;
        KvPages pages = new KvPages(new float[Math.toIntExact(base + pool * strideP)], null, DType.FLOAT32, base, strideP, strideSlot, width, width, table,
                maxPages, shift);
        assertTrue(pages.inPlace());
        for (int trial = 0; trial < 20; trial++) {
            int b = random.nextInt(batch), h = random.nextInt(heads), kv0 = random.nextInt(keysPerSequence);
            int keys = 1 + random.nextInt(Math.min(64, keysPerSequence - kv0));
            int[] offsets = new int[keys];
            assertSame(pages.heap(), pages.locate(b, h, kv0, keys, new float[0], width, offsets));
            for (int j = 0; j < keys; j++) assertEquals(pages.rowAt(b, h, kv0 + j), offsets[j], "page " + page + ", b " + b + ", head " + h + ", key " + (kv0 + j));
        }
    }

    private static KvPages pages(float[] heap, MemorySegment segment, DType dtype) {
        return new KvPages(heap, segment, dtype, 0, (long) PAGE * HKV * WIDTH, (long) HKV * WIDTH, WIDTH, WIDTH, TABLE, 3, 2);
    }
}
