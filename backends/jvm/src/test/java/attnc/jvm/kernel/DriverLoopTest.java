package attnc.jvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The parallel loop every launch runs on: each index exactly once, on the helpers and the
 * caller, whatever the executor does with the helpers (runs them, runs them inline, refuses
 * them); the first failure rethrown as itself, RuntimeException or Error; and a pool of fewer
 * than one thread refused.
 */
class DriverLoopTest {
    @Test
    void everyIndexRunsOnceOnAThreadPool() throws Exception {
        ExecutorService helpers = Executors.newFixedThreadPool(3);
        try {
            AtomicIntegerArray runs = new AtomicIntegerArray(1000);
            Driver.parallelFor(new Driver.Pool(helpers, 4), runs.length(), runs::incrementAndGet);
            for (int i = 0; i < runs.length(); i++) assertEquals(1, runs.get(i), "index " + i);
        } finally {
            helpers.shutdown();
        }
    }

    @Test
    void anInlineOrRefusingExecutorLeavesTheWorkToTheCaller() {
        Thread caller = Thread.currentThread();
        AtomicIntegerArray runs = new AtomicIntegerArray(50);
        Driver.parallelFor(new Driver.Pool(Runnable::run, 4), runs.length(), i -> {
            assertSame(caller, Thread.currentThread());
            runs.incrementAndGet(i);
        });
        AtomicInteger submitted = new AtomicInteger();
        Driver.parallelFor(new Driver.Pool(task -> {
            submitted.incrementAndGet();
            throw new RejectedExecutionException("full");
        }, 4), runs.length(), i -> {
            assertSame(caller, Thread.currentThread());
            runs.incrementAndGet(i);
        });
        for (int i = 0; i < runs.length(); i++) assertEquals(2, runs.get(i), "index " + i + " once per loop");
        assertEquals(1, submitted.get(), "a refused helper is not asked for again");
    }

    @Test
    void helpersAreAskedForOnlyWhereThereIsWorkForThem() {
        AtomicInteger submitted = new AtomicInteger();
        Driver.Pool counting = new Driver.Pool(task -> {
            submitted.incrementAndGet();
            task.run();
        }, 4);
        Driver.parallelFor(counting, 100, i -> { });
        assertEquals(3, submitted.get(), "parallelism 4: the caller and three helpers");
        submitted.set(0);
        Driver.parallelFor(counting, 2, i -> { });
        assertEquals(1, submitted.get(), "two items: one helper");
        submitted.set(0);
        Driver.parallelFor(new Driver.Pool(task -> {
            submitted.incrementAndGet();
            task.run();
        }, 1), 100, i -> { });
        assertEquals(0, submitted.get(), "parallelism 1: the caller alone");
    }

    @Test
    void theFirstFailureIsRethrownAsItself() throws Exception {
        ExecutorService helpers = Executors.newFixedThreadPool(2);
        try {
            Driver.Pool pool = new Driver.Pool(helpers, 3);
            IllegalStateException bad = new IllegalStateException("item 7");
            assertSame(bad, assertThrows(IllegalStateException.class, () -> Driver.parallelFor(pool, 100, i -> {
                if (i == 7) throw bad;
            })));
            AssertionError error = new AssertionError("item 3");
            assertSame(error, assertThrows(AssertionError.class, () -> Driver.parallelFor(pool, 100, i -> {
                if (i == 3) throw error;
            })));
            AtomicInteger after = new AtomicInteger();
            assertThrows(IllegalStateException.class, () -> Driver.parallelFor(new Driver.Pool(Runnable::run, 1), 100, i -> {
                if (i == 5) throw bad;
                if (i > 5) after.incrementAndGet();
            }));
            assertEquals(0, after.get(), "no item is started after a failure");
            // An inline helper fails first; the caller, running next, must find nothing left.
            assertThrows(IllegalStateException.class, () -> Driver.parallelFor(new Driver.Pool(Runnable::run, 2), 100, i -> {
                if (i == 5) throw bad;
                if (i > 5) after.incrementAndGet();
            }));
            assertEquals(0, after.get(), "no item is started after another thread's failure");
        } finally {
            helpers.shutdown();
        }
    }

    /**
     * The caller waits for a helper's item without giving up on an interrupt, and hands the
     * interrupt on: its thread is still interrupted when the loop returns.
     */
    @Test
    void anInterruptWhileWaitingIsKeptForTheCaller() throws Exception {
        CountDownLatch helperBusy = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicBoolean callerDone = new AtomicBoolean(), interruptedAfter = new AtomicBoolean();
        AtomicInteger runs = new AtomicInteger();
        Thread[] caller = new Thread[1];
        caller[0] = new Thread(() -> {
            Driver.parallelFor(new Driver.Pool(task -> new Thread(task, "helper").start(), 2), 2, i -> {
                runs.incrementAndGet();
                try {
                    if (Thread.currentThread() != caller[0]) {
                        helperBusy.countDown();
                        release.await();
                    } else {
                        helperBusy.await();
                        callerDone.set(true);
                    }
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        }, "caller");
        caller[0].start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!(callerDone.get() && caller[0].getState() == Thread.State.WAITING)) {
            assertTrue(System.nanoTime() < deadline, "the caller never came to wait for the helper");
            Thread.sleep(1);
        }
        caller[0].interrupt();
        Thread.sleep(20);
        assertTrue(caller[0].isAlive(), "the caller returned before the helper's item was done");
        release.countDown();
        caller[0].join(10_000);
        assertEquals(2, runs.get());
        assertTrue(interruptedAfter.get(), "the interrupt was swallowed");
    }

    @Test
    void aPoolNeedsAnExecutorAndAThread() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Driver.Pool(Runnable::run, 0));
        assertEquals("parallelism must be at least 1, got 0", e.getMessage());
        assertThrows(NullPointerException.class, () -> new Driver.Pool(null, 1));
        assertEquals(1, new Driver.Pool(Runnable::run, 1).parallelism());
        assertTrue(Driver.Pool.shared().parallelism() >= 1);
    }
}
