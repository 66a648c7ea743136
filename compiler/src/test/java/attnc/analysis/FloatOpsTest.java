package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;
import org.junit.jupiter.api.Test;

/**
 * The float transfer functions where TransferFunctionTest's random sampling rarely looks: NaN
 * that arises inside a range rather than at its corners, NaN carried in from an operand, ranges
 * touching 0 for log and sqrt, and precision. A bound that is sound but wider than the operation
 * can reach, or that claims NaN where none can arise, costs tiles (a NaN-possible mask is never
 * FULL), so where the exact range is known it is checked exactly.
 */
class FloatOpsTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    @Test
    void arithmeticOfFiniteRangesIsExactAndNaNFree() {
        FloatBound a = range(-3, 2), b = range(1, 4);
        assertBound(range(-2, 6), FloatOps.binary(BinaryOp.ADD, a, b));
        assertBound(range(-7, 1), FloatOps.binary(BinaryOp.SUB, a, b));
        assertBound(range(-12, 8), FloatOps.binary(BinaryOp.MUL, a, b));
        assertBound(range(-3, 2), FloatOps.binary(BinaryOp.DIV, a, b));
    }

    @Test
    void aNaNOperandMakesEveryResultMaybeNaN() {
        FloatBound nan = new FloatBound(1, 2, true), plain = range(1, 2);
        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV}) {
            assertTrue(FloatOps.binary(op, nan, plain).maybeNaN(), op + " with a NaN on the left");
            assertTrue(FloatOps.binary(op, plain, nan).maybeNaN(), op + " with a NaN on the right");
        }
        assertTrue(FloatOps.min(nan, plain).maybeNaN() && FloatOps.min(plain, nan).maybeNaN());
        assertTrue(FloatOps.max(nan, plain).maybeNaN() && FloatOps.max(plain, nan).maybeNaN());
        assertBound(range(1, 2), FloatOps.min(plain, range(3, 4)));
        assertBound(range(3, 4), FloatOps.max(plain, range(3, 4)));
    }

    /** 0 × ∞ is NaN also when 0 lies strictly inside a range, where no corner shows it. */
    @Test
    void zeroInsideARangeTimesInfinityIsMaybeNaN() {
        FloatBound acrossZero = range(-1, 1), toInfinity = range(2, INF);
        assertTrue(FloatOps.binary(BinaryOp.MUL, acrossZero, toInfinity).maybeNaN());
        assertTrue(FloatOps.binary(BinaryOp.MUL, toInfinity, acrossZero).maybeNaN());
        assertBound(range(2, INF), FloatOps.binary(BinaryOp.MUL, range(1, 2), toInfinity));
        assertBound(range(2, INF), FloatOps.binary(BinaryOp.MUL, toInfinity, range(1, 2)));
    }

    @Test
    void divisionByAnInfiniteRangeWithoutInfiniteDividendIsNaNFree() {
        assertBound(range(0, 2), FloatOps.binary(BinaryOp.DIV, range(1, 2), range(1, INF)));
        assertBound(range(0.5, INF), FloatOps.binary(BinaryOp.DIV, range(1, INF), range(1, 2)));
        assertTrue(FloatOps.binary(BinaryOp.DIV, range(1, 2), range(-1, 1)).maybeNaN(), "a divisor range across 0");
    }

    @Test
    void absFollowsTheSignOfTheRange() {
        assertBound(range(0, 10), FloatOps.abs(range(-10, 5)));
        assertBound(range(0, 7), FloatOps.abs(range(-2, 7)));
        assertBound(range(5, 10), FloatOps.abs(range(-10, -5)));
        assertBound(range(5, 10), FloatOps.abs(range(5, 10)));
    }

    @Test
    void logAndSqrtOfRangesTouchingZero() {
        assertBound(range(Double.NEGATIVE_INFINITY, Math.log(4)), FloatOps.monotone(Builtin.LOG, range(0, 4)), "log(0) is −∞, not NaN");
        assertBound(range(0, 2), FloatOps.monotone(Builtin.SQRT, range(0, 4)));
        assertBound(new FloatBound(0, 2, true), FloatOps.monotone(Builtin.SQRT, range(-1, 4)));
        assertBound(new FloatBound(0, 0, true), FloatOps.monotone(Builtin.SQRT, range(-4, 0)), "only 0 or NaN");
        assertBound(FloatBound.TOP, FloatOps.monotone(Builtin.LOG, range(-4, -1)), "NaN only");
    }

    @Test
    void correctlyRoundedFunctionsAreNotWidened() {
        assertBound(range(1, Math.exp(1)), FloatOps.monotone(Builtin.EXP, range(0, 1)));
        assertBound(range(Math.tanh(-1), Math.tanh(2)), FloatOps.monotone(Builtin.TANH, range(-1, 2)));
        assertBound(range(1, 2), FloatOps.monotone(Builtin.FLOOR, range(1.5, 2.5)));
    }

    /** sigmoid is 1 / (1 + exp(−x)) with two roundings: not monotone between neighbouring doubles, so the bound is widened. */
    @Test
    void sigmoidBoundsContainItsNonMonotoneSteps() {
        double x = -0.7346413459896131, middle = Math.nextUp(x), end = Math.nextUp(middle);
        assertTrue(Semantics.floatCall(Builtin.SIGMOID, middle) > Semantics.floatCall(Builtin.SIGMOID, end), "the step this test is about");
        FloatBound r = FloatOps.monotone(Builtin.SIGMOID, range(x, end));
        double v = Semantics.floatCall(Builtin.SIGMOID, middle);
        assertTrue(r.lo() <= v && v <= r.hi(), v + " outside " + r);
    }

    @Test
    void toIntIncludesZeroExactlyWhenNaNMayArrive() {
        assertEquals(IntBound.range(2, 3), FloatOps.toInt(range(2.5, 3.5)));
        assertEquals(IntBound.range(0, 3), FloatOps.toInt(new FloatBound(2.5, 3.5, true)));
    }

    /** Equal as ranges: −0.0 and 0.0 bound the same values. */
    private static void assertBound(FloatBound expected, FloatBound actual) {
        assertBound(expected, actual, "");
    }

    private static void assertBound(FloatBound expected, FloatBound actual, String what) {
        assertTrue(expected.lo() == actual.lo() && expected.hi() == actual.hi() && expected.maybeNaN() == actual.maybeNaN(),
                () -> what + ": expected " + expected + ", was " + actual);
    }

    private static FloatBound range(double lo, double hi) {
        return new FloatBound(lo, hi, false);
    }
}
