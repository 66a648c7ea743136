package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.ir.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The vector widening of bf16 and fp16 rows against the JDK's scalar conversions, on every 16-bit pattern. */
class OperandTest {
    private static final int WIDTH = 64 + 5;

    @Test
    void everyFloat16AndBfloat16PatternWidensAsTheScalarConversion() {
        int rows = (1 << 16) / WIDTH + 1;
        MemorySegment segment = Arena.ofAuto().allocate(2L * rows * WIDTH, 2);
        for (int i = 0; i < rows * WIDTH; i++) segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) i);
        float[] row = new float[WIDTH];
        for (DType dtype : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            Operand.Segment operand = new Operand.Segment(segment, dtype, 0, 0, 0, WIDTH, WIDTH);
            for (int n = 0; n < rows; n++) {
                operand.readRow(0, 0, n, row, 0);
                for (int i = 0; i < WIDTH; i++) {
                    short bits = (short) (n * WIDTH + i);
                    float expected = dtype == DType.FLOAT16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat(bits << 16);
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(row[i]),
                            () -> dtype + " bits 0x" + Integer.toHexString(bits & 0xffff));
                }
            }
        }
    }
}
