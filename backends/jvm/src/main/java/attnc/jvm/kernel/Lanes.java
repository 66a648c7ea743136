package attnc.jvm.kernel;

import attnc.ir.Semantics;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The operations generated code calls, one static method per {@link attnc.lower.Opcode} and
 * operand shape: scalars ({@code int}, {@code float}, {@code boolean}) for registers that do not
 * change with kv, and {@link IntVector}, {@link FloatVector} and {@code VectorMask<Integer>} for
 * registers that do, one lane per key. The renderer emits only {@code invokestatic} calls to
 * these, named after the opcode; every method is a few bytecodes, so C2 inlines them into the
 * generated hook and the vectors never leave registers; each casts the vector it calls a
 * method on to its exact class first ({@link #FLOATS}), since a hook's registers may come from
 * its loops. Semantics follow
 * {@link attnc.ir.Semantics}; where the Vector API has no matching lanewise operation (floored
 * integer division, floor, float to int) a lane loop keeps the exact meaning, in a buffer the
 * caller passes (a thread's {@code Scratch.laneBuffer}, {@link #LANE_BUFFER} ints).
 */
public final class Lanes {
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Queries per vector. */
    public static final int L = F.length();
    /** Ints in the per-thread buffer that gathers and lane loops take (two vectors' worth). */
    public static final int LANE_BUFFER = 2 * L;
    private static final IntVector IOTA = IntVector.zero(I).addIndex(1);
    /**
     * The species' own vector and mask classes, which are final; {@code FLOATS.cast(v)} gives C2
     * the exact class of v. Every Vector API call is a virtual call on the abstract FloatVector,
     * IntVector or VectorMask, and C2 inlines it, keeping the vector out of the heap, only where it
     * knows the receiver's class: from the operation that made it, or from the receiver types the
     * call's profile recorded. A vector that a loop carries, or that two paths merge, or that
     * arrives as a parameter of a method compiled on its own, is typed as the abstract class, so
     * calls on it hang on the profile; and a method that ran unprofiled (tier 2, which the tiered
     * policy picks while C2's queue is long) reaches C2 with none. Its C2 code then makes those
     * calls virtual and boxes every vector through them, for good (13.7 MB a launch in 1 of 8 runs
     * of CallerMemoryTest; 176 MB with -XX:TypeProfileWidth=0, which records no receiver types).
     * Such a receiver is cast first, inline: Class.cast of a constant class is an intrinsic, so it
     * needs neither a profile nor an inlining decision, and C2 drops it where the class is known.
     */
    public static final Class<? extends FloatVector> FLOATS = F.vectorType().asSubclass(FloatVector.class);
    public static final Class<? extends IntVector> INTS = I.vectorType().asSubclass(IntVector.class);
    @SuppressWarnings("unchecked")
    public static final Class<? extends VectorMask<Integer>> MASKS = (Class<? extends VectorMask<Integer>>) I.maskAll(false).getClass();

    private Lanes() {}

    // ---- lane sources ----
    /** first, first + 1, ..., first + L − 1: the positions of a vector of queries. */
    public static IntVector lanes(int first) { return IOTA.add(first); }
    public static FloatVector scores(float[] s, int off) { return FloatVector.fromArray(F, s, off); }
    public static void storeScores(FloatVector v, float[] s, int off) { FLOATS.cast(v).intoArray(s, off); }

    /** Writes 0 where visible and -inf where masked; returns the number of visible lanes. */
    public static int storeBias(VectorMask<Integer> visible, float[] bias, int off) {
        VectorMask<Integer> v = MASKS.cast(visible);
        FloatVector.broadcast(F, Float.NEGATIVE_INFINITY).blend(0f, v.cast(F)).intoArray(bias, off);
        return v.trueCount();
    }

    public static int storeBias(boolean visible, float[] bias, int off) {
        FloatVector.broadcast(F, visible ? 0f : Float.NEGATIVE_INFINITY).intoArray(bias, off);
        return visible ? L : 0;
    }

    // ---- spills: a register handed from one pass of a split hook to a later one (attnc.jvm.emit.PassPlanner) ----
    public static void spill(float x, float[] a, int at) { a[at] = x; }
    public static void spill(int x, int[] a, int at) { a[at] = x; }
    public static void spill(boolean x, int[] a, int at) { a[at] = x ? 1 : 0; }
    public static void spill(FloatVector x, float[] a, int at) { FLOATS.cast(x).intoArray(a, at); }
    public static void spill(IntVector x, int[] a, int at) { INTS.cast(x).intoArray(a, at); }
    /** A mask as ints: −1 where set, 0 where not. */
    public static void spill(VectorMask<Integer> x, int[] a, int at) { IntVector.zero(I).blend(-1, MASKS.cast(x)).intoArray(a, at); }
    public static float spilledFloat(float[] a, int at) { return a[at]; }
    public static int spilledInt(int[] a, int at) { return a[at]; }
    public static boolean spilledBool(int[] a, int at) { return a[at] != 0; }
    public static FloatVector spilledFloats(float[] a, int at) { return FloatVector.fromArray(F, a, at); }
    public static IntVector spilledInts(int[] a, int at) { return IntVector.fromArray(I, a, at); }
    public static VectorMask<Integer> spilledMask(int[] a, int at) { return IntVector.fromArray(I, a, at).compare(VectorOperators.NE, 0); }

    public static IntVector bcast(int x) { return IntVector.broadcast(I, x); }
    public static FloatVector bcast(float x) { return FloatVector.broadcast(F, x); }
    public static VectorMask<Integer> bcast(boolean x) { return x ? I.maskAll(true) : I.maskAll(false); }

    // ---- loads (indices already clamped by the lowering) ----
    public static int loadInt(int[] data, int offset) { return data[offset]; }
    public static float loadFloat(float[] data, int offset) { return data[offset]; }
    public static boolean loadBool(int[] data, int offset) { return data[offset] != 0; }

    /*
     * Gathers and the lane loops below take the calling thread's buffer of 2·L ints ({@code lanes},
     * from its Scratch): the Vector API gathers through an int[] index map, and IntVector.toArray()
     * made one per call, which C2 does not remove (17 MB a launch for a T5 bias at N = 1024).
     */
    public static IntVector loadInt(int[] data, IntVector offsets, int[] lanes) {
        INTS.cast(offsets).intoArray(lanes, 0);
        return IntVector.fromArray(I, data, 0, lanes, 0);
    }

    public static FloatVector loadFloat(float[] data, IntVector offsets, int[] lanes) {
        INTS.cast(offsets).intoArray(lanes, 0);
        return FloatVector.fromArray(F, data, 0, lanes, 0);
    }

    public static VectorMask<Integer> loadBool(int[] data, IntVector offsets, int[] lanes) {
        return loadInt(data, offsets, lanes).compare(VectorOperators.NE, 0);
    }

    public static boolean member(int[] data, int value, int rowOffset, int width) {
        for (int i = 0; i < width; i++) if (data[rowOffset + i] == value) return true;
        return false;
    }

    public static VectorMask<Integer> member(int[] data, IntVector value, IntVector rowOffset, int width, int[] lanes) {
        VectorMask<Integer> found = I.maskAll(false);
        for (int i = 0; i < width; i++) found = MASKS.cast(found).or(loadInt(data, INTS.cast(rowOffset).add(i), lanes).compare(VectorOperators.EQ, value));
        return found;
    }

    // ---- int scalars ----
    public static int ADD(int a, int b) { return a + b; }
    public static int SUB(int a, int b) { return a - b; }
    public static int MUL(int a, int b) { return a * b; }
    public static int DIV(int a, int b) { return b == 0 ? 0 : Math.floorDiv(a, b); }
    public static int MOD(int a, int b) { return b == 0 ? 0 : Math.floorMod(a, b); }
    public static int SHL(int a, int b) { return a << b; }
    public static int SHR(int a, int b) { return a >> b; }
    public static int BIT_AND(int a, int b) { return a & b; }
    public static int BIT_OR(int a, int b) { return a | b; }
    public static int BIT_XOR(int a, int b) { return a ^ b; }
    public static int MIN(int a, int b) { return Math.min(a, b); }
    public static int MAX(int a, int b) { return Math.max(a, b); }
    public static int NEG(int a) { return -a; }
    public static int BIT_NOT(int a) { return ~a; }
    public static int ABS(int a) { return Math.abs(a); }
    public static int BITLEN(int a) { return Semantics.bitlen(a); }
    public static float I2F(int a) { return a; }
    public static boolean LT(int a, int b) { return a < b; }
    public static boolean LE(int a, int b) { return a <= b; }
    public static boolean GT(int a, int b) { return a > b; }
    public static boolean GE(int a, int b) { return a >= b; }
    public static boolean EQ(int a, int b) { return a == b; }
    public static boolean NE(int a, int b) { return a != b; }
    public static int SELECT(boolean c, int a, int b) { return c ? a : b; }

    // ---- float scalars ----
    public static float ADD(float a, float b) { return a + b; }
    public static float SUB(float a, float b) { return a - b; }
    public static float MUL(float a, float b) { return a * b; }
    public static float DIV(float a, float b) { return a / b; }
    public static float MIN(float a, float b) { return Math.min(a, b); }
    public static float MAX(float a, float b) { return Math.max(a, b); }
    public static float NEG(float a) { return -a; }
    public static float ABS(float a) { return Math.abs(a); }
    public static float EXP(float a) { return (float) Math.exp(a); }
    public static float LOG(float a) { return (float) Math.log(a); }
    public static float LOG2(float a) { return (float) (Math.log(a) / Math.log(2.0)); }
    public static float SQRT(float a) { return (float) Math.sqrt(a); }
    public static float TANH(float a) { return (float) Math.tanh(a); }
    public static float SIGMOID(float a) { return (float) Semantics.sigmoid(a); }
    public static float FLOOR(float a) { return (float) Math.floor(a); }
    public static int F2I(float a) { return Semantics.toInt(a); }
    public static boolean LT(float a, float b) { return a < b; }
    public static boolean LE(float a, float b) { return a <= b; }
    public static boolean GT(float a, float b) { return a > b; }
    public static boolean GE(float a, float b) { return a >= b; }
    public static boolean EQ(float a, float b) { return a == b; }
    public static boolean NE(float a, float b) { return a != b; }
    public static float SELECT(boolean c, float a, float b) { return c ? a : b; }

    // ---- bool scalars ----
    public static boolean AND(boolean a, boolean b) { return a & b; }
    public static boolean OR(boolean a, boolean b) { return a | b; }
    public static boolean NOT(boolean a) { return !a; }
    public static boolean EQ(boolean a, boolean b) { return a == b; }
    public static boolean NE(boolean a, boolean b) { return a != b; }
    public static boolean SELECT(boolean c, boolean a, boolean b) { return c ? a : b; }

    // ---- int vectors ----
    public static IntVector ADD(IntVector a, IntVector b) { return INTS.cast(a).add(b); }
    public static IntVector SUB(IntVector a, IntVector b) { return INTS.cast(a).sub(b); }
    public static IntVector MUL(IntVector a, IntVector b) { return INTS.cast(a).mul(b); }
    public static IntVector DIV(IntVector a, IntVector b, int[] lanes) { return laneWise(a, b, true, lanes); }
    public static IntVector MOD(IntVector a, IntVector b, int[] lanes) { return laneWise(a, b, false, lanes); }
    public static IntVector SHL(IntVector a, IntVector b) { return INTS.cast(a).lanewise(VectorOperators.LSHL, b); }
    public static IntVector SHR(IntVector a, IntVector b) { return INTS.cast(a).lanewise(VectorOperators.ASHR, b); }
    public static IntVector BIT_AND(IntVector a, IntVector b) { return INTS.cast(a).and(b); }
    public static IntVector BIT_OR(IntVector a, IntVector b) { return INTS.cast(a).or(b); }
    public static IntVector BIT_XOR(IntVector a, IntVector b) { return INTS.cast(a).lanewise(VectorOperators.XOR, b); }
    public static IntVector MIN(IntVector a, IntVector b) { return INTS.cast(a).min(b); }
    public static IntVector MAX(IntVector a, IntVector b) { return INTS.cast(a).max(b); }
    public static IntVector NEG(IntVector a) { return INTS.cast(a).neg(); }
    public static IntVector BIT_NOT(IntVector a) { return INTS.cast(a).not(); }
    public static IntVector ABS(IntVector a) { return INTS.cast(a).abs(); }
    public static IntVector BITLEN(IntVector a) { return bcast(32).sub(INTS.cast(a).lanewise(VectorOperators.LEADING_ZEROS_COUNT)); }
    public static FloatVector I2F(IntVector a) { return (FloatVector) INTS.cast(a).convertShape(VectorOperators.I2F, F, 0); }
    public static VectorMask<Integer> LT(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.LT, b); }
    public static VectorMask<Integer> LE(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.LE, b); }
    public static VectorMask<Integer> GT(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.GT, b); }
    public static VectorMask<Integer> GE(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.GE, b); }
    public static VectorMask<Integer> EQ(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.EQ, b); }
    public static VectorMask<Integer> NE(IntVector a, IntVector b) { return INTS.cast(a).compare(VectorOperators.NE, b); }
    public static IntVector SELECT(VectorMask<Integer> c, IntVector a, IntVector b) { return INTS.cast(b).blend(a, c); }

    /** Floored division or modulo with a zero divisor giving 0; no lanewise instruction exists for it. */
    private static IntVector laneWise(IntVector a, IntVector b, boolean divide, int[] lanes) {
        INTS.cast(a).intoArray(lanes, 0);
        INTS.cast(b).intoArray(lanes, L);
        for (int i = 0; i < L; i++) lanes[i] = divide ? DIV(lanes[i], lanes[L + i]) : MOD(lanes[i], lanes[L + i]);
        return IntVector.fromArray(I, lanes, 0);
    }

    // ---- float vectors ----
    public static FloatVector ADD(FloatVector a, FloatVector b) { return FLOATS.cast(a).add(b); }
    public static FloatVector SUB(FloatVector a, FloatVector b) { return FLOATS.cast(a).sub(b); }
    public static FloatVector MUL(FloatVector a, FloatVector b) { return FLOATS.cast(a).mul(b); }
    public static FloatVector DIV(FloatVector a, FloatVector b) { return FLOATS.cast(a).div(b); }
    public static FloatVector MIN(FloatVector a, FloatVector b) { return FLOATS.cast(a).min(b); }
    public static FloatVector MAX(FloatVector a, FloatVector b) { return FLOATS.cast(a).max(b); }
    public static FloatVector NEG(FloatVector a) { return FLOATS.cast(a).neg(); }
    public static FloatVector ABS(FloatVector a) { return FLOATS.cast(a).abs(); }
    public static FloatVector EXP(FloatVector a) { return FLOATS.cast(a).lanewise(VectorOperators.EXP); }
    public static FloatVector LOG(FloatVector a) { return FLOATS.cast(a).lanewise(VectorOperators.LOG); }
    public static FloatVector LOG2(FloatVector a) { return FLOATS.cast(a).lanewise(VectorOperators.LOG).mul((float) (1 / Math.log(2.0))); }
    public static FloatVector SQRT(FloatVector a) { return FLOATS.cast(a).sqrt(); }
    /** A rational fit inline ({@link VectorMath#tanh}): the Vector API's TANH is a call into SVML per vector of scores. */
    public static FloatVector TANH(FloatVector a) { return VectorMath.tanh(a); }
    public static FloatVector SIGMOID(FloatVector a) { return VectorMath.sigmoid(a); }

    /** Lane by lane through the buffer, as float bits: the Vector API has no floor. */
    public static FloatVector FLOOR(FloatVector a, int[] lanes) {
        FLOATS.cast(a).reinterpretAsInts().intoArray(lanes, 0);
        for (int i = 0; i < L; i++) lanes[i] = Float.floatToRawIntBits((float) Math.floor(Float.intBitsToFloat(lanes[i])));
        return IntVector.fromArray(I, lanes, 0).reinterpretAsFloats();
    }

    public static IntVector F2I(FloatVector a, int[] lanes) {
        FLOATS.cast(a).reinterpretAsInts().intoArray(lanes, 0);
        for (int i = 0; i < L; i++) lanes[i] = Semantics.toInt(Float.intBitsToFloat(lanes[i]));
        return IntVector.fromArray(I, lanes, 0);
    }

    public static VectorMask<Integer> LT(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.LT, b).cast(I); }
    public static VectorMask<Integer> LE(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.LE, b).cast(I); }
    public static VectorMask<Integer> GT(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.GT, b).cast(I); }
    public static VectorMask<Integer> GE(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.GE, b).cast(I); }
    public static VectorMask<Integer> EQ(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.EQ, b).cast(I); }
    public static VectorMask<Integer> NE(FloatVector a, FloatVector b) { return FLOATS.cast(a).compare(VectorOperators.NE, b).cast(I); }
    public static FloatVector SELECT(VectorMask<Integer> c, FloatVector a, FloatVector b) { return FLOATS.cast(b).blend(a, MASKS.cast(c).cast(F)); }

    // ---- bool vectors ----
    public static VectorMask<Integer> AND(VectorMask<Integer> a, VectorMask<Integer> b) { return MASKS.cast(a).and(b); }
    public static VectorMask<Integer> OR(VectorMask<Integer> a, VectorMask<Integer> b) { return MASKS.cast(a).or(b); }
    public static VectorMask<Integer> NOT(VectorMask<Integer> a) { return MASKS.cast(a).not(); }
    public static VectorMask<Integer> EQ(VectorMask<Integer> a, VectorMask<Integer> b) { return MASKS.cast(a).eq(b); }
    public static VectorMask<Integer> NE(VectorMask<Integer> a, VectorMask<Integer> b) { return MASKS.cast(a).eq(b).not(); }
    public static VectorMask<Integer> SELECT(VectorMask<Integer> c, VectorMask<Integer> a, VectorMask<Integer> b) { return MASKS.cast(a).and(c).or(MASKS.cast(b).andNot(c)); }
}
