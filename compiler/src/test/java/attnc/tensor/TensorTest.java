package attnc.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void wrappingAnArrayKeepsIt() {
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor t = Tensor.wrap(data, 2, 3);
        assertSame(data, t.floats(), "a contiguous float[] view gives its array back");
        data[4] = 50;
        assertEquals(50.0, t.getDouble(4), "the tensor reads the caller's array, not a copy");
    }

    @Test
    void transposedViewsReadThroughStrides() {
        float[] data = new float[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) data[i] = i;
        // [B=1, N=2, H=3, D=4] seen as [B, H, N, D]
        Tensor bhnd = Tensor.wrap(data, 1, 2, 3, 4).transpose(1, 2);
        assertArrayEquals(new int[] {1, 3, 2, 4}, bhnd.shape());
        assertArrayEquals(new long[] {24, 4, 12, 1}, bhnd.strides());
        assertTrue(!bhnd.isContiguous());
        // element [0, h=2, n=1, d=3] is data[(n * 3 + h) * 4 + d]
        assertEquals(data[(3 + 2) * 4 + 3], bhnd.getDouble(((2 * 2) + 1) * 4 + 3));
        float[] copy = bhnd.floats();
        assertEquals(data[(3 + 2) * 4 + 3], copy[((2 * 2) + 1) * 4 + 3]);
    }

    @Test
    void leadingColumnsAreAViewOfTheSameRows() {
        float[] data = new float[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) data[i] = i;
        Tensor k = Tensor.wrap(data, 1, 2, 3, 4), v = k.leadingColumns(3);
        assertArrayEquals(new int[] {1, 2, 3, 3}, v.shape());
        assertArrayEquals(k.strides(), v.strides());
        assertEquals(k.storage(), v.storage());
        // element [0, 1, 2, 2] is K's [0, 1, 2, 2]: data[(1 * 3 + 2) * 4 + 2]
        assertEquals(data[(3 + 2) * 4 + 2], v.getDouble(((3 + 2) * 3) + 2));
        assertThrows(IllegalArgumentException.class, () -> k.leadingColumns(5));
    }

    @Test
    void bf16AndFp16SegmentsHoldTwoBytesAnElement() {
        ShortBuffer bits = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).asShortBuffer();
        bits.put(0, Tensor.bfloat16Bits(1.5f)).put(1, Tensor.bfloat16Bits(-3.0f)).put(2, Tensor.bfloat16Bits(0.1f)).put(3, (short) 0);
        Tensor t = Tensor.wrap(bits, DType.BFLOAT16, 2, 2);
        assertEquals(1.5, t.getDouble(0));
        assertEquals(-3.0, t.getDouble(1));
        assertEquals(Tensor.bfloat16(0.1f), (float) t.getDouble(2));
        Tensor half = Tensor.allocate(DType.FLOAT16, 3, 5);
        var storage = (Tensor.Storage.Segment) half.storage();
        assertEquals(2L * 15, storage.segment().byteSize());
        half.copyFrom(new float[] {0.1f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f)), (float) half.getDouble(0), "written rounded to fp16");
    }

    @Test
    void buffersAndSegmentsAreViewsNotCopies() {
        FloatBuffer direct = ByteBuffer.allocateDirect(4 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        Tensor t = Tensor.wrap(direct, 2, 2);
        direct.put(3, 7f);
        assertEquals(7.0, t.getDouble(3));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4 * 6);
            Tensor s = Tensor.wrap(segment, DType.FLOAT32, 2, 3);
            s.copyFrom(new float[] {1, 2, 3, 4, 5, 6});
            assertEquals(6f, segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 5));
        }
    }

    @Test
    void badViewsAreRefusedWithWhatWasExpected() {
        var size = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(new float[5], 2, 3));
        assertEquals("shape [2, 3] needs 6 elements, got 5", size.getMessage());
        var reach = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(new float[6], 2, 3).view(new int[] {2, 3}, new long[] {4, 1}, 0));
        assertEquals("shape [2, 3] with strides [4, 1] from element 0 reaches element 6, past the storage's 6 float32 elements", reach.getMessage());
        FloatBuffer bigEndian = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
        if (ByteOrder.nativeOrder() != ByteOrder.BIG_ENDIAN) {
            var order = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(bigEndian, 4));
            assertTrue(order.getMessage().contains("BIG_ENDIAN byte order"), order.getMessage());
        }
        var segment = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(MemorySegment.ofArray(new short[5]), DType.BFLOAT16, 2, 3));
        assertEquals("segment of 10 bytes for bfloat16[2, 3]: expected 12 bytes", segment.getMessage());
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertEquals(1.0f, Tensor.bfloat16(Float.intBitsToFloat(0x3F808000)), "a tie rounds to the even neighbour");
        assertEquals(Float.intBitsToFloat(0x3F820000), Tensor.bfloat16(Float.intBitsToFloat(0x3F818000)), "a tie rounds up to even");
        assertTrue(Float.isNaN(Tensor.bfloat16(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Tensor.bfloat16(Float.POSITIVE_INFINITY));
    }

    /** A view of GPU memory keeps its shape and dtype and refuses every host read and write, naming its owner. */
    @Test
    void deviceMemoryIsNotReadOnTheHost() {
        Tensor t = Tensor.onDevice("buffer #7", DType.BFLOAT16, 2, 3);
        assertEquals(DType.BFLOAT16, t.dtype());
        assertEquals(6, t.size());
        assertTrue(t.isContiguous());
        var read = assertThrows(IllegalStateException.class, () -> t.getDouble(0));
        assertTrue(read.getMessage().contains("lives in GPU memory (buffer #7)"), read.getMessage());
        assertThrows(IllegalStateException.class, t::floats);
        assertThrows(IllegalStateException.class, () -> t.copyFrom(new float[6]));
        assertEquals(3, t.transpose(0, 1).dim(0));
        assertThrows(IllegalArgumentException.class, () -> t.view(new int[] {7}, new long[] {1}, 0), "a view past the buffer");
    }
}
