package attnc.jvm.kernel;

import static attnc.jvm.kernel.Lanes.L;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tile arithmetic of {@link Tiles}, {@link DecodeTiles} and {@link GradTiles} against the
 * formulas in their javadoc, written as plain loops in double. Shapes are picked so that every
 * blocked path and every remainder runs: rows 12 (six-row blocks where the CPU has them) + 4 + 1,
 * keys 12 + 8, columns a 4-vector block and one more vector, key counts with a remainder, and
 * nonzero offsets everywhere an offset is taken; outputs start nonzero where the method adds into
 * them. A product of k terms in float is within k·2⁻²⁴ of the exact one relative to the sum of the
 * terms' magnitudes: 1e-6 of that here; exponentials are the 4-ulp fit (1e-6 relative).
 */
class TileArithmeticTest {
    private static final double TOLERANCE = 1e-6;
    private final Random random = new Random(16);

    // ---- Tiles (queries in lanes) ----

    @Test
    void qkIsKeysTimesTransposedQueries() {
        int d = 3, bq = 5 * L, keys = 20, kOff = 2, qtOff = L;
        float[] k = values(kOff + keys * d + 1), qt = values(qtOff + d * bq), s = values(keys * bq);
        Tiles.qk(k, kOff, d, qt, qtOff, bq, s, keys);
        for (int j = 0; j < keys; j++) {
            for (int i = 0; i < bq; i++) {
                double sum = 0, size = 0;
                for (int t = 0; t < d; t++) {
                    double term = (double) k[kOff + j * d + t] * qt[qtOff + t * bq + i];
                    sum += term;
                    size += Math.abs(term);
                }
                close(sum, s[j * bq + i], size, "s[key " + j + ", query " + i + "]");
            }
        }
        float[] plain = values(keys * bq);
        Tiles.qk(k, kOff, d, java.util.Arrays.copyOfRange(qt, qtOff, qt.length), bq, plain, keys);
        for (int i = 0; i < plain.length; i++) assertEquals(s[i], plain[i], "the overload without an offset reads from 0");
    }

    @Test
    void pvAddsWeightedValueRows() {
        int bq = 17, vs = 5 * L, keys = 3, vOff = 4;
        for (int rows : new int[] {17, 6, 1}) {
            float[] p = values(keys * bq), v = values(vOff + keys * vs), o = values(bq * vs), before = o.clone();
            Tiles.pv(p, bq, v, vOff, vs, o, rows, keys);
            for (int i = 0; i < bq; i++) {
                for (int c = 0; c < vs; c++) {
                    if (i >= rows) {
                        assertEquals(before[i * vs + c], o[i * vs + c], "row " + i + " is past the rows asked for");
                        continue;
                    }
                    double sum = before[i * vs + c], size = Math.abs(sum);
                    for (int j = 0; j < keys; j++) {
                        double term = (double) p[j * bq + i] * v[vOff + j * vs + c];
                        sum += term;
                        size += Math.abs(term);
                    }
                    close(sum, o[i * vs + c], size, "o[" + i + ", " + c + "] of " + rows + " rows");
                }
            }
        }
    }

    @Test
    void softmaxColumnsRaisesTheMaxAndRescales() {
        int bq = 2 * L, keys = 8, i0 = L;
        float[] s = values(keys * bq), m = new float[bq], l = new float[bq], alpha = new float[bq];
        // Lane i0 + 0: nothing visible yet and now; + 1: visible now for the first time; + 2: the old max stays;
        // + 3: masked keys among visible ones; others: random old state below or above the new scores.
        for (int j = 0; j < keys; j++) {
            s[j * bq + i0] = Float.NEGATIVE_INFINITY;
            if (j % 3 == 0) s[j * bq + i0 + 3] = Float.NEGATIVE_INFINITY;
        }
        for (int i = 0; i < bq; i++) {
            m[i] = random.nextFloat() * 4 - 2;
            l[i] = random.nextFloat() * 3;
        }
        m[i0] = Float.NEGATIVE_INFINITY;
        l[i0] = 0;
        m[i0 + 1] = Float.NEGATIVE_INFINITY;
        l[i0 + 1] = 0;
        m[i0 + 2] = 50;
        float[] s0 = s.clone(), m0 = m.clone(), l0 = l.clone();
        Tiles.softmaxColumns(s, bq, keys, m, l, alpha, i0);
        checkOnlineSoftmax(s0, m0, l0, s, m, l, alpha, bq, keys, i0, 0);
        for (int i = 0; i < i0; i++) {
            assertEquals(m0[i], m[i], "lanes before i0 are not touched");
            for (int j = 0; j < keys; j++) assertEquals(s0[j * bq + i], s[j * bq + i]);
        }
    }

    @Test
    void rescaleMultipliesEachRowByItsFactor() {
        int vs = 2 * L, rows = 3;
        float[] o = values(4 * vs), before = o.clone(), alpha = {0.5f, 1f, -2f, 7f};
        Tiles.rescaleRows(o, vs, alpha, rows);
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < vs; c++) assertEquals(r < rows ? before[r * vs + c] * alpha[r] : before[r * vs + c], o[r * vs + c], "row " + r);
        }
    }

    @Test
    void sigmoidIdentityAndBias() {
        int bq = 2 * L, keys = 3;
        float[] s = values(keys * bq), bias = values(bq);
        s[bq + 1] = Float.NEGATIVE_INFINITY;
        float[] before = s.clone();
        Tiles.sigmoidColumns(s, bq, keys, bias);
        for (int j = 0; j < keys; j++) {
            for (int i = 0; i < bq; i++) close(sigmoid((double) before[j * bq + i] + bias[i]), s[j * bq + i], 1, "sigmoid at key " + j + ", query " + i);
        }
        assertEquals(0f, s[bq + 1], "masked: weight 0");

        float[] x = values(2 * L), y = x.clone();
        x[3] = Float.NEGATIVE_INFINITY;
        x[L + 2] = Float.NEGATIVE_INFINITY;
        Tiles.identity(x, 2 * L);
        for (int i = 0; i < 2 * L; i++) assertEquals(i == 3 || i == L + 2 ? 0f : y[i], x[i], "identity at " + i);

        float[] scores = values(3 * L), mask = new float[3 * L], original = scores.clone();
        for (int i = 0; i < mask.length; i++) mask[i] = i % 3 == 0 ? Float.NEGATIVE_INFINITY : 0f;
        Tiles.addBias(scores, mask, L, L);
        for (int i = 0; i < 3 * L; i++) {
            float want = i >= L && i < 2 * L ? original[i] + mask[i] : original[i];
            assertEquals(want, scores[i], "bias only over [off, off + n) at " + i);
        }
    }

    @Test
    void expOfNonPositiveArguments() {
        float[] x = new float[4 * L], e = new float[4 * L];
        for (int i = 0; i < x.length; i++) x[i] = -30f * i / x.length;
        x[0] = 0f;
        x[1] = Float.NEGATIVE_INFINITY;
        x[2] = -88.5f;
        x[3] = -200f;
        for (int i = 0; i < x.length; i += L) Tiles.expNonPositive(jdk.incubator.vector.FloatVector.fromArray(Lanes.F, x, i)).intoArray(e, i);
        close(1, e[0], 1, "e^0 (the fit is 1 + 1 ulp there)");
        assertEquals(0f, e[1], "e^-inf");
        assertEquals(0f, e[3], "far below: 0");
        assertTrue(e[2] >= 0 && e[2] < 1e-37f, "e^-88.5 is at most a subnormal crumb: " + e[2]);
        // x·log2 e rounded to float moves the result by up to |x|·2⁻²⁴·ln 2 relative, on top of the fit's 4 ulp.
        for (int i = 4; i < x.length; i++) close(Math.exp(x[i]), e[i], Math.exp(x[i]) * (1 + Math.abs(x[i]) / 10), "e^" + x[i]);
    }

    @Test
    void clampsKeepNaN() {
        float[] x = new float[L];
        for (int i = 0; i < L; i++) x[i] = i - 4f;
        x[0] = Float.NaN;
        float[] low = Tiles.atLeast(jdk.incubator.vector.FloatVector.fromArray(Lanes.F, x, 0), -2f).toArray();
        float[] high = Tiles.atMost(jdk.incubator.vector.FloatVector.fromArray(Lanes.F, x, 0), 2f).toArray();
        assertTrue(Float.isNaN(low[0]) && Float.isNaN(high[0]), "NaN stays NaN");
        for (int i = 1; i < L; i++) {
            assertEquals(Math.max(x[i], -2f), low[i], "atLeast(" + x[i] + ")");
            assertEquals(Math.min(x[i], 2f), high[i], "atMost(" + x[i] + ")");
        }
    }

    // ---- DecodeTiles (rows of queries, keys read where they are) ----

    @Test
    void decodeDotsReadEachKeyAtItsOffsetIntoBlocks() {
        int ks = 3 * L, blocks = 2, rows = 4 * blocks, bk = 11, q0 = ks;
        for (int keys : new int[] {11, 8, 3}) { // 4-key blocks with a remainder, whole 4-key blocks, the remainder alone
            float[] q = values(q0 + rows * ks), k = values(7 * ks), p = values(rows * bk), before = p.clone();
            int[] kOff = {2 * ks, 0, 4 * ks, ks, 5 * ks, 3 * ks, 6 * ks, 0, ks, 2 * ks, 5 * ks};
            DecodeTiles.dots(q, q0, blocks, ks, k, kOff, keys, p, bk);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < bk; j++) {
                    int at = DecodeTiles.at(r, j, bk, 4);
                    assertEquals(((r / 4) * bk + j) * 4 + r % 4, at, "block layout");
                    if (j >= keys) {
                        assertEquals(before[at], p[at], "past the keys");
                        continue;
                    }
                    double sum = 0, size = 0;
                    for (int t = 0; t < ks; t++) {
                        double term = (double) q[q0 + r * ks + t] * k[kOff[j] + t];
                        sum += term;
                        size += Math.abs(term);
                    }
                    close(sum, p[at], size, keys + " keys: p[row " + r + ", key " + j + "]");
                }
            }
        }
    }

    @Test
    void decodePvAddsValuesReadAtTheirOffsets() {
        for (int width : new int[] {4, L}) {
            int vs = 5 * L, blocks = 2, rows = 4 * blocks, keys = 3, bk = 4, o0 = vs;
            float[] p = values(Math.max(rows, width) * bk), v = values(4 * vs), o = values(o0 + rows * vs), before = o.clone();
            int[] vOff = {3 * vs, 0, 2 * vs};
            DecodeTiles.pv(p, bk, width, v, vOff, vs, o, o0, blocks, keys);
            for (int c = 0; c < o0; c++) assertEquals(before[c], o[c], "before the rows");
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < vs; c++) {
                    double sum = before[o0 + r * vs + c], size = Math.abs(sum);
                    for (int j = 0; j < keys; j++) {
                        double term = (double) p[DecodeTiles.at(r, j, bk, width)] * v[vOff[j] + c];
                        sum += term;
                        size += Math.abs(term);
                    }
                    close(sum, o[o0 + r * vs + c], size, "width " + width + ": o[" + r + ", " + c + "]");
                }
            }
        }
    }

    @Test
    void decodeLaneDotsReadEachKeyAtItsOffsetIntoLaneBlocks() {
        int ks = 3 * L, laneBlocks = 2, rows = L * laneBlocks, bk = 13, q0 = ks * L;
        for (int keys : new int[] {13, 8, 5}) { // 8-key steps with a remainder, one whole step, the remainder alone
            float[] qt = values(q0 + rows * ks), k = values(7 * ks), p = values(rows * bk), before = p.clone();
            int[] kOff = {2 * ks, 0, 4 * ks, ks, 5 * ks, 3 * ks, 6 * ks, 0, ks, 2 * ks, 5 * ks, 6 * ks, 3 * ks};
            DecodeTiles.dotsLanes(qt, q0, laneBlocks, ks, k, kOff, keys, p, bk);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < bk; j++) {
                    int at = DecodeTiles.at(r, j, bk, L);
                    assertEquals(((r / L) * bk + j) * L + r % L, at, "lane-block layout");
                    if (j >= keys) {
                        assertEquals(before[at], p[at], "past the keys");
                        continue;
                    }
                    double sum = 0, size = 0;
                    for (int t = 0; t < ks; t++) {
                        double term = (double) qt[q0 + ((r / L) * ks + t) * L + r % L] * k[kOff[j] + t];
                        sum += term;
                        size += Math.abs(term);
                    }
                    close(sum, p[at], size, keys + " keys: p[row " + r + ", key " + j + "]");
                }
            }
        }
    }

    @Test
    void decodeBlockSoftmaxIsTheOnlineSoftmaxPerRow() {
        int bk = 13, row0 = 5;
        for (int keys : new int[] {13, 12, 1}) {
            float[] p = values(2 * 4 * bk), m = new float[row0 + 8], l = new float[row0 + 8], alpha = new float[row0 + 8];
            for (int i = 0; i < m.length; i++) {
                m[i] = random.nextFloat() * 4 - 2;
                l[i] = random.nextFloat() * 3;
            }
            int at = 4 * bk;
            for (int j = 0; j < keys; j++) p[at + 4 * j + 2] = Float.NEGATIVE_INFINITY;
            m[row0 + 2] = Float.NEGATIVE_INFINITY;
            l[row0 + 2] = 0;
            p[at + 4 * (keys - 1) + 1] = 9f;
            float[] p0 = p.clone(), m0 = m.clone(), l0 = l.clone();
            DecodeTiles.softmaxBlock(p, at, keys, m, l, alpha, row0, new float[L]);
            for (int r = 0; r < 4; r++) {
                int row = row0 + r;
                double top = m0[row];
                for (int j = 0; j < keys; j++) top = Math.max(top, p0[at + 4 * j + r]);
                assertEquals((float) top, m[row], keys + " keys: max of row " + r);
                double shift = top == Double.NEGATIVE_INFINITY ? 0 : top, sum = 0;
                for (int j = 0; j < keys; j++) {
                    double w = Math.exp(p0[at + 4 * j + r] - shift);
                    sum += w;
                    close(w, p[at + 4 * j + r], 1, keys + " keys: weight of key " + j + ", row " + r);
                }
                double rescale = m0[row] == top ? 1 : Math.exp(m0[row] - shift);
                close(rescale, alpha[row], 1, "alpha of row " + r);
                close(l0[row] * rescale + sum, l[row], 2 * (l0[row] * rescale + sum), "l of row " + r);
            }
            assertEquals(9f, m[row0 + 1], "the last key counts in the max");
            for (int i = 0; i < at; i++) assertEquals(p0[i], p[i], "the block before");
            for (int i = at + 4 * keys; i < p.length; i++) assertEquals(p0[i], p[i], "past the keys");
            for (int i = 0; i < m.length; i++) {
                if (i >= row0 && i < row0 + 4) continue;
                assertEquals(m0[i], m[i], "state of another row");
                assertEquals(l0[i], l[i], "state of another row");
                assertEquals(0f, alpha[i], "state of another row");
            }
        }
    }

    @Test
    void decodeBlockSigmoidIdentityAndScale() {
        int bk = 7, keys = 5, row0 = 3, at = 4 * bk;
        float[] p = values(2 * 4 * bk), bias = values(row0 + 4);
        p[at + 4 * 2 + 1] = Float.NEGATIVE_INFINITY;
        float[] before = p.clone();
        DecodeTiles.sigmoidBlock(p, at, keys, bias, row0);
        for (int i = 0; i < p.length; i++) {
            int j = (i - at) / 4, r = (i - at) % 4;
            if (i < at || j >= keys) assertEquals(before[i], p[i], "outside the block's keys");
            else close(sigmoid((double) before[i] + bias[row0 + r]), p[i], 1, "sigmoid of key " + j + ", row " + r);
        }
        float[] x = before.clone();
        DecodeTiles.identityBlock(x, at, keys);
        for (int i = 0; i < x.length; i++) assertEquals(i == at + 4 * 2 + 1 ? 0f : before[i], x[i], "identity at " + i);
        float[] o = values(3 * L), o0 = o.clone();
        DecodeTiles.scale(o, L, L, -0.5f);
        for (int c = 0; c < o.length; c++) assertEquals(c >= L && c < 2 * L ? o0[c] * -0.5f : o0[c], o[c], "scaled column " + c);
    }

    @Test
    void decodeSoftmaxKeepsItsStateApart() {
        int bq = 2 * L, keys = 5, i0 = L, state = 3;
        float[] s = values(keys * bq), m = new float[state + bq], l = new float[state + bq], alpha = new float[state + bq];
        for (int j = 0; j < keys; j++) s[j * bq + i0] = Float.NEGATIVE_INFINITY;
        s[4 * bq + i0 + 1] = 9f;
        for (int i = 0; i < m.length; i++) {
            m[i] = random.nextFloat() * 4 - 2;
            l[i] = random.nextFloat() * 3;
        }
        m[state + i0] = Float.NEGATIVE_INFINITY;
        l[state + i0] = 0;
        float[] s0 = s.clone(), m0 = m.clone(), l0 = l.clone();
        DecodeTiles.softmax(s, bq, keys, m, l, alpha, state, i0);
        checkOnlineSoftmax(s0, m0, l0, s, m, l, alpha, bq, keys, i0, state);
        assertEquals(9f, m[state + i0 + 1], "the last key (the odd one) counts in the max");
    }

    @Test
    void decodeSigmoidAndIdentity() {
        int bq = 2 * L, keys = 3, i0 = L, state = 2;
        float[] s = values(keys * bq), bias = values(state + bq), before = s.clone();
        s[bq + i0] = Float.NEGATIVE_INFINITY;
        before[bq + i0] = Float.NEGATIVE_INFINITY;
        DecodeTiles.sigmoid(s, bq, keys, bias, state, i0);
        for (int j = 0; j < keys; j++) {
            for (int i = 0; i < bq; i++) {
                int at = j * bq + i;
                if (i < i0) assertEquals(before[at], s[at], "another head's lanes");
                else close(sigmoid((double) before[at] + bias[state + i]), s[at], 1, "sigmoid at key " + j + ", lane " + i);
            }
        }
        float[] x = values(keys * bq), y = x.clone();
        x[2 * bq + i0 + 1] = Float.NEGATIVE_INFINITY;
        x[2 * bq + 1] = Float.NEGATIVE_INFINITY;
        DecodeTiles.identity(x, bq, keys, i0);
        for (int at = 0; at < x.length; at++) {
            float want = at == 2 * bq + i0 + 1 ? 0f : at == 2 * bq + 1 ? Float.NEGATIVE_INFINITY : y[at];
            assertEquals(want, x[at], "identity at " + at);
        }
    }

    // ---- GradTiles ----

    /** Rows and columns that take each block: 4 × 4, 4 × 1, one row, and (AVX-512, columns in fours of vectors) 6 × 4. */
    @ParameterizedTest
    @CsvSource({"6, 5", "13, 4", "26, 8"})
    void multiplyAddBothWays(int rows, int vectors) {
        int sums = 3, cols = vectors * L, aOff = 2, bOff = 3, outOff = 5, bStride = cols + 1, outStride = cols + 2;
        for (int[] strides : new int[][] {{7, 1}, {1, 7}}) {
            int rowStride = strides[0], sumStride = strides[1];
            float[] a = values(aOff + rows * 7 + sums * 7), b = values(bOff + sums * bStride + cols), out = values(outOff + rows * outStride);
            float[] before = out.clone();
            GradTiles.multiplyAdd(a, aOff, rowStride, sumStride, rows, sums, b, bOff, bStride, cols, out, outOff, outStride);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int at = outOff + r * outStride + c;
                    double sum = before[at], size = Math.abs(sum);
                    for (int i = 0; i < sums; i++) {
                        double term = (double) a[aOff + r * rowStride + i * sumStride] * b[bOff + i * bStride + c];
                        sum += term;
                        size += Math.abs(term);
                    }
                    close(sum, out[at], size, "out[" + r + ", " + c + "] with strides " + rowStride + ", " + sumStride);
                }
            }
            for (int at = 0; at < outOff; at++) assertEquals(before[at], out[at], "before outOff");
        }
    }

    @Test
    void gradientWeightsAndRules() {
        int bq = 2 * L, keys = 3, n = keys * bq;
        float[] scores = values(n), lse = new float[bq], p = new float[n];
        for (int i = 0; i < bq; i++) lse[i] = 2.5f + random.nextFloat();
        lse[1] = Float.POSITIVE_INFINITY;
        GradTiles.softmaxWeights(scores, p, bq, keys, lse);
        for (int at = 0; at < n; at++) close(Math.exp((double) scores[at] - lse[at % bq]), p[at], 1, "softmax weight at " + at);
        for (int j = 0; j < keys; j++) assertEquals(0f, p[j * bq + 1], "a lane whose LSE is +inf weighs 0");

        float[] bias = values(bq), q = new float[n];
        scores[bq + 2] = Float.NEGATIVE_INFINITY;
        GradTiles.sigmoidWeights(scores, q, bq, keys, bias);
        for (int at = 0; at < n; at++) close(sigmoid((double) scores[at] + bias[at % bq]), q[at], 1, "sigmoid weight at " + at);

        float[] identity = new float[n];
        GradTiles.identityWeights(scores, identity, n);
        for (int at = 0; at < n; at++) assertEquals(at == bq + 2 ? 0f : scores[at], identity[at], "identity weight at " + at);

        float[] dp = values(n), delta = values(bq), dpBefore = dp.clone();
        GradTiles.softmaxGradient(q, dp, bq, keys, delta);
        for (int at = 0; at < n; at++) {
            close((double) q[at] * (dpBefore[at] - delta[at % bq]), dp[at], Math.abs(q[at]) * (Math.abs(dpBefore[at]) + Math.abs(delta[at % bq])), "dS at " + at);
        }

        float[] ds = values(n), dsBefore = ds.clone();
        GradTiles.sigmoidGradient(q, ds, n);
        for (int at = 0; at < n; at++) close(dsBefore[at] * (double) q[at] * (1 - q[at]), ds[at], Math.abs(dsBefore[at]), "sigmoid dS at " + at);

        float[] masked = values(n), maskedBefore = masked.clone(), mask = new float[n];
        for (int at = 0; at < n; at++) mask[at] = at % 5 == 0 ? Float.NEGATIVE_INFINITY : 0f;
        GradTiles.zeroMasked(masked, mask, n);
        for (int at = 0; at < n; at++) assertEquals(at % 5 == 0 ? 0f : maskedBefore[at], masked[at], "masked at " + at);
    }

    @Test
    void columnSumsAndAdds() {
        int bq = 2 * L, keys = 3;
        float[] x = values(keys * bq), rows = values(bq), before = rows.clone();
        GradTiles.addColumnSums(x, bq, keys, rows);
        for (int i = 0; i < bq; i++) {
            double sum = before[i], size = Math.abs(sum);
            for (int j = 0; j < keys; j++) {
                sum += x[j * bq + i];
                size += Math.abs(x[j * bq + i]);
            }
            close(sum, rows[i], size, "row sum " + i);
        }
        float[] src = values(2 * L), dst = values(4 * L), dstBefore = dst.clone();
        GradTiles.add(src, dst, L, 2 * L);
        for (int i = 0; i < 4 * L; i++) {
            float want = i >= L && i < 3 * L ? dstBefore[i] + src[i - L] : dstBefore[i];
            assertEquals(want, dst[i], "add at " + i);
        }
    }

    // ---- helpers ----

    /**
     * The online softmax step on lanes [i0, i0 + L) with state at {@code state + i}: m' = max(m,
     * max_j s), weights e^(s − m') (e^(s − 0) where m' is −∞, so 0), l' = l·α + Σ weights, α =
     * e^(m − m') and 1 where the max did not grow.
     */
    private static void checkOnlineSoftmax(float[] s0, float[] m0, float[] l0, float[] s, float[] m, float[] l, float[] alpha,
                                           int bq, int keys, int i0, int state) {
        for (int i = i0; i < i0 + L; i++) {
            double top = m0[state + i];
            for (int j = 0; j < keys; j++) top = Math.max(top, s0[j * bq + i]);
            assertEquals((float) top, m[state + i], "max of lane " + i);
            double shift = top == Double.NEGATIVE_INFINITY ? 0 : top, sum = 0;
            for (int j = 0; j < keys; j++) {
                double w = Math.exp(s0[j * bq + i] - shift);
                sum += w;
                close(w, s[j * bq + i], 1, "weight of key " + j + ", lane " + i);
            }
            double rescale = m0[state + i] == top ? 1 : Math.exp(m0[state + i] - shift);
            close(rescale, alpha[state + i], 1, "alpha of lane " + i);
            close(l0[state + i] * rescale + sum, l[state + i], 2 * (l0[state + i] * rescale + sum), "l of lane " + i);
        }
    }

    private float[] values(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() * 4 - 2;
        return x;
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** |expected − actual| within {@link #TOLERANCE} of {@code size} (the sum of the terms' magnitudes, or 1 for a value in [0, 1]). */
    private static void close(double expected, float actual, double size, String what) {
        assertTrue(Math.abs(expected - actual) <= TOLERANCE * Math.max(size, Math.abs(expected)) + 1e-30,
                () -> what + ": expected " + expected + ", got " + actual);
    }
}
