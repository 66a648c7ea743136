package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.ir.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Where a finished row lands and how it is rounded: row (b, h, q) starts at
 * base + b·strideB + h·strideH + q·strideN, nothing around it is touched, and bf16 and fp16 rows
 * are rounded to nearest, ties to even, as their 16-bit patterns (segment) or as the floats those
 * patterns hold (heap).
 */
class OutputSinkTest {
    private static final float SENTINEL = -7f;
    private static final long BASE = 3, STRIDE_B = 40, STRIDE_H = 13, STRIDE_N = 5;
    private static final int B = 1, H = 2, Q = 1, OFF = 2;
    /** The row lands at element 3 + 40 + 26 + 5 = 74. */
    private static final int TO = 74, SIZE = 90;

    /**
     * bf16 keeps 7 fraction bits, fp16 10: 1 + 2⁻⁸ is a bf16 tie that goes down to the even 1,
     * 1 + 3·2⁻⁸ one that goes up to the even 1 + 2⁻⁶, a hair above a tie goes up; likewise for
     * fp16 at 2⁻¹¹; 65520 overflows fp16 to +∞, 2⁻²⁴ is its least subnormal, 2⁻²⁶ flushes to 0.
     */
    private static final float[] BF16_IN = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, 1f + 0x1p-8f + 0x1p-20f, -2.5f, 0f};
    private static final short[] BF16_BITS = {0x3F80, 0x3F82, 0x3F81, (short) 0xC020, 0};
    private static final float[] FP16_IN = {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 1f + 0x1p-11f + 0x1p-20f, 65520f, 0x1p-24f, 0x1p-26f};
    private static final short[] FP16_BITS = {0x3C00, 0x3C02, 0x3C01, 0x7C00, 0x0001, 0};

    @Test
    void heapRowsLandAtTheirStridesAndNowhereElse() {
        float[] row = {9f, 9f, 1.5f, -0.25f, 3f, 1e-30f, 9f};
        float[] data = filled(SIZE);
        new OutputSink.Heap(data, DType.FLOAT32, BASE, STRIDE_B, STRIDE_H, STRIDE_N).writeRow(B, H, Q, row, OFF, 4);
        float[] expected = filled(SIZE);
        System.arraycopy(row, OFF, expected, TO, 4);
        assertArrayEquals(expected, data);

        float[] dense = filled(2 * 3 * 4 * 2);
        new OutputSink.Heap(dense, 12, 4, 2).writeRow(1, 2, 3, row, OFF, 2);
        assertEquals(1.5f, dense[12 + 8 + 6]);
        assertEquals(-0.25f, dense[12 + 8 + 7]);
    }

    @Test
    void heapBf16AndFp16RowsHoldTheRoundedValues() {
        assertHeapRow(DType.BFLOAT16, BF16_IN, bf16Floats(BF16_BITS));
        float[] fp16 = new float[FP16_BITS.length];
        for (int i = 0; i < fp16.length; i++) fp16[i] = Float.float16ToFloat(FP16_BITS[i]);
        assertHeapRow(DType.FLOAT16, FP16_IN, fp16);
    }

    @Test
    void segmentRowsHoldTheFloatsOrTheRoundedBitPatterns() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment floats = arena.allocate((long) SIZE * Float.BYTES);
            floats.fill((byte) 0x55);
            float[] row = {9f, 9f, 1.5f, -0.25f, 3f, 1e-30f, 9f};
            new OutputSink.Segment(floats, DType.FLOAT32, BASE, STRIDE_B, STRIDE_H, STRIDE_N).writeRow(B, H, Q, row, OFF, 4);
            for (int i = 0; i < SIZE; i++) {
                int bits = floats.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                if (i >= TO && i < TO + 4) assertEquals(row[OFF + i - TO], Float.intBitsToFloat(bits), "element " + i);
                else assertEquals(0x55555555, bits, "element " + i + " is not in the row");
            }
            assertSegmentRow(arena, DType.BFLOAT16, BF16_IN, BF16_BITS);
            assertSegmentRow(arena, DType.FLOAT16, FP16_IN, FP16_BITS);
        }
    }

    private static void assertHeapRow(DType dtype, float[] values, float[] rounded) {
        float[] data = filled(SIZE);
        new OutputSink.Heap(data, dtype, BASE, STRIDE_B, STRIDE_H, STRIDE_N).writeRow(B, H, Q, padded(values), OFF, values.length);
        float[] expected = filled(SIZE);
        System.arraycopy(rounded, 0, expected, TO, rounded.length);
        assertArrayEquals(expected, data, dtype.toString());
    }

    private static void assertSegmentRow(Arena arena, DType dtype, float[] values, short[] bits) {
        MemorySegment halves = arena.allocate((long) SIZE * Short.BYTES);
        halves.fill((byte) 0x55);
        new OutputSink.Segment(halves, dtype, BASE, STRIDE_B, STRIDE_H, STRIDE_N).writeRow(B, H, Q, padded(values), OFF, values.length);
        for (int i = 0; i < SIZE; i++) {
            short got = halves.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            short want = i >= TO && i < TO + bits.length ? bits[i - TO] : 0x5555;
            assertEquals(want, got, dtype + " element " + i);
        }
    }

    /** The values at OFF, after two and before one value that must not be written. */
    private static float[] padded(float[] values) {
        float[] src = new float[OFF + values.length + 1];
        java.util.Arrays.fill(src, 99f);
        System.arraycopy(values, 0, src, OFF, values.length);
        return src;
    }

    private static float[] bf16Floats(short[] bits) {
        float[] f = new float[bits.length];
        for (int i = 0; i < f.length; i++) f[i] = Float.intBitsToFloat((bits[i] & 0xFFFF) << 16);
        return f;
    }

    private static float[] filled(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, SENTINEL);
        return a;
    }
}
