package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Semantics;
import java.util.List;
import java.util.Random;
import java.util.function.IntBinaryOperator;
import java.util.function.IntUnaryOperator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * Precision of the int transfer functions (TransferFunctionTest checks that they are sound). Over
 * small ranges every pair is tried: the operations that are monotone on each operand's sign
 * (+, −, ×, floored ÷, shifts, neg, ~, abs, min, max, bitlen) must give exactly the smallest and
 * largest result; %, &, |, ^ must stay within their documented bounds.
 */
class IntOpsTest {
    private static final Box BOX = new Box(0, 0, 0, 0, 0, 0, 0, 0);

    @Property(tries = 1500)
    void monotoneOperationsGiveTheirExactRange(@ForAll long seed) {
        Random random = new Random(seed);
        IntBound a = range(random), b = range(random);
        for (BinaryOp op : List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV)) {
            assertExact(IntOps.binary(op, a, b, BOX), a, b, (x, y) -> Semantics.intBinary(op, x, y), op.symbol());
        }
        IntBound count = IntBound.range(random.nextInt(12), random.nextInt(12) + 12);
        for (BinaryOp op : List.of(BinaryOp.SHL, BinaryOp.SHR)) {
            assertExact(IntOps.binary(op, a, count, BOX), a, count, (x, y) -> Semantics.intBinary(op, x, y), op.symbol());
        }
        assertExact(IntOps.min(a, b, BOX), a, b, Math::min, "min");
        assertExact(IntOps.max(a, b, BOX), a, b, Math::max, "max");
        assertExact(IntOps.negate(a, BOX), a, x -> -x, "-");
        assertExact(IntOps.bitNot(a, BOX), a, x -> ~x, "~");
        assertExact(IntOps.abs(a, BOX), a, Math::abs, "abs");
        assertExact(IntOps.bitlen(a), a, Semantics::bitlen, "bitlen");
    }

    @Test
    void moduloStaysWithinItsDivisorAndItsDividend() {
        assertRange(0, 5, IntOps.binary(BinaryOp.MOD, IntBound.range(0, 5), IntBound.range(8, 9), BOX));
        assertRange(0, 8, IntOps.binary(BinaryOp.MOD, IntBound.range(0, 100), IntBound.range(8, 9), BOX));
        assertRange(-8, 0, IntOps.binary(BinaryOp.MOD, IntBound.range(-100, 100), IntBound.range(-9, -8), BOX));
        assertRange(-5, 0, IntOps.binary(BinaryOp.MOD, IntBound.range(-5, 0), IntBound.range(-9, -8), BOX));
        assertRange(-8, 8, IntOps.binary(BinaryOp.MOD, IntBound.range(-100, 100), IntBound.range(-9, 9), BOX));
        assertRange(0, 0, IntOps.binary(BinaryOp.MOD, IntBound.range(-100, 100), IntBound.constant(0), BOX));
        // Within one period of a constant divisor, a % d is a - d·k: exact, and it keeps a's form.
        assertRange(4, 9, IntOps.binary(BinaryOp.MOD, IntBound.range(68, 73), IntBound.constant(64), BOX));
    }

    @Test
    void bitOperationsKeepSignsAndWidths() {
        IntBound small = IntBound.range(0, 12), other = IntBound.range(3, 40), negative = IntBound.range(-40, -3);
        assertRange(0, 12, IntOps.binary(BinaryOp.BIT_AND, small, other, BOX));
        assertRange(0, 12, IntOps.binary(BinaryOp.BIT_AND, other, small, BOX));
        assertRange(0, 12, IntOps.binary(BinaryOp.BIT_AND, small, negative, BOX));
        assertRange(0, 40, IntOps.binary(BinaryOp.BIT_AND, negative, other, BOX));
        assertRange(-64, -3, IntOps.binary(BinaryOp.BIT_AND, negative, IntBound.range(-7, -3), BOX));
        assertRange(3, 63, IntOps.binary(BinaryOp.BIT_OR, small, other, BOX));
        assertRange(-40, -1, IntOps.binary(BinaryOp.BIT_OR, negative, other, BOX));
        assertRange(-40, -1, IntOps.binary(BinaryOp.BIT_OR, other, negative, BOX));
        assertRange(0, 63, IntOps.binary(BinaryOp.BIT_XOR, small, other, BOX));
        assertRange(0, 63, IntOps.binary(BinaryOp.BIT_XOR, negative, IntBound.range(-7, -3), BOX));
        assertRange(-64, -1, IntOps.binary(BinaryOp.BIT_XOR, small, negative, BOX));
        assertRange(-64, -1, IntOps.binary(BinaryOp.BIT_XOR, negative, small, BOX));
        assertRange(-64, 63, IntOps.binary(BinaryOp.BIT_XOR, IntBound.range(-5, 5), other, BOX));
        // The width is the smallest power of two holding both ranges: [-32, -1] and [0, 31] need 32.
        assertRange(0, 31, IntOps.binary(BinaryOp.BIT_XOR, IntBound.range(-32, -1), IntBound.range(-32, -1), BOX));
        assertRange(-8, 7, IntOps.binary(BinaryOp.BIT_AND, IntBound.range(-5, 5), IntBound.range(-5, 5), BOX));
        assertRange(-16, 15, IntOps.binary(BinaryOp.BIT_OR, small, IntBound.range(-5, 5), BOX));
    }

    /** Each bound is attained: the range is as tight as an interval can be. */
    private static void assertExact(IntBound r, IntBound a, IntBound b, IntBinaryOperator op, String what) {
        long lo = Long.MAX_VALUE, hi = Long.MIN_VALUE;
        for (long x = a.lo(); x <= a.hi(); x++) {
            for (long y = b.lo(); y <= b.hi(); y++) {
                long v = op.applyAsInt((int) x, (int) y);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        long low = lo, high = hi;
        assertTrue(r.lo() == low && r.hi() == high, () -> a + " " + what + " " + b + ": " + r + ", exact [" + low + ", " + high + "]");
    }

    private static void assertExact(IntBound r, IntBound a, IntUnaryOperator op, String what) {
        assertExact(r, a, IntBound.constant(0), (x, y) -> op.applyAsInt(x), what);
    }

    private static void assertRange(long lo, long hi, IntBound r) {
        assertEquals(lo + ".." + hi, r.lo() + ".." + r.hi());
    }

    /** Small ranges (every pair is tried), across zero, at zero, or one value. */
    private static IntBound range(Random random) {
        long x = random.nextInt(61) - 30, y = random.nextInt(4) == 0 ? x : random.nextInt(61) - 30;
        return IntBound.range(Math.min(x, y), Math.max(x, y));
    }
}
