package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TimingTest {
    @Test
    void theMedianLeadsAndMinAndMaxAreTheSpread() {
        Timing t = Timing.of(2, new long[] {5, 1, 3, 9, 4});
        assertEquals(new Timing(2, 5, 4, 1, 9), t);
    }

    @Test
    void anExplicitWarmupCountIsKept() {
        AtomicInteger calls = new AtomicInteger();
        Timing t = Timing.measure(calls::incrementAndGet, 3, 4, new PrintWriter(new StringWriter()), "x");
        assertEquals(7, calls.get());
        assertEquals(3, t.warmups());
        assertEquals(4, t.runs());
    }

    /** A run that is slow for its first ten calls (as a kernel before the JIT compiles it) is warmed past them. */
    @Test
    void byDefaultWarmupLastsUntilTheTimesSettle() {
        AtomicInteger calls = new AtomicInteger();
        Runnable jitLike = () -> {
            if (calls.incrementAndGet() <= 10) sleep(60 - 2 * calls.get());
            else sleep(2);
        };
        Timing t = Timing.measure(jitLike, null, 3, new PrintWriter(new StringWriter()), "x");
        assertTrue(t.warmups() >= 10 + Timing.STEADY_RUNS, "warmed up " + t.warmups() + " times");
        assertTrue(t.maxNanos() < 30_000_000, "no slow call (40 ms or more) was timed: " + t);
    }

    private static void sleep(int millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
