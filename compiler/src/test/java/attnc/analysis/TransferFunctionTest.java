package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Each transfer function alone: random operand ranges (small, wide, near the int limits, across
 * zero), random values inside them, and the exact result under {@link Semantics} must lie inside
 * the computed bound. Catches a wrong rule with a direct counterexample, before the
 * whole-mask soundness test would.
 */
class TransferFunctionTest {
    private static final Box BOX = new Box(0, 0, 0, 0, 0, 0, 0, 0);

    @Property(tries = 3000)
    void intOperationsContainTheirResults(@ForAll long seed) {
        Random random = new Random(seed);
        IntBound a = range(random), b = range(random);
        for (BinaryOp op : List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MOD, BinaryOp.SHL,
                BinaryOp.SHR, BinaryOp.BIT_AND, BinaryOp.BIT_OR, BinaryOp.BIT_XOR)) {
            IntBound r = IntOps.binary(op, a, b, BOX);
            for (int i = 0; i < 30; i++) {
                int x = sample(a, random), y = sample(b, random);
                int v = Semantics.intBinary(op, x, y);
                assertTrue(r.lo() <= v && v <= r.hi(), x + " " + op.symbol() + " " + y + " = " + v + " outside " + r + " for " + a + ", " + b);
            }
        }
        IntBound neg = IntOps.negate(a, BOX), not = IntOps.bitNot(a, BOX), abs = IntOps.abs(a, BOX), len = IntOps.bitlen(a);
        IntBound min = IntOps.min(a, b, BOX), max = IntOps.max(a, b, BOX);
        for (int i = 0; i < 30; i++) {
            int x = sample(a, random), y = sample(b, random);
            assertTrue(inside(neg, -x) && inside(not, ~x) && inside(abs, Math.abs(x)) && inside(len, Semantics.bitlen(x)),
                    "unary of " + x + " in " + a);
            assertTrue(inside(min, Math.min(x, y)) && inside(max, Math.max(x, y)), "min/max of " + x + ", " + y);
        }
    }

    @Property(tries = 2000)
    void floatOperationsContainTheirResults(@ForAll long seed) {
        Random random = new Random(seed);
        FloatBound a = floatRange(random), b = floatRange(random);
        for (BinaryOp op : List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV)) {
            FloatBound r = FloatOps.binary(op, a, b);
            for (int i = 0; i < 30; i++) {
                double x = sample(a, random), y = sample(b, random);
                requireInside(r, Semantics.floatBinary(op, x, y), x + " " + op.symbol() + " " + y);
            }
        }
        for (Builtin fn : List.of(Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.SQRT, Builtin.TANH, Builtin.SIGMOID, Builtin.FLOOR)) {
            FloatBound r = FloatOps.monotone(fn, a);
            for (int i = 0; i < 30; i++) {
                double x = sample(a, random);
                requireInside(r, Semantics.floatCall(fn, x), fn.spelling() + "(" + x + ")");
            }
        }
        FloatBound neg = FloatOps.negate(a), abs = FloatOps.abs(a), min = FloatOps.min(a, b), max = FloatOps.max(a, b);
        for (int i = 0; i < 30; i++) {
            double x = sample(a, random), y = sample(b, random);
            requireInside(neg, -x, "-(" + x + ")");
            requireInside(abs, Math.abs(x), "abs(" + x + ")");
            requireInside(min, Math.min(x, y), "min(" + x + ", " + y + ")");
            requireInside(max, Math.max(x, y), "max(" + x + ", " + y + ")");
        }
        IntBound toInt = FloatOps.toInt(a);
        for (int i = 0; i < 30; i++) {
            double x = sample(a, random);
            assertTrue(inside(toInt, Semantics.toInt(x)), "int(" + x + ") outside " + toInt);
        }
    }

    private static void requireInside(FloatBound r, double v, String what) {
        if (Double.isNaN(v)) assertTrue(r.maybeNaN(), what + " is NaN but " + r + " says it cannot be");
        else assertTrue(r.lo() <= v && v <= r.hi(), what + " = " + v + " outside " + r);
    }

    private static boolean inside(IntBound r, long v) {
        return r.lo() <= v && v <= r.hi();
    }

    private static IntBound range(Random random) {
        long x = endpoint(random), y = random.nextInt(3) == 0 ? x : endpoint(random);
        return IntBound.range(Math.min(x, y), Math.max(x, y));
    }

    private static long endpoint(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> random.nextInt();
            case 1 -> Integer.MAX_VALUE - random.nextInt(3);
            case 2 -> Integer.MIN_VALUE + random.nextInt(3);
            case 3 -> random.nextInt(2000) - 1000;
            default -> random.nextInt(70) - 5;
        };
    }

    private static int sample(IntBound r, Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> (int) r.lo();
            case 1 -> (int) r.hi();
            default -> (int) (r.lo() + (long) (random.nextDouble() * (r.hi() - r.lo() + 1)));
        };
    }

    private static FloatBound floatRange(Random random) {
        double x = floatEndpoint(random), y = random.nextInt(3) == 0 ? x : floatEndpoint(random);
        return new FloatBound(Math.min(x, y), Math.max(x, y), false);
    }

    private static double floatEndpoint(Random random) {
        return switch (random.nextInt(7)) {
            case 0 -> Double.POSITIVE_INFINITY;
            case 1 -> Double.NEGATIVE_INFINITY;
            case 2 -> random.nextBoolean() ? 0.0 : -0.0;
            case 3 -> random.nextGaussian() * 1e300;
            default -> random.nextGaussian() * 10;
        };
    }

    private static double sample(FloatBound r, Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> r.lo();
            case 1 -> r.hi();
            default -> {
                double lo = Math.max(r.lo(), -1e308), hi = Math.min(r.hi(), 1e308);
                yield lo > hi ? r.lo() : Math.min(hi, lo + random.nextDouble() * (hi / 2 - lo / 2) * 2);
            }
        };
    }
}
