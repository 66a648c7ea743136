package attnc.bench.jmh;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** The threads a benchmark state runs on: its {@code threads} param, 0 meaning one per available processor. */
final class Workers {
    private Workers() {}

    static int count(int threads) {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Daemon helpers for a kernel that runs on {@code workers} threads, the caller's included. */
    static ExecutorService helpers(int workers) {
        return Executors.newFixedThreadPool(Math.max(1, workers - 1), r -> {
            Thread t = new Thread(r, "attnc-bench-worker");
            t.setDaemon(true);
            return t;
        });
    }
}
