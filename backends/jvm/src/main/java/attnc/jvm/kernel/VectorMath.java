package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.I;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x, tanh, sigmoid and log on vectors from additions, multiplications, divisions and FMAs only,
 * each correctly rounded by IEEE 754, so a kernel computes the same bits whichever way the JIT
 * runs it. The Vector API's own EXP, TANH and LOG do not: C2 calls a vector math library (SVML)
 * while the interpreter and C1 round each lane through Math, and their last bits differ, which
 * would make the same backward launch give different gradients early and late in a process (and
 * break its deterministic mode). Within 2 ulp (tanh 5, sigmoid 3; fitted on Chebyshev nodes,
 * measured in {@code VectorMathTest}); NaN, ±∞, zeros and subnormals as Math does. Each method
 * first gives C2 its argument's exact class ({@link Lanes#FLOATS}), so that its vector calls are
 * inlined with or without a profile, wherever it is compiled.
 */
final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.442695041f, LN2_HI = 6.931471825e-01f, LN2_LO = -1.904654300e-09f;
    private static final float ROUND = 0x1.8p23f;
    /** e^r on [−ln2/2, ln2/2], degree 6: 0.81 ulp. */
    private static final float E2 = 4.999999106e-01f, E3 = 1.666642129e-01f, E4 = 4.166835919e-02f, E5 = 8.374771103e-03f, E6 = 1.382942079e-03f;

    /**
     * e^x: n = round(x·log2 e), r = x − n·ln2 (Cody–Waite, two FMAs), e^r by a polynomial, times
     * 2^n applied as two factors so that every n from −151 to 129 stays a normal float's exponent.
     */
    static FloatVector exp(FloatVector x) {
        x = Lanes.FLOATS.cast(x);
        FloatVector t = Tiles.atMost(Tiles.atLeast(x.mul(LOG2E), -151f), 129f);
        FloatVector shifted = t.add(ROUND);
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(E6, E5).fma(r, FloatVector.broadcast(F, E4)).fma(r, FloatVector.broadcast(F, E3))
                .fma(r, FloatVector.broadcast(F, E2)).fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
        IntVector k = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
        IntVector half = k.lanewise(VectorOperators.ASHR, 1);
        FloatVector first = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector second = k.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = p.mul(first).mul(second);
        // Far below: 0 even where the polynomial's rounding would leave a subnormal crumb.
        result = result.blend(0f, x.lt(-104f));
        return result.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /**
     * e^x for x ≤ 0, as sigmoid needs it: the same reduction and polynomial as {@link #exp}
     * with one scale factor (no overflow to guard against); below −87.3, exactly 0.
     */
    static FloatVector expNonPositive(FloatVector x) {
        x = Lanes.FLOATS.cast(x);
        FloatVector t = Tiles.atLeast(x.mul(LOG2E), -127f);
        FloatVector shifted = t.add(ROUND);
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(E6, E5).fma(r, FloatVector.broadcast(F, E4)).fma(r, FloatVector.broadcast(F, E3))
                .fma(r, FloatVector.broadcast(F, E2)).fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
        FloatVector scale = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale).blend(0f, x.lt(-87.3f));
    }

    /** tanh(x)/x ≈ P(x²)/Q(x²) on [0, 9], fitted on Chebyshev nodes: within 5 ulp (3e-7 absolute where tanh is near 1). */
    private static final float P0 = 9.999999926e-01f, P1 = 1.338501986e-01f, P2 = 3.500200324e-03f, P3 = 2.067963296e-05f, P4 = 1.344235515e-08f;
    private static final float Q1 = 4.671834103e-01f, Q2 = 2.589487087e-02f, Q3 = 3.292947290e-04f, Q4 = 7.814576766e-07f;

    /**
     * tanh as x·P(x²)/Q(x²) with x clamped to [−9, 9] (beyond, tanh is 1 in float): one path, no
     * exp, a dozen vector operations, so that a hook calling it stays within what C2 inlines (a
     * two-path version with exp pushed the softcap score hook past C2's node budget, and its
     * vectors were boxed).
     */
    static FloatVector tanh(FloatVector x) {
        x = Lanes.FLOATS.cast(x);
        FloatVector c = Tiles.atMost(Tiles.atLeast(x, -9f), 9f);
        FloatVector t = c.mul(c);
        FloatVector p = t.fma(P4, P3).fma(t, FloatVector.broadcast(F, P2)).fma(t, FloatVector.broadcast(F, P1)).fma(t, FloatVector.broadcast(F, P0));
        FloatVector q = t.fma(Q4, Q3).fma(t, FloatVector.broadcast(F, Q2)).fma(t, FloatVector.broadcast(F, Q1)).fma(t, FloatVector.broadcast(F, 1f));
        return Tiles.atMost(Tiles.atLeast(c.mul(p).div(q), -1f), 1f);
    }

    /** 1 / (1 + e^−x), as 1/(1 + e) for x ≥ 0 and e/(1 + e) below, with e = e^(−|x|) ≤ 1. */
    static FloatVector sigmoid(FloatVector x) {
        x = Lanes.FLOATS.cast(x);
        FloatVector e = expNonPositive(x.abs().neg());
        FloatVector inverse = FloatVector.broadcast(F, 1f).div(e.add(1f));
        return inverse.blend(e.mul(inverse), x.lt(0f));
    }

    private static final float SQRT2 = 1.414213562f, LN2_HI16 = 6.914062500e-01f, LN2_LO16 = 1.740930560e-03f;
    /** atanh(s)/s as a polynomial in s² on [0, (√2 − 1)/(√2 + 1)], degree 4: 1.44 ulp. */
    private static final float A1 = 3.333333135e-01f, A2 = 2.000017166e-01f, A3 = 1.426850706e-01f, A4 = 1.179261580e-01f;

    /**
     * log: x = m·2^e with m in [√½, √2) (subnormals scaled by 2^24 first), log m = 2·atanh(s) with
     * s = (m − 1)/(m + 1), plus e·ln2 in two parts (the first exact for any e).
     */
    static FloatVector log(FloatVector x) {
        x = Lanes.FLOATS.cast(x);
        VectorMask<Float> tiny = x.lt(Float.MIN_NORMAL);
        FloatVector y = x.blend(x.mul(16777216f), tiny);
        IntVector bits = y.reinterpretAsInts();
        IntVector e = bits.lanewise(VectorOperators.LSHR, 23).sub(127).sub(IntVector.zero(I).blend(24, tiny.cast(I)));
        FloatVector m = bits.and(0x007fffff).or(0x3f800000).reinterpretAsFloats();
        VectorMask<Float> high = m.compare(VectorOperators.GT, SQRT2);
        m = m.blend(m.mul(0.5f), high);
        e = e.add(IntVector.zero(I).blend(1, high.cast(I)));
        FloatVector s = m.sub(1f).div(m.add(1f));
        FloatVector s2 = s.mul(s);
        FloatVector p = s2.fma(A4, A3).fma(s2, FloatVector.broadcast(F, A2)).fma(s2, FloatVector.broadcast(F, A1)).mul(s2);
        FloatVector twoS = s.add(s);
        FloatVector logM = p.fma(twoS, twoS);
        FloatVector ef = (FloatVector) e.convert(VectorOperators.I2F, 0);
        FloatVector result = ef.fma(FloatVector.broadcast(F, LN2_HI16), ef.fma(FloatVector.broadcast(F, LN2_LO16), logM));
        result = result.blend(Float.NEGATIVE_INFINITY, x.eq(0f));
        result = result.blend(Float.POSITIVE_INFINITY, x.eq(Float.POSITIVE_INFINITY));
        return result.blend(Float.NaN, x.lt(0f).or(x.test(VectorOperators.IS_NAN)));
    }
}
