package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import org.junit.jupiter.api.Test;

/**
 * A backward launch's shared state apart from the arithmetic: which passes it needs for the
 * gradients asked for; the turns by which tasks add into shared rows and elements, and that a
 * failure ends every wait; a fresh thread's buffers sized for the tiles and its kept element
 * contributions added exactly, in order; and the schedule {@link GradDriver} hands a kernel.
 */
class GradLaunchTest {
    /** B 1, H 2, KV heads 1, Nq 8, Nkv 12, D 3, Dv 5: two query tiles and three key tiles of 4. */
    private static final int[] SIZES = {1, 2, 1, 8, 12, 3, 5, 0};
    private static final int TILE = 4;
    private static final float[] NONE = null;

    @Test
    void theKeyPassRunsOnlyForGradientsItFeeds() {
        float[] some = new float[1];
        assertNeeds(false, false, launch(NONE, NONE, NONE, null, false, false, false));
        assertNeeds(true, true, launch(some, NONE, NONE, null, false, false, false));
        assertNeeds(false, true, launch(NONE, some, NONE, null, false, false, false));
        assertNeeds(false, true, launch(NONE, NONE, some, null, false, false, false));
        assertNeeds(true, true, launch(NONE, NONE, NONE, GradSite.SCALE, true, false, false));
        assertNeeds(false, false, launch(NONE, NONE, NONE, GradSite.SCALE, false, false, false));
        assertNeeds(false, false, launch(NONE, NONE, NONE, GradSite.NORM, true, false, false));
        assertNeeds(false, true, launch(NONE, NONE, NONE, GradSite.NORM, true, true, false));
        assertNeeds(false, false, launch(NONE, NONE, NONE, GradSite.NORM, false, true, false));
        assertNeeds(false, false, launch(NONE, NONE, NONE, GradSite.OUTPUT, true, false, false));
        for (GradSite score : List.of(GradSite.SCORE_ELEMENT, GradSite.SCORE_ROW, GradSite.SCORE_COLUMN, GradSite.SCORE_HEAD)) {
            assertNeeds(false, true, launch(NONE, NONE, NONE, score, true, false, false));
        }
    }

    @Test
    void turnsGoInRankOrderOrToOneTaskAtATimeAndAFailureEndsEveryWait() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            GradLaunch ordered = launch(NONE, NONE, NONE, GradSite.SCORE_ELEMENT, true, false, true);
            ordered.enterRowTile(1, 0);
            ordered.leaveRowTile(1, 0);
            ordered.enterRowTile(1, 1);
            ordered.leaveRowTile(1, 1);
            GradScratch scratch = new GradScratch().bind(ordered, TILE, TILE);
            ordered.commitElements(scratch, 0);
            ordered.fail();
            assertFailed(() -> ordered.enterRowTile(1, 3));
            assertFailed(() -> ordered.commitElements(scratch, 2));

            GradLaunch free = launch(NONE, NONE, NONE, null, false, false, false);
            free.enterRowTile(2, 0);
            free.leaveRowTile(2, 0);
            free.enterRowTile(2, 7);
            free.fail();
            assertFailed(() -> free.enterRowTile(2, 0));
        });
    }

    @Test
    void aFreshThreadsBuffersFitTheTiles() {
        GradSite[] sites = {GradSite.SCORE_ROW, GradSite.SCORE_COLUMN, GradSite.OUTPUT};
        GradLaunch launch = new GradLaunch(null, null, null, null, null, SIZES, TILE, TILE, null, null, null, null, null, null,
                sites, new float[sites.length][], false, false);
        int tileQ = 8, tileKv = 4, hs = launch.headStride, vs = launch.valueStride;
        GradScratch s = new GradScratch().bind(launch, tileQ, tileKv);
        assertTrue(s.k.length >= tileKv * hs && s.dk.length >= tileKv * hs, "K rows");
        assertTrue(s.v.length >= tileKv * vs && s.dv.length >= tileKv * vs, "V rows");
        for (float[] pair : new float[][] {s.s, s.scores, s.p, s.dp, s.bias}) assertTrue(pair.length >= tileQ * tileKv, "a pair's tile");
        assertTrue(s.dq.length >= tileQ * hs, "partial dQ");
        for (float[] row : new float[][] {s.lane, s.delta, s.dBias}) assertTrue(row.length >= tileQ, "per query");
        assertTrue(s.rowSites.length >= sites.length * tileQ && s.colSites.length >= sites.length * tileKv && s.headSites.length >= sites.length, "site sums");
    }

    /** Over a thousand lanes of contributions, kept and added at the task's turn, or added at once. */
    @Test
    void elementContributionsAddUpExactly() {
        for (boolean deterministic : new boolean[] {true, false}) {
            float[] grad = new float[37];
            GradSite[] sites = {GradSite.OUTPUT, GradSite.SCORE_ELEMENT};
            GradLaunch launch = new GradLaunch(null, null, null, null, null, SIZES, TILE, TILE, null, null, null, null, null, null,
                    sites, new float[][] {null, grad}, false, deterministic);
            GradScratch scratch = new GradScratch().bind(launch, TILE, TILE);
            float[] expected = new float[grad.length];
            int[] offsets = new int[Lanes.L];
            float[] values = new float[Lanes.L];
            for (int call = 0; call < 2000 / Lanes.L; call++) {
                for (int i = 0; i < Lanes.L; i++) {
                    offsets[i] = (call * 7 + i * 3) % grad.length;
                    values[i] = (call + i) % 5 - 2;  // small integers, some zero: every sum is exact
                    expected[offsets[i]] += values[i];
                }
                scratch.element(1, IntVector.fromArray(Lanes.I, offsets, 0), FloatVector.fromArray(Lanes.F, values, 0));
                scratch.element(0, IntVector.fromArray(Lanes.I, offsets, 0), FloatVector.fromArray(Lanes.F, values, 0));
            }
            if (deterministic) {
                assertArrayEquals(new float[grad.length], grad, "kept until the task's turn");
                launch.commitElements(scratch, 0);
            }
            assertArrayEquals(expected, grad, deterministic ? "deterministic" : "atomic");
            launch.commitElements(scratch, 1);
            assertArrayEquals(expected, grad, "added once");
        }
    }

    /**
     * Every row tile prepared and finished once and every key tile's task run once, each
     * (b, kv head)'s key tiles in ascending order, then the input gradients; a parallelism of 1
     * asks for no helper, more does.
     */
    @Test
    void theDriverHandsOutEveryTaskOnceInItsOrder() {
        for (int parallelism : new int[] {1, 3}) {
            int[] sizes = {2, 4, 2, 8, 12, 3, 5, 0};
            GradLaunch launch = new GradLaunch(null, null, null, null, null, sizes, TILE, TILE, null, null, null, null, new float[1], null,
                    new GradSite[0], new float[0][], false, false);
            List<String> calls = new ArrayList<>();
            GradKernel kernel = new GradKernel() {
                public int tileQ() { return TILE; }
                public int tileKv() { return TILE; }
                public void prepareRows(GradLaunch l, int b, int h, int qTile) { record("prepare " + b + " " + h + " " + qTile); }
                public void keyTile(GradLaunch l, GradScratch s, int task, int b, int kvHead, int kvTile) { record("key " + b + " " + kvHead + " " + kvTile); }
                public void finishRows(GradLaunch l, int b, int h, int qTile) { record("finish " + b + " " + h + " " + qTile); }
                public void addInputGradients(GradLaunch l) { record("inputs"); }
                private synchronized void record(String call) { calls.add(call); }
            };
            AtomicInteger helpers = new AtomicInteger();
            GradDriver.run(kernel, launch, new Driver.Pool(task -> {
                helpers.incrementAndGet();
                task.run();
            }, parallelism));
            List<String> expected = new ArrayList<>();
            for (int b = 0; b < 2; b++) for (int h = 0; h < 4; h++) for (int t = 0; t < 2; t++) expected.add("prepare " + b + " " + h + " " + t);
            for (int t = 0; t < 3; t++) for (int b = 0; b < 2; b++) for (int kh = 0; kh < 2; kh++) expected.add("key " + b + " " + kh + " " + t);
            for (int b = 0; b < 2; b++) for (int h = 0; h < 4; h++) for (int t = 0; t < 2; t++) expected.add("finish " + b + " " + h + " " + t);
            expected.add("inputs");
            // An inline executor runs every loop in index order, so the calls come in the schedule's own order.
            assertEquals(expected, calls, "parallelism " + parallelism);
            if (parallelism == 1) assertEquals(0, helpers.get(), "parallelism 1: the caller alone");
            else assertEquals(3 * (parallelism - 1), helpers.get(), "a helper per extra thread in each of the three loops");
        }
    }

    /** A launch whose one site, if any, has its gradient asked for when {@code asked}. */
    /** A task's failure is rethrown as itself and marks the launch failed, so no other task waits on for its turn. */
    @Test
    void aFailedTaskEndsTheLaunchsWaits() {
        GradLaunch launch = launch(NONE, new float[1], NONE, null, false, false, true);
        IllegalArgumentException bad = new IllegalArgumentException("row tile 1");
        GradKernel failing = new GradKernel() {
            public int tileQ() { return TILE; }
            public int tileKv() { return TILE; }
            public void prepareRows(GradLaunch l, int b, int h, int qTile) { if (qTile == 1) throw bad; }
            public void keyTile(GradLaunch l, GradScratch s, int task, int b, int kvHead, int kvTile) { }
            public void finishRows(GradLaunch l, int b, int h, int qTile) { }
            public void addInputGradients(GradLaunch l) { }
        };
        assertSame(bad, assertThrows(IllegalArgumentException.class, () -> GradDriver.run(failing, launch, new Driver.Pool(Runnable::run, 1))));
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertFailed(() -> launch.enterRowTile(0, 5)));
    }

    private static GradLaunch launch(float[] dq, float[] dk, float[] dv, GradSite site, boolean asked, boolean sigmoidBias, boolean deterministic) {
        GradSite[] sites = site == null ? new GradSite[0] : new GradSite[] {site};
        float[][] gradients = new float[sites.length][];
        if (site != null && asked) gradients[0] = new float[64];
        return new GradLaunch(null, null, null, null, null, SIZES, TILE, TILE, null, null, null, dq, dk, dv,
                sites, gradients, sigmoidBias, deterministic);
    }

    private static void assertNeeds(boolean dq, boolean keyPass, GradLaunch launch) {
        assertEquals(dq, launch.needsDq(), "needsDq");
        assertEquals(keyPass, launch.needsKeyPass(), "needsKeyPass");
        if (!keyPass) assertFalse(launch.needsDq());
    }

    private static void assertFailed(org.junit.jupiter.api.function.Executable wait) {
        IllegalStateException e = assertThrows(IllegalStateException.class, wait);
        assertEquals("another task of this backward launch failed", e.getMessage());
    }
}
