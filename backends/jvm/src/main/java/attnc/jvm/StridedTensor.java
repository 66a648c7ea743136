package attnc.jvm;

import attnc.ir.DType;
import attnc.jvm.kernel.Operand;
import java.lang.foreign.MemorySegment;

/**
 * Q, K or V described in place: a 4-D tensor [batch, heads, n, width] whose rows (width) are
 * contiguous, anywhere in memory, with any batch, head and position strides. The two layouts
 * models use have factories; a bf16 or fp16 tensor is converted to fp32 as the kernel loads it.
 */
public record StridedTensor(Operand operand, int batch, int heads, int n, int width) {

    /** [B, H, N, D], contiguous. */
    public static StridedTensor bhnd(MemorySegment segment, DType dtype, int batch, int heads, int n, int width) {
        return new StridedTensor(new Operand.Segment(segment, dtype, (long) heads * n * width, (long) n * width, width, width),
                batch, heads, n, width);
    }

    /** [B, N, H, D], contiguous: the packed layout of a fused QKV projection's output. */
    public static StridedTensor bnhd(MemorySegment segment, DType dtype, int batch, int n, int heads, int width) {
        return new StridedTensor(new Operand.Segment(segment, dtype, (long) n * heads * width, width, (long) heads * width, width),
                batch, heads, n, width);
    }

    /** A heap fp32 array in [B, H, N, D]. */
    public static StridedTensor heap(float[] data, int batch, int heads, int n, int width) {
        return new StridedTensor(Operand.Heap.dense(data, heads, n, width), batch, heads, n, width);
    }
}
