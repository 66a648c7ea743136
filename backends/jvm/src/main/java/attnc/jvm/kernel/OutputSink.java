package attnc.jvm.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Where finished output rows [b, h, q, 0..Dv) go: a heap array or an fp32 segment, with strides. */
public sealed interface OutputSink {

    void writeRow(int b, int h, int q, float[] src, int off, int width);

    record Heap(float[] data, long strideB, long strideH, long strideN) implements OutputSink {
        public void writeRow(int b, int h, int q, float[] src, int off, int width) {
            System.arraycopy(src, off, data, Math.toIntExact(b * strideB + h * strideH + q * strideN), width);
        }
    }

    record Segment(MemorySegment segment, long strideB, long strideH, long strideN) implements OutputSink {
        public void writeRow(int b, int h, int q, float[] src, int off, int width) {
            long to = b * strideB + h * strideH + q * strideN;
            for (int i = 0; i < width; i++) segment.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, to + i, src[off + i]);
        }
    }
}
