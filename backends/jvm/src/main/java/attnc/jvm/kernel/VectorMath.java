package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.F;
import static attnc.jvm.kernel.Lanes.I;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x, tanh and log on vectors from additions, multiplications and FMAs only, each correctly
 * rounded by IEEE 754, so a kernel computes the same bits whichever way the JIT runs it. The
 * Vector API's own EXP, TANH and LOG do not: C2 calls a vector math library (SVML) while the
 * interpreter and C1 round each lane through Math, and their last bits differ, which would make
 * the same launch give different results early and late in a process (and break the backward's
 * deterministic mode). Within about 1 ulp (polynomials fitted on Chebyshev nodes, measured in
 * {@code VectorMathTest}); NaN, ±∞, zeros and subnormals as Math does.
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
        FloatVector t = x.mul(LOG2E).max(-151f).min(129f);
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

    /** tanh(x)/x as a polynomial in x² on [0, 0.625], degree 5: 1.04 ulp. */
    private static final float T1 = -3.333327472e-01f, T2 = 1.333136559e-01f, T3 = -5.373586342e-02f, T4 = 2.063030750e-02f, T5 = -5.697522312e-03f;

    /** tanh: x·P(x²) below 0.625 in magnitude (no cancellation), else ±(1 − 2/(e^(2|x|) + 1)). */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector x2 = x.mul(x);
        FloatVector small = x2.fma(T5, T4).fma(x2, FloatVector.broadcast(F, T3)).fma(x2, FloatVector.broadcast(F, T2))
                .fma(x2, FloatVector.broadcast(F, T1)).mul(x2).fma(x, x);
        FloatVector large = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(exp(a.add(a)).add(1f)));
        large = large.blend(large.neg(), x.lt(0f));
        return large.blend(small, a.lt(0.625f));
    }

    /** 1 / (1 + e^−x). */
    static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(F, 1f).div(exp(x.neg()).add(1f));
    }

    private static final float SQRT2 = 1.414213562f, LN2_HI16 = 6.914062500e-01f, LN2_LO16 = 1.740930560e-03f;
    /** atanh(s)/s as a polynomial in s² on [0, (√2 − 1)/(√2 + 1)], degree 4: 1.44 ulp. */
    private static final float A1 = 3.333333135e-01f, A2 = 2.000017166e-01f, A3 = 1.426850706e-01f, A4 = 1.179261580e-01f;

    /**
     * log: x = m·2^e with m in [√½, √2) (subnormals scaled by 2^24 first), log m = 2·atanh(s) with
     * s = (m − 1)/(m + 1), plus e·ln2 in two parts (the first exact for any e).
     */
    static FloatVector log(FloatVector x) {
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
