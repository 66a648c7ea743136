package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorMath} against Math in double: within 2 ulp (sigmoid, a composition of exp, add and divide: 3; tanh, a rational
 * fit: 5), special values exact.
 */
class VectorMathTest {
    private static final int L = Lanes.L;

    /** Largest error in ulps of the correctly rounded result, over {@code x}. */
    private static double ulps(UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float[] x) {
        double worst = 0;
        float[] y = new float[L];
        for (int i = 0; i + L <= x.length; i += L) {
            f.apply(FloatVector.fromArray(Lanes.F, x, i)).intoArray(y, 0);
            for (int j = 0; j < L; j++) {
                double e = exact.applyAsDouble(x[i + j]);
                float rounded = (float) e;
                if (Float.isNaN(rounded) || Float.isInfinite(rounded) || rounded == 0f) {
                    assertEquals(rounded, y[j], 0f, "at " + x[i + j]);
                    continue;
                }
                worst = Math.max(worst, Math.abs(y[j] - e) / Math.ulp(rounded));
            }
        }
        return worst;
    }

    private static float[] uniform(float lo, float hi, int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * r.nextFloat();
        return x;
    }

    private static float[] special(float... values) {
        float[] x = new float[(values.length + L - 1) / L * L];
        java.util.Arrays.fill(x, values[0]);
        System.arraycopy(values, 0, x, 0, values.length);
        return x;
    }

    @Test
    void exp() {
        for (float[] x : new float[][] {uniform(-1, 1, 1 << 16, 1), uniform(-104, 89, 1 << 16, 2), uniform(-0.001f, 0.001f, 1 << 12, 3)}) {
            double u = ulps(VectorMath::exp, Math::exp, x);
            assertTrue(u <= 2, "exp: " + u + " ulp");
        }
        ulps(VectorMath::exp, Math::exp, special(Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, 88.72f, 88.73f, -87.3f,
                -100f, -103.9f, -104.5f, -200f, 200f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE));
    }

    @Test
    void tanh() {
        for (float[] x : new float[][] {uniform(-1, 1, 1 << 16, 4), uniform(-12, 12, 1 << 16, 5), uniform(-0.001f, 0.001f, 1 << 12, 6),
                uniform(0.6f, 0.65f, 1 << 12, 7)}) {
            double u = ulps(VectorMath::tanh, Math::tanh, x);
            assertTrue(u <= 5, "tanh: " + u + " ulp");
        }
        ulps(VectorMath::tanh, Math::tanh, special(Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, 1e-30f, -1e-30f, 0.625f, -0.625f, 50f));
    }

    @Test
    void sigmoid() {
        double u = ulps(VectorMath::sigmoid, x -> 1 / (1 + Math.exp(-x)), uniform(-30, 30, 1 << 16, 8));
        assertTrue(u <= 3, "sigmoid: " + u + " ulp");
        ulps(VectorMath::sigmoid, x -> 1 / (1 + Math.exp(-x)), special(Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -200f, 200f));
    }

    @Test
    void log() {
        for (float[] x : new float[][] {uniform(0.5f, 2f, 1 << 16, 9), uniform(0, 1e6f, 1 << 16, 10), uniform(0.999f, 1.001f, 1 << 12, 11),
                uniform(0, 1e-40f, 1 << 12, 12)}) {
            double u = ulps(VectorMath::log, Math::log, x);
            assertTrue(u <= 2, "log: " + u + " ulp");
        }
        ulps(VectorMath::log, Math::log, special(Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, -1f, 1f,
                Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE));
    }
}
