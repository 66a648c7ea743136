package attnc.jvm.kernel;

import attnc.ir.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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
            copyRow(segment, dtype, base + b * strideB + head * strideH + n * strideN, dst, off, width);
        }

        /**
         * Copies {@code width} elements of {@code dtype} from element {@code from} of {@code segment}
         * into {@code dst[off ..)} as float32: every reader of rows in a segment (this operand, a
         * paged cache's pool) converts through here.
         */
        static void copyRow(MemorySegment segment, DType dtype, long from, float[] dst, int off, int width) {
            switch (dtype) {
                case FLOAT32 -> MemorySegment.copy(segment, FLOAT, from * Float.BYTES, dst, off, width);
                case BFLOAT16 -> widenBfloat16(segment, from, dst, off, width);
                default -> widenFloat16(segment, from, dst, off, width);
            }
        }

        /** Half as many shorts as a vector has ints: one load widens to one vector of floats. */
        private static final VectorSpecies<Short> HALVES = VectorSpecies.of(short.class, VectorShape.forBitSize(Lanes.I.vectorBitSize() / 2));

        /**
         * bf16 is an fp32's top half: a vector of shorts widened to ints and shifted up 16 bits
         * is the row as floats, exactly (the sign extension of the widening is shifted out). Every
         * K and V row is read once per query tile: the scalar loop (0.74 ns an element against
         * 0.15) was about a fifth of a D = 64 launch by that count.
         */
        private static void widenBfloat16(MemorySegment segment, long from, float[] dst, int off, int width) {
            int i = 0;
            for (int step = Lanes.I.length(); i + step <= width; i += step) {
                ShortVector halves = ShortVector.fromMemorySegment(HALVES, segment, (from + i) * Short.BYTES, ByteOrder.nativeOrder());
                ((IntVector) halves.convertShape(VectorOperators.S2I, Lanes.I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        .intoArray(dst, off + i);
            }
            for (; i < width; i++) dst[off + i] = Float.intBitsToFloat(segment.getAtIndex(SHORT, from + i) << 16);
        }

        /**
         * fp16 to fp32 a vector at a time, as {@link Float#float16ToFloat}: exponent and mantissa
         * shifted into place (<< 13) and scaled by 2^112, which rebiases the exponent and
         * normalises subnormals exactly; infinities and NaNs (exponent all ones) get the fp32
         * exponent field instead, NaNs quieted as the JDK's conversion does; then the sign. The
         * Vector API has no half-precision conversion.
         */
        private static void widenFloat16(MemorySegment segment, long from, float[] dst, int off, int width) {
            int i = 0;
            for (int step = Lanes.I.length(); i + step <= width; i += step) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(HALVES, segment, (from + i) * Short.BYTES, ByteOrder.nativeOrder())
                        .convertShape(VectorOperators.S2I, Lanes.I, 0);
                IntVector magnitude = h.and(0x7fff), shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
                IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
                IntVector special = shifted.or(0x7f800000);
                IntVector bits = finite.blend(special, magnitude.compare(VectorOperators.GE, 0x7c00))
                        .blend(special.or(0x00400000), magnitude.compare(VectorOperators.GT, 0x7c00));
                bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, off + i);
            }
            for (; i < width; i++) dst[off + i] = Float.float16ToFloat(segment.getAtIndex(SHORT, from + i));
        }
    }
}
