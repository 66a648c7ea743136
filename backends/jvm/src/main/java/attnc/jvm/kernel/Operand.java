package attnc.jvm.kernel;

import attnc.ir.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A strided 4-D tensor [b, head, n, d] read one row (all of d) at a time, converted to fp32.
 * Rows are contiguous in d; the other strides are free, so both [B, H, N, D] and packed
 * [B, N, H, D] are read in place. Kernels only touch operands when they pack a tile, so one
 * virtual call per row costs nothing next to the tile's arithmetic.
 */
public sealed interface Operand {

    /** Elements per row (D or Dv). */
    int width();

    /** Copies row (b, head, n) into {@code dst[off .. off + width)}. */
    void readRow(int b, int head, int n, float[] dst, int off);

    /** Row-major fp32 on the heap, with element strides. */
    record Heap(float[] data, long base, long strideB, long strideH, long strideN, int width) implements Operand {
        public void readRow(int b, int head, int n, float[] dst, int off) {
            int from = Math.toIntExact(base + b * strideB + head * strideH + n * strideN);
            System.arraycopy(data, from, dst, off, width);
        }

        /** Dense [B, H, N, D]. */
        public static Heap dense(float[] data, int heads, int n, int width) {
            return new Heap(data, 0, (long) heads * n * width, (long) n * width, width, width);
        }
    }

    /** fp32, bf16 or fp16 in a memory segment (on or off heap), from element {@code base}, with element strides. */
    record Segment(MemorySegment segment, DType dtype, long base, long strideB, long strideH, long strideN, int width) implements Operand {
        private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
        private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

        public Segment {
            if (dtype != DType.FLOAT32 && dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) {
                throw new IllegalArgumentException("q, k and v must be float32, bfloat16 or float16, got " + dtype);
            }
        }

        public void readRow(int b, int head, int n, float[] dst, int off) {
            long from = base + b * strideB + head * strideH + n * strideN;
            switch (dtype) {
                case FLOAT32 -> MemorySegment.copy(segment, FLOAT, from * Float.BYTES, dst, off, width);
                case BFLOAT16 -> { for (int i = 0; i < width; i++) dst[off + i] = Float.intBitsToFloat(segment.getAtIndex(SHORT, from + i) << 16); }
                default -> { for (int i = 0; i < width; i++) dst[off + i] = Float.float16ToFloat(segment.getAtIndex(SHORT, from + i)); }
            }
        }
    }
}
