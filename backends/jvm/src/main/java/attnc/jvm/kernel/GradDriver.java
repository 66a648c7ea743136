package attnc.jvm.kernel;

import java.util.function.IntConsumer;

/**
 * Schedules a backward launch: rows, then the key pass, then rows again, each over the pool
 * ({@link Driver#parallelFor}) or on the calling thread alone, then the input gradients on the
 * calling thread. Key-pass tasks are handed out key tile by key tile across every (b, kv head),
 * so each (b, kv head)'s tiles go out in ascending order (the order of their turns, see
 * {@link GradLaunch}) and, under a causal mask, the longest tasks start first.
 */
public final class GradDriver {
    private GradDriver() {}

    /** On {@code pool}: a parallelism of 1 runs everything on the calling thread. */
    public static void run(GradKernel kernel, GradLaunch launch, Driver.Pool pool) {
        int rowTiles = launch.batch * launch.heads * launch.qTiles, groups = launch.batch * launch.kvHeads;
        forEach(launch, pool, rowTiles, i -> kernel.prepareRows(launch, i / launch.qTiles / launch.heads,
                i / launch.qTiles % launch.heads, i % launch.qTiles));
        if (launch.needsKeyPass()) {
            forEach(launch, pool, groups * launch.kvTiles, task -> kernel.keyTile(launch, GradScratch.mine(), task,
                    task % groups / launch.kvHeads, task % groups % launch.kvHeads, task / groups));
        }
        forEach(launch, pool, rowTiles, i -> kernel.finishRows(launch, i / launch.qTiles / launch.heads,
                i / launch.qTiles % launch.heads, i % launch.qTiles));
        kernel.addInputGradients(launch);
        // Not on failure: a task that failed may have left others running on the arrays.
        launch.release();
    }

    /** A failed task stops the others' waits (they would wait for its turn forever), then rethrows. */
    private static void forEach(GradLaunch launch, Driver.Pool pool, int n, IntConsumer body) {
        IntConsumer guarded = i -> {
            try {
                body.accept(i);
            } catch (RuntimeException | Error e) {
                launch.fail();
                throw e;
            }
        };
        if (pool.parallelism() <= 1) {
            for (int i = 0; i < n; i++) guarded.accept(i);
        } else {
            Driver.parallelFor(pool, n, guarded);
        }
    }
}
