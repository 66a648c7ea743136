package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.I;
import static attnc.jvm.kernel.Lanes.L;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;
import java.util.function.BinaryOperator;
import java.util.function.Function;
import java.util.function.IntBinaryOperator;
import java.util.function.IntUnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import org.junit.jupiter.api.Test;

/**
 * Every operation generated code calls, scalar and lane-wise, against {@link Semantics} (the
 * meaning the reference and constant folding use) on every pair of a table of operands that
 * reaches the cases where a plausible slip shows: negative dividends and divisors (floored, not
 * truncated, division), a zero divisor, shift counts past 31, the int extremes, NaN, ±0 and ±∞.
 * Random patterns reach these only by luck; here each case is met every run.
 */
class LanesTest {
    private static final int[] INTS = {0, 1, -1, 2, -2, 3, -3, 7, -7, 31, 32, 33, -33, 100, Integer.MAX_VALUE, Integer.MIN_VALUE};
    private static final float[] FLOATS = {0f, -0f, 1f, -1f, 0.5f, -2.5f, 3.75f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            1e30f, -1e-30f, 100f, 88f, -88.5f, 2f};

    /** Every (a, b) of the table, a in the first array and b in the second, padded to whole vectors with the first pair. */
    private static int[][] intPairs() {
        int n = INTS.length * INTS.length, padded = (n + L - 1) / L * L;
        int[] a = new int[padded], b = new int[padded];
        for (int i = 0; i < padded; i++) {
            int at = i < n ? i : 0;
            a[i] = INTS[at / INTS.length];
            b[i] = INTS[at % INTS.length];
        }
        return new int[][] {a, b};
    }

    private static float[][] floatPairs() {
        int n = FLOATS.length * FLOATS.length, padded = (n + L - 1) / L * L;
        float[] a = new float[padded], b = new float[padded];
        for (int i = 0; i < padded; i++) {
            int at = i < n ? i : 0;
            a[i] = FLOATS[at / FLOATS.length];
            b[i] = FLOATS[at % FLOATS.length];
        }
        return new float[][] {a, b};
    }

    // ---- ints ----

    @Test
    void intArithmeticIsWrappingAndFloored() {
        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MOD, BinaryOp.SHL, BinaryOp.SHR,
                BinaryOp.BIT_AND, BinaryOp.BIT_OR, BinaryOp.BIT_XOR}) {
            IntBinaryOperator expected = (a, b) -> Semantics.intBinary(op, a, b);
            checkInts(op.name(), expected, scalarInt(op), vectorInt(op));
        }
        checkInts("MIN", Math::min, Lanes::MIN, Lanes::MIN);
        checkInts("MAX", Math::max, Lanes::MAX, Lanes::MAX);
    }

    @Test
    void divisionAndModuloAreFlooredByHand() {
        // −7 % 3 is 2 (floored), not −1 (truncated); −7 / 2 is −4, not −3; x / 0 and x % 0 are 0.
        assertEquals(2, Lanes.MOD(-7, 3));
        assertEquals(-2, Lanes.MOD(7, -3));
        assertEquals(-4, Lanes.DIV(-7, 2));
        assertEquals(0, Lanes.DIV(5, 0));
        assertEquals(0, Lanes.MOD(5, 0));
    }

    @Test
    void intUnaryOperations() {
        checkIntUnary("NEG", a -> -a, Lanes::NEG, Lanes::NEG);
        checkIntUnary("BIT_NOT", a -> ~a, Lanes::BIT_NOT, Lanes::BIT_NOT);
        checkIntUnary("ABS", Math::abs, Lanes::ABS, Lanes::ABS);
        checkIntUnary("BITLEN", a -> 32 - Integer.numberOfLeadingZeros(a), Lanes::BITLEN, Lanes::BITLEN);
        int[] a = intPairs()[0];
        float[] widened = new float[a.length];
        Lanes.I2F(IntVector.fromArray(I, a, 0)).intoArray(widened, 0);
        for (int i = 0; i < L; i++) {
            assertEquals((float) a[i], Lanes.I2F(a[i]), "I2F(" + a[i] + ")");
            assertEquals((float) a[i], widened[i], "I2F lane (" + a[i] + ")");
        }
    }

    @Test
    void intComparisons() {
        int[][] pairs = intPairs();
        for (BinaryOp op : new BinaryOp[] {BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE}) {
            for (int i = 0; i < pairs[0].length; i += L) {
                IntVector a = IntVector.fromArray(I, pairs[0], i), b = IntVector.fromArray(I, pairs[1], i);
                boolean[] lanes = intCompare(op, a, b).toArray();
                for (int j = 0; j < L; j++) {
                    int x = pairs[0][i + j], y = pairs[1][i + j];
                    boolean want = Semantics.intCompare(op, x, y);
                    assertEquals(want, intCompare(op, x, y), op + "(" + x + ", " + y + ")");
                    assertEquals(want, lanes[j], op + " lane (" + x + ", " + y + ")");
                }
            }
        }
    }

    @Test
    void selectsTakeTheFirstWhereTheConditionHolds() {
        assertEquals(4, Lanes.SELECT(true, 4, 9));
        assertEquals(9, Lanes.SELECT(false, 4, 9));
        assertEquals(4f, Lanes.SELECT(true, 4f, 9f));
        assertEquals(9f, Lanes.SELECT(false, 4f, 9f));
        assertTrue(Lanes.SELECT(true, true, false));
        assertFalse(Lanes.SELECT(false, true, false));
        VectorMask<Integer> odd = Lanes.lanes(0).and(1).compare(jdk.incubator.vector.VectorOperators.NE, 0);
        int[] ints = Lanes.SELECT(odd, Lanes.bcast(4), Lanes.bcast(9)).toArray();
        float[] floats = Lanes.SELECT(odd, Lanes.bcast(4f), Lanes.bcast(9f)).toArray();
        boolean[] bools = Lanes.SELECT(odd, Lanes.bcast(true), Lanes.bcast(false)).toArray();
        boolean[] flipped = Lanes.SELECT(odd, Lanes.bcast(false), Lanes.bcast(true)).toArray();
        for (int i = 0; i < L; i++) {
            boolean take = i % 2 == 1;
            assertEquals(take ? 4 : 9, ints[i], "int lane " + i);
            assertEquals(take ? 4f : 9f, floats[i], "float lane " + i);
            assertEquals(take, bools[i], "bool lane " + i);
            assertEquals(!take, flipped[i], "bool lane " + i + ", the other way");
        }
    }

    // ---- floats ----

    @Test
    void floatArithmeticIsIeeeInFloat() {
        // One float operation rounds as the double one rounded to float: double's 53 bits hold an exact sum, product or quotient of floats well enough.
        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV}) {
            checkFloats(op.name(), (a, b) -> (float) Semantics.floatBinary(op, a, b), scalarFloat(op), vectorFloat(op), 0);
        }
        checkFloats("MIN", Math::min, Lanes::MIN, Lanes::MIN, 0);
        checkFloats("MAX", Math::max, Lanes::MAX, Lanes::MAX, 0);
    }

    @Test
    void floatFunctionsFollowSemantics() {
        checkFloatUnary("NEG", a -> -a, Lanes::NEG, Lanes::NEG, 0);
        checkFloatUnary("ABS", Math::abs, Lanes::ABS, Lanes::ABS, 0);
        checkFloatUnary("FLOOR", a -> (float) Math.floor(a), Lanes::FLOOR, v -> Lanes.FLOOR(v, new int[Lanes.LANE_BUFFER]), 0);
        // Library and fitted functions: a few ulp (VectorMath's bounds, the Vector API's within 1 ulp), 1e-6 relative.
        for (Builtin fn : new Builtin[] {Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.SQRT, Builtin.TANH, Builtin.SIGMOID}) {
            checkFloatUnary(fn.name(), a -> (float) Semantics.floatCall(fn, a), scalarFunction(fn), vectorFunction(fn), 1e-6);
        }
    }

    /** The tier-independent functions the backward calls: the same values as Semantics, a few ulp. */
    @Test
    void exactLanesFollowSemantics() {
        Builtin[] fns = {Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.TANH, Builtin.SIGMOID};
        java.util.List<Function<FloatVector, FloatVector>> exact = java.util.List.of(ExactLanes::EXP, ExactLanes::LOG, ExactLanes::LOG2,
                ExactLanes::TANH, ExactLanes::SIGMOID);
        for (int i = 0; i < fns.length; i++) {
            Builtin fn = fns[i];
            checkFloatUnary("exact " + fn.name(), a -> (float) Semantics.floatCall(fn, a), a -> (float) Semantics.floatCall(fn, a), exact.get(i), 1e-6);
        }
    }

    @Test
    void floatToIntRoundsDownAndSaturates() {
        float[] a = floatPairs()[1];
        int[] buffer = new int[Lanes.LANE_BUFFER];
        for (int i = 0; i < a.length; i += L) {
            int[] lanes = Lanes.F2I(FloatVector.fromArray(F, a, i), buffer).toArray();
            for (int j = 0; j < L; j++) {
                int want = Semantics.toInt(a[i + j]);
                assertEquals(want, Lanes.F2I(a[i + j]), "F2I(" + a[i + j] + ")");
                assertEquals(want, lanes[j], "F2I lane (" + a[i + j] + ")");
            }
        }
        assertEquals(-3, Lanes.F2I(-2.5f));
    }

    @Test
    void floatComparisonsAreFalseForNaN() {
        float[][] pairs = floatPairs();
        for (BinaryOp op : new BinaryOp[] {BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE}) {
            for (int i = 0; i < pairs[0].length; i += L) {
                FloatVector a = FloatVector.fromArray(F, pairs[0], i), b = FloatVector.fromArray(F, pairs[1], i);
                boolean[] lanes = floatCompare(op, a, b).toArray();
                for (int j = 0; j < L; j++) {
                    float x = pairs[0][i + j], y = pairs[1][i + j];
                    boolean want = Semantics.floatCompare(op, x, y);
                    assertEquals(want, floatCompare(op, x, y), op + "(" + x + ", " + y + ")");
                    assertEquals(want, lanes[j], op + " lane (" + x + ", " + y + ")");
                }
            }
        }
    }

    // ---- bools ----

    @Test
    void boolOperations() {
        boolean[] both = {false, true};
        for (boolean a : both) {
            assertEquals(!a, Lanes.NOT(a));
            for (boolean b : both) {
                assertEquals(a && b, Lanes.AND(a, b), a + " && " + b);
                assertEquals(a || b, Lanes.OR(a, b), a + " || " + b);
                assertEquals(a == b, Lanes.EQ(a, b), a + " == " + b);
                assertEquals(a != b, Lanes.NE(a, b), a + " != " + b);
            }
        }
        // Lanes 0, 1, 2, 3 (mod 4) hold (a, b) = (F, F), (T, F), (F, T), (T, T).
        VectorMask<Integer> a = Lanes.lanes(0).and(1).compare(jdk.incubator.vector.VectorOperators.NE, 0);
        VectorMask<Integer> b = Lanes.lanes(0).and(2).compare(jdk.incubator.vector.VectorOperators.NE, 0);
        boolean[] and = Lanes.AND(a, b).toArray(), or = Lanes.OR(a, b).toArray(), not = Lanes.NOT(a).toArray();
        boolean[] eq = Lanes.EQ(a, b).toArray(), ne = Lanes.NE(a, b).toArray();
        for (int i = 0; i < L; i++) {
            boolean x = (i & 1) != 0, y = (i & 2) != 0;
            assertEquals(x && y, and[i], "AND lane " + i);
            assertEquals(x || y, or[i], "OR lane " + i);
            assertEquals(!x, not[i], "NOT lane " + i);
            assertEquals(x == y, eq[i], "EQ lane " + i);
            assertEquals(x != y, ne[i], "NE lane " + i);
        }
        assertArrayEquals(new boolean[L], Lanes.bcast(false).toArray());
        assertEquals(L, Lanes.bcast(true).trueCount());
    }

    // ---- sources, loads and membership ----

    @Test
    void sourcesAndBiases() {
        int[] positions = Lanes.lanes(5).toArray();
        for (int i = 0; i < L; i++) assertEquals(5 + i, positions[i]);
        float[] s = new float[2 * L];
        for (int i = 0; i < s.length; i++) s[i] = i * 0.5f;
        float[] read = new float[L];
        Lanes.scores(s, L).intoArray(read, 0);
        for (int i = 0; i < L; i++) assertEquals((L + i) * 0.5f, read[i]);
        float[] stored = new float[2 * L];
        Lanes.storeScores(Lanes.bcast(3f), stored, L);
        for (int i = 0; i < 2 * L; i++) assertEquals(i < L ? 0f : 3f, stored[i], "storeScores at " + i);

        float[] bias = new float[2 * L];
        VectorMask<Integer> even = Lanes.lanes(0).and(1).compare(jdk.incubator.vector.VectorOperators.EQ, 0);
        assertEquals((L + 1) / 2, Lanes.storeBias(even, bias, L), "visible lanes counted");
        for (int i = 0; i < L; i++) {
            assertEquals(0f, bias[i], "untouched before the offset");
            assertEquals(i % 2 == 0 ? 0f : Float.NEGATIVE_INFINITY, bias[L + i], "bias lane " + i);
        }
        assertEquals(0, Lanes.storeBias(false, bias, 0));
        for (int i = 0; i < L; i++) assertEquals(Float.NEGATIVE_INFINITY, bias[i]);
        assertEquals(L, Lanes.storeBias(true, bias, 0));
        for (int i = 0; i < L; i++) assertEquals(0f, bias[i]);
    }

    @Test
    void loadsAndGathers() {
        int[] data = new int[3 * L];
        float[] values = new float[3 * L];
        for (int i = 0; i < data.length; i++) {
            data[i] = i % 3 == 0 ? 0 : 10 + i;
            values[i] = 0.25f * i;
        }
        assertEquals(data[7], Lanes.loadInt(data, 7));
        assertEquals(values[7], Lanes.loadFloat(values, 7));
        assertTrue(Lanes.loadBool(data, 7));
        assertFalse(Lanes.loadBool(data, 6));
        int[] buffer = new int[Lanes.LANE_BUFFER];
        IntVector offsets = Lanes.lanes(0).mul(2).add(1);
        int[] ints = Lanes.loadInt(data, offsets, buffer).toArray();
        float[] floats = Lanes.loadFloat(values, offsets, buffer).toArray();
        boolean[] bools = Lanes.loadBool(data, offsets, buffer).toArray();
        for (int i = 0; i < L; i++) {
            int at = 2 * i + 1;
            assertEquals(data[at], ints[i], "gathered int lane " + i);
            assertEquals(values[at], floats[i], "gathered float lane " + i);
            assertEquals(data[at] != 0, bools[i], "gathered bool lane " + i);
        }
    }

    @Test
    void membershipSearchesTheWholeRowAndOnlyIt() {
        // Rows of width 3: row r holds 10r, 10r + 1, 10r + 2.
        int width = 3, rows = L + 1;
        int[] table = new int[rows * width];
        for (int r = 0; r < rows; r++) for (int c = 0; c < width; c++) table[r * width + c] = 10 * r + c;
        assertTrue(Lanes.member(table, 12, width, width), "last element of row 1");
        assertTrue(Lanes.member(table, 10, width, width), "first element of row 1");
        assertFalse(Lanes.member(table, 20, width, width), "the next row's first element");
        assertFalse(Lanes.member(table, 2, width, width), "the previous row's last element");
        // Lane i asks row i for 10i + (i % 4): present for i % 4 < 3.
        IntVector value = Lanes.lanes(0).mul(10).add(Lanes.lanes(0).and(3));
        boolean[] found = Lanes.member(table, value, Lanes.lanes(0).mul(width), width, new int[Lanes.LANE_BUFFER]).toArray();
        for (int i = 0; i < L; i++) assertEquals(i % 4 < 3, found[i], "lane " + i);
    }

    // ---- helpers ----

    private interface IntVectorOp extends BinaryOperator<IntVector> {}

    private interface FloatVectorOp extends BinaryOperator<FloatVector> {}

    private static IntBinaryOperator scalarInt(BinaryOp op) {
        return switch (op) {
            case ADD -> Lanes::ADD;
            case SUB -> Lanes::SUB;
            case MUL -> Lanes::MUL;
            case DIV -> Lanes::DIV;
            case MOD -> Lanes::MOD;
            case SHL -> Lanes::SHL;
            case SHR -> Lanes::SHR;
            case BIT_AND -> Lanes::BIT_AND;
            case BIT_OR -> Lanes::BIT_OR;
            case BIT_XOR -> Lanes::BIT_XOR;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static IntVectorOp vectorInt(BinaryOp op) {
        int[] buffer = new int[Lanes.LANE_BUFFER];
        return switch (op) {
            case ADD -> Lanes::ADD;
            case SUB -> Lanes::SUB;
            case MUL -> Lanes::MUL;
            case DIV -> (a, b) -> Lanes.DIV(a, b, buffer);
            case MOD -> (a, b) -> Lanes.MOD(a, b, buffer);
            case SHL -> Lanes::SHL;
            case SHR -> Lanes::SHR;
            case BIT_AND -> Lanes::BIT_AND;
            case BIT_OR -> Lanes::BIT_OR;
            case BIT_XOR -> Lanes::BIT_XOR;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static boolean intCompare(BinaryOp op, int a, int b) {
        return switch (op) {
            case LT -> Lanes.LT(a, b);
            case LE -> Lanes.LE(a, b);
            case GT -> Lanes.GT(a, b);
            case GE -> Lanes.GE(a, b);
            case EQ -> Lanes.EQ(a, b);
            case NE -> Lanes.NE(a, b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static VectorMask<Integer> intCompare(BinaryOp op, IntVector a, IntVector b) {
        return switch (op) {
            case LT -> Lanes.LT(a, b);
            case LE -> Lanes.LE(a, b);
            case GT -> Lanes.GT(a, b);
            case GE -> Lanes.GE(a, b);
            case EQ -> Lanes.EQ(a, b);
            case NE -> Lanes.NE(a, b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static BinaryOperator<Float> scalarFloat(BinaryOp op) {
        return switch (op) {
            case ADD -> Lanes::ADD;
            case SUB -> Lanes::SUB;
            case MUL -> Lanes::MUL;
            case DIV -> Lanes::DIV;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static FloatVectorOp vectorFloat(BinaryOp op) {
        return switch (op) {
            case ADD -> Lanes::ADD;
            case SUB -> Lanes::SUB;
            case MUL -> Lanes::MUL;
            case DIV -> Lanes::DIV;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static boolean floatCompare(BinaryOp op, float a, float b) {
        return switch (op) {
            case LT -> Lanes.LT(a, b);
            case LE -> Lanes.LE(a, b);
            case GT -> Lanes.GT(a, b);
            case GE -> Lanes.GE(a, b);
            case EQ -> Lanes.EQ(a, b);
            case NE -> Lanes.NE(a, b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static VectorMask<Integer> floatCompare(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case LT -> Lanes.LT(a, b);
            case LE -> Lanes.LE(a, b);
            case GT -> Lanes.GT(a, b);
            case GE -> Lanes.GE(a, b);
            case EQ -> Lanes.EQ(a, b);
            case NE -> Lanes.NE(a, b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static Function<Float, Float> scalarFunction(Builtin fn) {
        return switch (fn) {
            case EXP -> Lanes::EXP;
            case LOG -> Lanes::LOG;
            case LOG2 -> Lanes::LOG2;
            case SQRT -> Lanes::SQRT;
            case TANH -> Lanes::TANH;
            case SIGMOID -> Lanes::SIGMOID;
            default -> throw new IllegalArgumentException(fn.name());
        };
    }

    private static Function<FloatVector, FloatVector> vectorFunction(Builtin fn) {
        return switch (fn) {
            case EXP -> Lanes::EXP;
            case LOG -> Lanes::LOG;
            case LOG2 -> Lanes::LOG2;
            case SQRT -> Lanes::SQRT;
            case TANH -> Lanes::TANH;
            case SIGMOID -> Lanes::SIGMOID;
            default -> throw new IllegalArgumentException(fn.name());
        };
    }

    private static void checkInts(String name, IntBinaryOperator expected, IntBinaryOperator scalar, BinaryOperator<IntVector> vector) {
        int[][] pairs = intPairs();
        int[] out = new int[L];
        for (int i = 0; i < pairs[0].length; i += L) {
            vector.apply(IntVector.fromArray(I, pairs[0], i), IntVector.fromArray(I, pairs[1], i)).intoArray(out, 0);
            for (int j = 0; j < L; j++) {
                int a = pairs[0][i + j], b = pairs[1][i + j], want = expected.applyAsInt(a, b);
                assertEquals(want, scalar.applyAsInt(a, b), name + "(" + a + ", " + b + ")");
                assertEquals(want, out[j], name + " lane (" + a + ", " + b + ")");
            }
        }
    }

    private static void checkIntUnary(String name, IntUnaryOperator expected, IntUnaryOperator scalar, Function<IntVector, IntVector> vector) {
        int[] a = intPairs()[1];
        int[] out = new int[L];
        for (int i = 0; i < a.length; i += L) {
            vector.apply(IntVector.fromArray(I, a, i)).intoArray(out, 0);
            for (int j = 0; j < L; j++) {
                int want = expected.applyAsInt(a[i + j]);
                assertEquals(want, scalar.applyAsInt(a[i + j]), name + "(" + a[i + j] + ")");
                assertEquals(want, out[j], name + " lane (" + a[i + j] + ")");
            }
        }
    }

    private static void checkFloats(String name, BinaryOperator<Float> expected, BinaryOperator<Float> scalar, BinaryOperator<FloatVector> vector,
                                    double tolerance) {
        float[][] pairs = floatPairs();
        float[] out = new float[L];
        for (int i = 0; i < pairs[0].length; i += L) {
            vector.apply(FloatVector.fromArray(F, pairs[0], i), FloatVector.fromArray(F, pairs[1], i)).intoArray(out, 0);
            for (int j = 0; j < L; j++) {
                float a = pairs[0][i + j], b = pairs[1][i + j], want = expected.apply(a, b);
                String what = name + "(" + a + ", " + b + ")";
                assertSame(want, scalar.apply(a, b), tolerance, what);
                assertSame(want, out[j], tolerance, what + " lane");
            }
        }
    }

    private static void checkFloatUnary(String name, Function<Float, Float> expected, Function<Float, Float> scalar,
                                        Function<FloatVector, FloatVector> vector, double tolerance) {
        float[] a = floatPairs()[1];
        float[] out = new float[L];
        for (int i = 0; i < a.length; i += L) {
            vector.apply(FloatVector.fromArray(F, a, i)).intoArray(out, 0);
            for (int j = 0; j < L; j++) {
                float want = expected.apply(a[i + j]);
                String what = name + "(" + a[i + j] + ")";
                assertSame(want, scalar.apply(a[i + j]), tolerance, what);
                assertSame(want, out[j], tolerance, what + " lane");
            }
        }
    }

    /**
     * Equal within {@code tolerance} relative (and, where a tolerance is given, a subnormal's
     * worth absolute: e^−88.5 is one, which the fitted functions flush to 0); NaN only for NaN,
     * infinities and the sign of zero exactly.
     */
    private static void assertSame(float expected, float actual, double tolerance, String what) {
        double slack = tolerance == 0 ? 0 : tolerance * Math.abs(expected) + Float.MIN_NORMAL;
        boolean same = Float.isNaN(expected) ? Float.isNaN(actual)
                : Float.isInfinite(expected) || expected == 0f ? Float.floatToIntBits(expected) == Float.floatToIntBits(actual)
                : Math.abs(expected - actual) <= slack;
        assertTrue(same, () -> what + ": expected " + expected + ", got " + actual);
    }
}
