package attnc.jvm.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Schedules a launch over a pool sized to the cores. Work items are (b, h, query tile), handed
 * out dynamically from the last query tile down, so the long rows of a causal mask start first
 * and the short ones fill the gaps. When there are too few items to keep every core busy
 * (decode: a few queries against a long KV cache) the keys are split too; each split leaves an
 * unnormalised partial (max, sum, output) and a second pass merges them with the LSE rule
 * o = Σ o_s·e^(m_s − M), l = Σ l_s·e^(m_s − M). The calling thread works alongside the pool,
 * so concurrent launches always make progress.
 */
public final class Driver {
    public static final int THREADS = Runtime.getRuntime().availableProcessors();
    private static final ExecutorService POOL = Executors.newFixedThreadPool(Math.max(1, THREADS - 1), r -> {
        Thread t = new Thread(r, "attnc-jvm-kernel");
        t.setDaemon(true);
        return t;
    });

    private Driver() {}

    public static void run(TileKernel kernel, Launch launch) {
        int bq = kernel.tileQ(), bk = kernel.tileKv();
        int heads = launch.batch() * launch.heads();
        int qTiles = (launch.nq() + bq - 1) / bq;
        int kvTiles = (launch.nkv() + bk - 1) / bk;
        int items = heads * qTiles;
        if (items == 0) return;
        int splits = items >= 2 * THREADS || kvTiles < 2 ? 1 : Math.min(kvTiles, (4 * THREADS + items - 1) / items);
        if (splits == 1) {
            parallelFor(items, i -> {
                int bh = i % heads, q0 = (qTiles - 1 - i / heads) * bq;
                Scratch scratch = Scratch.mine();
                kernel.accumulate(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0, 0, launch.nkv());
                kernel.finish(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0);
            });
            return;
        }
        Partials partials = new Partials(items * splits, bq, launch.valueStride());
        parallelFor(items * splits, i -> {
            int item = i / splits, split = i % splits;
            int bh = item % heads, q0 = (qTiles - 1 - item / heads) * bq;
            int kvFrom = split * kvTiles / splits * bk, kvTo = Math.min(launch.nkv(), (split + 1) * kvTiles / splits * bk);
            Scratch scratch = Scratch.mine();
            kernel.accumulate(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0, kvFrom, kvTo);
            partials.save(i, scratch);
        });
        parallelFor(items, item -> {
            int bh = item % heads, q0 = (qTiles - 1 - item / heads) * bq;
            Scratch scratch = Scratch.mine().ensure(bq, bk, launch.headDim(), launch.valueStride());
            partials.merge(item * splits, splits, scratch, kernel.normalisation().hasRowSum());
            kernel.finish(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0);
        });
    }

    /** Runs body(0 .. n-1) on the pool and the calling thread; rethrows the first failure. */
    static void parallelFor(int n, IntConsumer body) {
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i; (i = next.getAndIncrement()) < n; ) body.accept(i);
        };
        List<Future<?>> helpers = new ArrayList<>();
        for (int t = 0; t < Math.min(THREADS - 1, n - 1); t++) helpers.add(POOL.submit(worker));
        RuntimeException failure = null;
        try {
            worker.run();
        } catch (RuntimeException e) {
            failure = e;
            next.set(n);
        }
        for (Future<?> f : helpers) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for kernel threads", e);
            }
        }
        if (failure != null) throw failure;
    }

    /** Per split of a query tile: running max, sum and unnormalised output rows. O(splits · tile). */
    private static final class Partials {
        private final int rows, stride;
        private final float[] m, l, o;

        Partials(int parts, int rows, int stride) {
            this.rows = rows;
            this.stride = stride;
            m = new float[parts * rows];
            l = new float[parts * rows];
            o = new float[parts * rows * stride];
        }

        void save(int part, Scratch s) {
            System.arraycopy(s.m, 0, m, part * rows, rows);
            System.arraycopy(s.l, 0, l, part * rows, rows);
            System.arraycopy(s.o, 0, o, part * rows * stride, rows * stride);
        }

        /** Combines parts [first, first + count) into the scratch's m, l, o. */
        void merge(int first, int count, Scratch s, boolean softmax) {
            for (int r = 0; r < rows; r++) {
                float top = Float.NEGATIVE_INFINITY;
                for (int p = first; p < first + count; p++) top = Math.max(top, m[p * rows + r]);
                float sum = 0f;
                java.util.Arrays.fill(s.o, r * stride, (r + 1) * stride, 0f);
                if (softmax && top == Float.NEGATIVE_INFINITY) {
                    s.m[r] = top;
                    s.l[r] = 0f;
                    continue;
                }
                for (int p = first; p < first + count; p++) {
                    float w = softmax ? (float) Math.exp(m[p * rows + r] - top) : 1f;
                    sum += l[p * rows + r] * w;
                    int from = (p * rows + r) * stride;
                    for (int c = 0; c < stride; c++) s.o[r * stride + c] += o[from + c] * w;
                }
                s.m[r] = softmax ? top : 0f;
                s.l[r] = sum;
            }
        }
    }
}
