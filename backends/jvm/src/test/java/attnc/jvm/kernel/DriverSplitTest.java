package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How {@link Driver#run} divides a launch: one split per (b, h, query tile) while there are at
 * least two items per thread or fewer than two key tiles, else min(key tiles, ⌈4·threads / items⌉)
 * splits on key-tile boundaries that cover the keys once each; and the merged rows equal a
 * softmax average over all keys computed in double. The kernel here is a stand-in whose scores
 * and values are known functions of (b, h, q, key), so every range it is handed is recorded and
 * every row can be checked.
 */
class DriverSplitTest {
    private static final int TILE_Q = 4, TILE_KV = 4;

    @Test
    void fewItemsAgainstManyKeysAreSplitAlongKeyTiles() {
        assertSplits(8, 1, 1, 4, 40, 10);   // one item, 10 key tiles: ⌈32 / 1⌉ capped at 10
        assertSplits(8, 1, 3, 4, 400, 11);  // three items, 100 key tiles: ⌈32 / 3⌉ = 11
        assertSplits(8, 1, 15, 4, 40, 3);   // 15 items, just under two per thread: ⌈32 / 15⌉ = 3
        assertSplits(4, 2, 1, 6, 37, 4);    // a ragged last query tile and key tile: ⌈16 / 4⌉ = 4
    }

    @Test
    void enoughItemsOrTooFewKeyTilesAreNotSplit() {
        assertSplits(8, 1, 16, 4, 40, 1);   // two items per thread
        assertSplits(8, 2, 9, 4, 40, 1);
        assertSplits(8, 1, 1, 4, 4, 1);     // one key tile
        assertSplits(8, 1, 1, 4, 3, 1);
    }

    @Test
    void twoKeyTilesAreTwoSplitsEvenWhenTheLastIsPartial() {
        assertSplits(8, 1, 1, 4, 8, 2);
        assertSplits(8, 1, 1, 4, 5, 2);
    }

    @Test
    void anEmptyLaunchCallsNothing() {
        Recording kernel = new Recording(launch(1, 2, 0, 40));
        Driver.run(kernel, kernel.launch, new Driver.Pool(Runnable::run, 8));
        assertTrue(kernel.ranges.isEmpty());
    }

    /** Runs on the caller alone (an inline executor), so the recorded calls are in one thread's order. */
    private static void assertSplits(int threads, int batch, int heads, int nq, int nkv, int splits) {
        String what = "threads " + threads + ", B " + batch + ", H " + heads + ", Nq " + nq + ", Nkv " + nkv;
        Recording kernel = new Recording(launch(batch, heads, nq, nkv));
        Driver.run(kernel, kernel.launch, new Driver.Pool(Runnable::run, threads));
        int qTiles = (nq + TILE_Q - 1) / TILE_Q;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int t = 0; t < qTiles; t++) {
                    int bb = b, hh = h, q0 = t * TILE_Q;
                    List<int[]> mine = new ArrayList<>(kernel.ranges.stream().filter(r -> r[0] == bb && r[1] == hh && r[2] == q0).toList());
                    mine.sort(Comparator.comparingInt(r -> r[3]));
                    String item = what + ", item (" + b + ", " + h + ", " + q0 + ")";
                    assertEquals(splits, mine.size(), item + ": splits");
                    int at = 0;
                    for (int[] r : mine) {
                        assertEquals(at, r[3], item + ": ranges cover the keys once, in order");
                        assertTrue(r[4] > r[3] && (r[4] % TILE_KV == 0 || r[4] == nkv), item + ": range ends on a key tile or Nkv, got " + r[4]);
                        at = r[4];
                    }
                    assertEquals(nkv, at, item + ": ranges end at Nkv");
                    for (int r = 0; r < TILE_Q && q0 + r < nq; r++) {
                        double want = reference(b, h, q0 + r, nkv);
                        float got = kernel.out[(b * heads + h) * nq + q0 + r];
                        if (!(Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want)))) fail(item + " row " + r + ": " + got + ", want " + want);
                    }
                }
            }
        }
        assertEquals(batch * heads * qTiles * splits, kernel.ranges.size(), what + ": calls");
    }

    private static Launch launch(int batch, int heads, int nq, int nkv) {
        return new Launch(null, null, null, null, null, null, null, batch, heads, heads, nq, nkv, 1, 1, 0);
    }

    private static double score(int b, int h, int q, int j) {
        return (float) (3 * Math.sin(0.7 * j + q + 2 * h + 5 * b));
    }

    private static double value(int h, int j) {
        return (float) Math.cos(1.3 * j + h);
    }

    private static double reference(int b, int h, int q, int nkv) {
        double top = Double.NEGATIVE_INFINITY, sum = 0, out = 0;
        for (int j = 0; j < nkv; j++) top = Math.max(top, score(b, h, q, j));
        for (int j = 0; j < nkv; j++) {
            double w = Math.exp(score(b, h, q, j) - top);
            sum += w;
            out += w * value(h, j);
        }
        return out / sum;
    }

    /** Softmax over its range of keys, one value channel; records (b, h, q0, kvFrom, kvTo) per call and the finished rows. */
    private static final class Recording implements TileKernel {
        final Launch launch;
        final List<int[]> ranges = new ArrayList<>();
        final float[] out;

        Recording(Launch launch) {
            this.launch = launch;
            out = new float[launch.batch() * launch.heads() * launch.nq()];
            Arrays.fill(out, Float.NaN);
        }

        public int tileQ() { return TILE_Q; }

        public int tileKv() { return TILE_KV; }

        public Normalisation normalisation() { return Normalisation.SOFTMAX; }

        public void accumulate(Launch launch, Scratch s, int b, int h, int q0, int kvFrom, int kvTo) {
            ranges.add(new int[] {b, h, q0, kvFrom, kvTo});
            int stride = launch.valueStride();
            s.ensure(TILE_Q, TILE_KV, launch.headDim(), stride);
            for (int r = 0; r < TILE_Q; r++) {
                float top = Float.NEGATIVE_INFINITY, sum = 0f, o = 0f;
                for (int j = kvFrom; j < kvTo; j++) top = Math.max(top, (float) score(b, h, q0 + r, j));
                for (int j = kvFrom; j < kvTo; j++) {
                    float w = (float) Math.exp(score(b, h, q0 + r, j) - top);
                    sum += w;
                    o += w * (float) value(h, j);
                }
                s.m[r] = top;
                s.l[r] = sum;
                Arrays.fill(s.o, r * stride, (r + 1) * stride, 0f);
                s.o[r * stride] = o;
            }
        }

        public void finish(Launch launch, Scratch s, int b, int h, int q0) {
            for (int r = 0; r < TILE_Q && q0 + r < launch.nq(); r++) {
                int row = (b * launch.heads() + h) * launch.nq() + q0 + r;
                if (!Float.isNaN(out[row])) fail("row " + row + " finished twice");
                out[row] = s.o[r * launch.valueStride()] / s.l[r];
            }
        }
    }
}
