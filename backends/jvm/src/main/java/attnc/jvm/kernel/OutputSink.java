package attnc.jvm.kernel;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where finished output rows [b, h, q, 0..Dv) go: a heap array or a segment (fp32, bf16 or fp16),
 * from element {@code base}, with element strides. Rows are written once each, by the thread
 * that finished them.
 */
public sealed interface OutputSink {

    void writeRow(int b, int h, int q, float[] src, int off, int width);

    /** float32 values in a heap array; a bf16 or fp16 tensor held as floats gets them rounded to its dtype. */
    record Heap(float[] data, DType dtype, long base, long strideB, long strideH, long strideN) implements OutputSink {
        /** A dense fp32 [B, H, N, Dv] array. */
        public Heap(float[] data, long strideB, long strideH, long strideN) {
            this(data, DType.FLOAT32, 0, strideB, strideH, strideN);
        }

        public void writeRow(int b, int h, int q, float[] src, int off, int width) {
            int to = Math.toIntExact(base + b * strideB + h * strideH + q * strideN);
            if (dtype == DType.FLOAT32) {
                System.arraycopy(src, off, data, to, width);
            } else {
                for (int i = 0; i < width; i++) data[to + i] = Tensor.round(dtype, src[off + i]);
            }
        }
    }

    record Segment(MemorySegment segment, DType dtype, long base, long strideB, long strideH, long strideN) implements OutputSink {
        public void writeRow(int b, int h, int q, float[] src, int off, int width) {
            long to = base + b * strideB + h * strideH + q * strideN;
            switch (dtype) {
                case FLOAT32 -> MemorySegment.copy(src, off, segment, ValueLayout.JAVA_FLOAT_UNALIGNED, to * Float.BYTES, width);
                case BFLOAT16 -> { for (int i = 0; i < width; i++) segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, to + i, Tensor.bfloat16Bits(src[off + i])); }
                default -> { for (int i = 0; i < width; i++) segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, to + i, Float.floatToFloat16(src[off + i])); }
            }
        }
    }
}
